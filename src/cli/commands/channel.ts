import { existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../../common/errors.ts";
import { readKey } from "../../common/keys.ts";
import { createGatewayStore } from "../../gateway/createGatewayStore.ts";
import { readGatewayChannels, type GatewayChannel } from "../../gateway/readGatewayChannels.ts";
import { formatUnits } from "../../payments/price.ts";
import { readModelNames } from "../../web/server/readModelNames.ts";
import { context, parse } from "../shared.ts";

export const help = `gotong channel list [--key FILE] [--deployment FILE] [--json]

  Lists the payment channels your gateway pays through, each with
    deposit   escrowed on-chain in the channel's current epoch
    spent     what the gateway accepted receipts for (its own record, GOTONG_HOME/gateway)
    redeemed  what the provider has redeemed on-chain (PaymentChannels.getChannel)
    state     open, closing (until the challenge period ends), withdrawable, or closed
  and their totals. Once the gateway has sent its last voucher and the provider has redeemed,
  spent equals redeemed to the base unit; spent − redeemed is what the provider can still redeem.
  --json prints amounts as decimal strings of token base units.

  --key FILE         gateway key (default GOTONG_HOME/keys/gateway.key)
  --deployment FILE  contracts to read (default GOTONG_HOME/chain/deployment.json)`;

/** The channel subcommands; `close` and `withdraw` join them here. */
const subcommands = new Map<string, (args: string[]) => Promise<void>>([["list", list]]);

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  const command = sub === undefined ? undefined : subcommands.get(sub);
  if (!command) {
    const known = [...subcommands.keys()].map((name) => `gotong channel ${name}`).join(", ");
    throw new GotongError(sub === undefined ? "Which channel command?" : `Unknown channel command "${sub}"`, { code: "invalid_arguments", hint: `Channel commands: ${known}.\n${help}` });
  }
  await command(rest);
}

async function list(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  // Read the key rather than create one: listing must not invent a gateway.
  const keyFile = values.key ?? join(ctx.home.keys, "gateway.key");
  const noState = (what: string) =>
    new GotongError(`No gateway state ${what}`, {
      code: "no_gateway_state",
      hint: "Channels appear after the first paid request through `gotong gateway start` or `gotong up`; pass --home DIR or --key FILE for another gateway.",
    });
  if (!existsSync(keyFile)) throw noState(`in ${ctx.home.root} (no key at ${keyFile})`);
  const address = privateKeyToAccount(readKey(keyFile)).address;
  const path = join(ctx.home.gateway, `gateway-${address.toLowerCase()}.db`);
  if (!existsSync(path)) throw noState(`for ${address} in ${ctx.home.root}`);
  const deployment = ctx.deployment(values.deployment);
  const reader = ctx.reader(deployment);
  const store = createGatewayStore(path);
  let read: Awaited<ReturnType<typeof readGatewayChannels>>;
  try {
    read = await readGatewayChannels(reader, deployment, store);
  } finally {
    store.close();
  }
  const { channels, totals, chainTime } = read;
  const unredeemed = totals.spent - totals.redeemed;

  if (values.json) {
    const amounts = (c: { deposit: bigint; spent: bigint; redeemed: bigint }) => ({
      deposit: c.deposit.toString(),
      spent: c.spent.toString(),
      redeemed: c.redeemed.toString(),
      unredeemed: (c.spent - c.redeemed).toString(),
    });
    process.stdout.write(JSON.stringify({
      gateway: address,
      chainId: deployment.chainId,
      paymentChannels: deployment.paymentChannels,
      token: deployment.token,
      chainTime: new Date(Number(chainTime) * 1000).toISOString(),
      channels: channels.map((c) => ({
        channelId: c.channelId,
        sender: c.sender,
        provider: c.provider,
        modelId: c.modelId.toString(),
        epoch: c.epoch.toString(),
        state: c.state,
        closesAt: c.closesAt === undefined ? null : new Date(Number(c.closesAt) * 1000).toISOString(),
        ...amounts(c),
      })),
      totals: { channels: channels.length, ...amounts(totals) },
    }, null, 2) + "\n");
    return;
  }

  if (channels.length === 0) {
    process.stdout.write(`no channels yet for gateway ${address}\n`);
    return;
  }
  const { decimals, symbol } = deployment.token;
  const money = (amount: bigint) => `${formatUnits(amount, decimals)} (${amount})`;
  const names = await readModelNames(reader, deployment, channels.map((c) => c.modelId)).catch(() => new Map<bigint, string | undefined>());
  const short = (hex: string) => `${hex.slice(0, 8)}…${hex.slice(-4)}`;
  const header = ["channel", "provider", "model", "epoch", "state", `deposit ${symbol} (base units)`, `spent ${symbol} (base units)`, `redeemed ${symbol} (base units)`];
  const rows = channels.map((c) => [
    short(c.channelId),
    short(c.provider),
    `${names.get(c.modelId) ?? "?"} #${c.modelId}`,
    String(c.epoch),
    describeState(c, chainTime),
    money(c.deposit),
    money(c.spent),
    money(c.redeemed),
  ]);
  const totalRow = [`total (${channels.length})`, "", "", "", "", money(totals.deposit), money(totals.spent), money(totals.redeemed)];
  const widths = header.map((h, i) => Math.max(h.length, ...[...rows, totalRow].map((r) => r[i]!.length)));
  const amountColumn = (i: number) => i >= 5;
  const line = (cells: string[]) => cells.map((cell, i) => (amountColumn(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd() + "\n";
  process.stdout.write(line(header));
  for (const row of rows) process.stdout.write(line(row));
  process.stdout.write(line(totalRow));
  process.stdout.write(
    unredeemed === 0n
      ? "spent = redeemed: every accepted receipt is redeemed on-chain\n"
      : unredeemed > 0n
        ? `spent − redeemed = ${money(unredeemed)} ${symbol}: paid by vouchers the provider has not redeemed yet\n`
        : `redeemed exceeds spent by ${money(-unredeemed)} ${symbol}: the chain paid more than this gateway's receipts account for\n`,
  );
  if (channels.some((c) => c.state === "missing")) process.stdout.write("missing: the chain has no such channel; is this the deployment the gateway paid on?\n");
}

/** The state column: a closing channel says when its challenge period ends, in chain time. */
function describeState(c: GatewayChannel, now: bigint): string {
  if (c.state !== "closing" || c.closesAt === undefined) return c.state;
  const left = Number(c.closesAt - now);
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  return `closing until ${new Date(Number(c.closesAt) * 1000).toISOString().replace(/\.000Z$/, "Z")} (${h > 0 ? `${h}h ` : ""}${m}m left)`;
}
