import { existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../../common/errors.ts";
import { cliError } from "../errors.ts";
import { createGatewayStore } from "../../gateway/createGatewayStore.ts";
import { API_KEY_ID } from "../../gateway/apiKeys/apiKeySecret.ts";
import { usageJson } from "./gatewayKey.ts";
import { formatUnits } from "../../payments/price.ts";
import { context, integer, parse } from "../shared.ts";

export const help = `gotong receipts [--limit 20] [--key FILE] [--key ID] [--json]

Lists the receipts your gateway kept: when, which model and provider, tokens and cost. Receipts hold
hashes of each request and response, never their text.
  --key ID    only those paid for the API key ID (\`gotong gateway key list\`), with that key's totals
              and its budget this period
  --key FILE  another gateway's receipts (its wallet key file); both may be given`;

export async function run(args: string[]) {
  const { values } = parse(args, { limit: { type: "string" }, key: { type: "string", multiple: true }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  // An API key's id has one shape (key_ and 16 hex digits); any other value names a wallet key file.
  const apiKeyIds = (values.key ?? []).filter((v) => API_KEY_ID.test(v));
  const keyFiles = (values.key ?? []).filter((v) => !API_KEY_ID.test(v));
  if (apiKeyIds.length > 1 || keyFiles.length > 1) throw new GotongError("Give at most one --key ID and one --key FILE", { code: "invalid_arguments", hint: help });
  const address = privateKeyToAccount(ctx.key("gateway", keyFiles[0])).address;
  const path = join(ctx.home.gateway, `gateway-${address.toLowerCase()}.db`);
  if (!existsSync(path)) throw cliError("no_receipts", `No gateway data for ${address} in ${ctx.home.root}`, { hint: "Receipts appear after requests through `gotong gateway start` or `gotong up`." });
  const store = createGatewayStore(path);
  const apiKeyId = apiKeyIds[0];
  const usage = apiKeyId === undefined ? undefined : store.apiKeys.usage(apiKeyId);
  if (apiKeyId !== undefined && !usage) {
    store.close();
    throw new GotongError(`No API key ${apiKeyId} at the gateway ${address}`, { code: "api_key_not_found", hint: "`gotong gateway key list` shows the keys." });
  }
  const limit = integer(values.limit, "limit", 20)!;
  // A key's totals count all its receipts, not only the latest shown.
  const all = apiKeyId === undefined ? [] : store.listReceipts(Number.MAX_SAFE_INTEGER, apiKeyId);
  const receipts = apiKeyId === undefined ? store.listReceipts(limit) : all.slice(0, limit);
  store.close();
  const totals = {
    receipts: all.length,
    inputTokens: all.reduce((a, r) => a + r.receipt.inputTokens, 0n),
    outputTokens: all.reduce((a, r) => a + r.receipt.outputTokens, 0n),
    cost: all.reduce((a, r) => a + r.receipt.cost, 0n),
  };
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
    const list = receipts.map((r) => ({
      receiptId: r.receipt.requestId,
      at: new Date(r.createdAt).toISOString(),
      model: r.modelName,
      provider: r.provider,
      inputTokens: Number(r.receipt.inputTokens),
      outputTokens: Number(r.receipt.outputTokens),
      cost: r.receipt.cost.toString(),
      requestHash: r.receipt.requestHash,
      responseHash: r.receipt.responseHash,
      ...(r.keyId ? { apiKey: r.keyId } : {}),
    }));
    const keyed = usage && {
      key: usageJson(usage),
      receipts: list,
      totals: { receipts: totals.receipts, inputTokens: totals.inputTokens.toString(), outputTokens: totals.outputTokens.toString(), cost: totals.cost.toString() },
    };
    process.stdout.write(JSON.stringify(keyed ?? list) + "\n");
    return;
  }
  if (usage) {
    const amount = (units: bigint) => `${formatUnits(units, decimals)} ${symbol}`.trim();
    const state = usage.revokedAt !== undefined ? `revoked ${new Date(usage.revokedAt).toISOString()}` : `resets ${new Date(usage.periodEnd).toISOString()}`;
    process.stdout.write(
      `API key ${usage.id} (${usage.name}): ${totals.receipts} receipt(s), ${totals.inputTokens} in ${totals.outputTokens} out, ${amount(totals.cost)} in total; ` +
        `this period ${amount(usage.spent)} of ${amount(usage.budget)} (${state})\n`,
    );
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
