import { existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../../common/errors.ts";
import { readKey } from "../../common/keys.ts";
import { bigintAsString } from "../../common/bigintJson.ts";
import { chainTime } from "../../funding/chainTime.ts";
import { closeChannel, readOwnChannel } from "../../gateway/closeChannel.ts";
import { createGatewayStore, type ChannelRecord, type GatewayStore } from "../../gateway/createGatewayStore.ts";
import { createStandaloneSettler } from "../../gateway/createStandaloneSettler.ts";
import { gatewayStorePath } from "../../gateway/gatewayStorePath.ts";
import { formatChainTime, formatDuration } from "../../common/parseDuration.ts";
import { withdrawChannel } from "../../gateway/withdrawChannel.ts";
import { readChannel } from "../../payments/readChannel.ts";
import { readGatewayChannels, type GatewayChannel } from "../../gateway/readGatewayChannels.ts";
import { formatUnits } from "../../payments/price.ts";
import { readModelNames } from "../../web/server/readModelNames.ts";
import { context, parse } from "../shared.ts";

const listHelp = `gotong channel list [--key FILE] [--deployment FILE] [--json]

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

const closeHelp = `gotong channel close ID [--key FILE] [--deployment FILE] [--json]

  Starts closing one of your gateway's channels (ID: the full id, or a prefix \`gotong channel list\`
  shows). First it sends the provider a voucher for everything the gateway spent, so it can redeem
  all it served; then the challenge period starts (1 hour on the devnet), during which the provider
  may still redeem. After it, \`gotong channel withdraw ID\` returns the rest: deposit − redeemed.
  Chat keeps working: the gateway fails over to another provider of the model, and once the
  channel is withdrawn opens a fresh one. (A running gateway also withdraws it by itself.)

  --key FILE         gateway key (default GOTONG_HOME/keys/gateway.key)
  --deployment FILE  contracts to use (default GOTONG_HOME/chain/deployment.json)
  --json             amounts as decimal strings of token base units`;

const withdrawHelp = `gotong channel withdraw ID [--key FILE] [--deployment FILE] [--json]

  After a channel's challenge period, pays what is left back to your gateway's account: exactly
  deposit − redeemed, reported to the base unit. Before the period ends it refuses and says when
  withdrawing becomes possible (chain time). The channel moves to its next epoch: vouchers of the
  old one can never pay again, and the next request opens it afresh.

  --key FILE         gateway key (default GOTONG_HOME/keys/gateway.key)
  --deployment FILE  contracts to use (default GOTONG_HOME/chain/deployment.json)
  --json             amounts as decimal strings of token base units`;

const subcommandHelp: Record<string, string> = { list: listHelp, close: closeHelp, withdraw: withdrawHelp };

/**
 * The help "gotong channel … --help" prints: the subcommand's own when one is named. main.ts prints
 * "help" without calling "run", so the subcommand is read from the command line here.
 */
export function helpFor(args: readonly string[]): string {
  const sub = args.find((a) => !a.startsWith("-"));
  if (sub && subcommandHelp[sub]) return subcommandHelp[sub]!;
  return `${listHelp}

gotong channel close ID      start closing: the challenge period, then withdraw
gotong channel withdraw ID   after the challenge period: deposit − redeemed back to you
Each takes --help of its own.`;
}

export const help = helpFor(process.argv.slice(3));

/** The channel subcommands. */
const subcommands = new Map<string, (args: string[]) => Promise<void>>([
  ["list", list],
  ["close", close],
  ["withdraw", withdraw],
]);

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  const command = sub === undefined ? undefined : subcommands.get(sub);
  if (!command) {
    const known = [...subcommands.keys()].map((name) => `gotong channel ${name}`).join(", ");
    throw new GotongError(sub === undefined ? "Which channel command?" : `Unknown channel command "${sub}"`, { code: "invalid_arguments", hint: `Channel commands: ${known}.\n${helpFor([])}` });
  }
  await command(rest);
}

/** The gateway's key and store path, refusing (not inventing) a gateway this home does not have. */
function gatewayState(ctx: ReturnType<typeof context>, keyOption: string | undefined) {
  // Read the key rather than create one: listing must not invent a gateway.
  const keyFile = keyOption ?? join(ctx.home.keys, "gateway.key");
  const noState = (what: string) =>
    new GotongError(`No gateway state ${what}`, {
      code: "no_gateway_state",
      hint: "Channels appear after the first paid request through `gotong gateway start` or `gotong up`; pass --home DIR or --key FILE for another gateway.",
    });
  if (!existsSync(keyFile)) throw noState(`in ${ctx.home.root} (no key at ${keyFile})`);
  const key = readKey(keyFile);
  const address = privateKeyToAccount(key).address;
  const path = gatewayStorePath(ctx.home, address);
  if (!existsSync(path)) throw noState(`for ${address} in ${ctx.home.root}`);
  return { key, address, path };
}

async function list(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const { address, path } = gatewayState(ctx, values.key);
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

/**
 * Finds one of the gateway's channels by its full id or a prefix of it (as `list` shows them),
 * refusing an unknown or ambiguous one.
 */
function resolveChannel(store: GatewayStore, text: string | undefined): ChannelRecord {
  if (!text) throw new GotongError("Which channel? Give its id", { code: "invalid_arguments", hint: "`gotong channel list` shows the ids of your channels." });
  const wanted = text.toLowerCase().replace(/….*$/, "");
  if (!/^0x[0-9a-f]+$/.test(wanted)) throw new GotongError(`"${text}" is not a channel id`, { code: "invalid_arguments", hint: "A channel id is 0x followed by 64 hex digits (or a prefix of one)." });
  const matches = store.listChannels().filter((c) => c.channelId.toLowerCase().startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  throw new GotongError(matches.length === 0 ? `Your gateway has no channel ${text}` : `"${text}" matches ${matches.length} channels`, {
    code: matches.length === 0 ? "channel_not_found" : "invalid_arguments",
    hint: matches.length === 0 ? "`gotong channel list` shows your gateway's channels; an agent's close with `gotong agent close-channels NAME`." : "Give more of the id.",
  });
}

async function close(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const { key, path } = gatewayState(ctx, values.key);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, key);
  const store = createGatewayStore(path);
  let record: ChannelRecord, result: Awaited<ReturnType<typeof closeChannel>>, settlement: "sent" | "not needed" | "not delivered";
  try {
    record = resolveChannel(store, positionals[0]);
    await readOwnChannel(clients.public, deployment, record.channelId, clients.account.address);
    // The provider gets the voucher for the last request before the clock starts (a running gateway
    // may have sent it already; then nothing is sent).
    const onchain = await readChannel(clients.public, deployment.paymentChannels, record.channelId);
    settlement = onchain.epoch !== record.epoch || onchain.redeemed >= record.spent ? "not needed" : (await createStandaloneSettler(clients.public, key, deployment, store, ctx.logger).settle()) > 0 ? "sent" : "not delivered";
    result = await closeChannel(clients, deployment, record.channelId);
  } finally {
    store.close();
  }
  const now = await chainTime(clients.public);
  const spent = record.epoch === (await readChannel(clients.public, deployment.paymentChannels, record.channelId)).epoch ? record.spent : 0n;
  if (values.json) {
    process.stdout.write(JSON.stringify({
      channelId: result.channelId,
      transactionHash: result.hash,
      challengePeriodSeconds: result.challengePeriod,
      closesAt: formatChainTime(result.closesAt),
      deposit: result.deposit,
      spent,
      redeemed: result.redeemed,
      // What withdraw returns once the provider has redeemed all the gateway spent.
      expectedRefund: result.deposit - (spent > result.redeemed ? spent : result.redeemed),
      settlementVoucher: settlement,
    }, bigintAsString, 2) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  const money = (amount: bigint) => `${formatUnits(amount, decimals)} ${symbol} (${amount})`;
  const expected = result.deposit - (spent > result.redeemed ? spent : result.redeemed);
  process.stdout.write([
    `channel ${result.channelId} is closing (${result.hash})`,
    `  challenge period ${formatDuration(result.challengePeriod)}: the provider can redeem its last voucher until ${formatChainTime(result.closesAt)} (chain time, in ${formatDuration(result.closesAt - now)})`,
    `  then: gotong channel withdraw ${result.channelId}`,
    `  deposit ${money(result.deposit)}, spent ${money(spent)}: ${money(expected)} comes back (deposit − redeemed)`,
    ...(settlement === "not delivered" ? [`  warning: the voucher for the last ${money(spent - result.redeemed)} could not be delivered to the provider; it may redeem less, and you get the difference back`] : []),
    "  chat keeps working: another provider is tried, and a fresh channel opens once this one is withdrawn",
  ].join("\n") + "\n");
}

async function withdraw(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const { key, path } = gatewayState(ctx, values.key);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, key);
  const store = createGatewayStore(path);
  let record: ChannelRecord;
  try {
    record = resolveChannel(store, positionals[0]);
  } finally {
    store.close();
  }
  const result = await withdrawChannel(clients, deployment, record.channelId);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...result, transactionHash: result.hash, to: clients.account.address }, bigintAsString, 2) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  const money = (amount: bigint) => `${formatUnits(amount, decimals)} ${symbol} (${amount} base units)`;
  process.stdout.write(
    `withdrew ${money(result.refund)} from channel ${result.channelId} to ${clients.account.address} (${result.hash})\n` +
      `  = deposit ${money(result.deposit)} − redeemed by the provider ${money(result.redeemed)}; the channel is now in epoch ${result.nextEpoch}\n`,
  );
}
