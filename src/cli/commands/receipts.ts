import { existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../../common/errors.ts";
import { createGatewayStore } from "../../gateway/createGatewayStore.ts";
import { formatUnits } from "../../payments/price.ts";
import { context, integer, parse } from "../shared.ts";

export const help = `gotong receipts [--limit 20] [--key FILE] [--json]

Lists the receipts your gateway kept: when, which model and provider, tokens and cost. Receipts hold
hashes of each request and response, never their text.`;

export async function run(args: string[]) {
  const { values } = parse(args, { limit: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const address = privateKeyToAccount(ctx.key("gateway", values.key)).address;
  const path = join(ctx.home.gateway, `gateway-${address.toLowerCase()}.db`);
  if (!existsSync(path)) throw new GotongError(`No gateway data for ${address} in ${ctx.home.root}`, { code: "no_receipts", hint: "Receipts appear after requests through `gotong gateway start` or `gotong up`." });
  const store = createGatewayStore(path);
  const receipts = store.listReceipts(integer(values.limit, "limit", 20));
  store.close();
  let decimals = 6;
  let symbol = "";
  try {
    const deployment = ctx.deployment(values.deployment);
    decimals = deployment.token.decimals;
    symbol = deployment.token.symbol;
  } catch {
    // without a deployment file, amounts print in base units of 6 decimals
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(receipts.map((r) => ({
      receiptId: r.receipt.requestId,
      at: new Date(r.createdAt).toISOString(),
      model: r.modelName,
      provider: r.provider,
      inputTokens: Number(r.receipt.inputTokens),
      outputTokens: Number(r.receipt.outputTokens),
      cost: r.receipt.cost.toString(),
      requestHash: r.receipt.requestHash,
      responseHash: r.receipt.responseHash,
    }))) + "\n");
    return;
  }
  if (receipts.length === 0) {
    process.stdout.write("no receipts yet\n");
    return;
  }
  let total = 0n;
  for (const r of receipts) {
    total += r.receipt.cost;
    process.stdout.write(
      `${new Date(r.createdAt).toISOString()}  ${r.modelName.padEnd(20)} ${String(r.receipt.inputTokens).padStart(6)} in ${String(r.receipt.outputTokens).padStart(6)} out  ${formatUnits(r.receipt.cost, decimals).padStart(12)} ${symbol}  ${r.receipt.requestId.slice(0, 14)}…  ${r.provider.slice(0, 10)}…\n`,
    );
  }
  process.stdout.write(`${receipts.length} receipt(s), ${formatUnits(total, decimals)} ${symbol} in total\n`);
}
