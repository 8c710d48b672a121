import { existsSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../../common/errors.ts";
import { readKey } from "../../common/keys.ts";
import { createGatewayStore } from "../../gateway/createGatewayStore.ts";
import { gatewayStorePath } from "../../gateway/gatewayStorePath.ts";
import { formatDuration, parseDuration } from "../../common/parseDuration.ts";
import type { ApiKeyUsage } from "../../gateway/apiKeys/createApiKeyStore.ts";
import { formatUnits } from "../../payments/price.ts";
import { context, integer, parse, tokens, type CommandContext } from "../shared.ts";

const createHelp = `gotong gateway key create --budget T [--period 1d] [--rpm 60] [--name NAME] [--key FILE] [--deployment FILE] [--json]

Issues an API key for a gateway that serves others (\`gotong gateway start --keys\`). The key is
printed once: only its SHA-256 is kept. Clients send it as Authorization: Bearer KEY.
  --budget T    most the key may spend per period, in payment tokens (e.g. 5 or 0.25)
  --period D    the budget's period, from the key's creation: 30m, 12h, 1d, 7d… (default 1d)
  --rpm N       requests per rolling minute (default 60)
  --name NAME   a label for you (default the key's id)
  --key FILE    the gateway's wallet key (default GOTONG_HOME/keys/gateway.key)
A running gateway sees a new key at once.`;

const listHelp = `gotong gateway key list [--key FILE] [--deployment FILE] [--json]

The gateway's API keys: id, name, budget per period, spent this period (and held by requests in
flight), requests per minute, when each was created, and whether it was revoked.`;

const revokeHelp = `gotong gateway key revoke ID [--key FILE] [--json]

Revokes an API key: the running gateway refuses it (401) from its next request on. Its receipts
and usage stay (\`gotong receipts --key ID\`).`;

export const help = [createHelp, listHelp, revokeHelp].join("\n\n");

/** The gateway's store, by its wallet key (read, or created for `create`, as `gateway start` would). */
function openStore(ctx: CommandContext, keyFile: string | undefined, create: boolean) {
  let address: string;
  if (create) address = privateKeyToAccount(ctx.key("gateway", keyFile)).address;
  else {
    const file = keyFile ?? join(ctx.home.keys, "gateway.key");
    if (!existsSync(file)) throw noKeys(`in ${ctx.home.root} (no gateway key at ${file})`);
    address = privateKeyToAccount(readKey(file)).address;
  }
  const path = gatewayStorePath(ctx.home, address as `0x${string}`);
  if (!create && !existsSync(path)) throw noKeys(`for the gateway ${address} in ${ctx.home.root}`);
  return createGatewayStore(path);
}

const noKeys = (where: string) =>
  new GotongError(`No API keys ${where}`, { code: "no_api_keys", hint: "Create one with `gotong gateway key create --budget T`; pass --home DIR or --key FILE for another gateway." });

/** Amounts in the deployment's token, or base units without a deployment file. */
function amountFormat(ctx: CommandContext, deploymentFile: string | undefined): (units: bigint) => string {
  try {
    const { token } = ctx.deployment(deploymentFile);
    return (units) => `${formatUnits(units, token.decimals)} ${token.symbol}`;
  } catch {
    return (units) => `${units} base units`;
  }
}

/** A key's usage for `--json`: amounts as base-unit strings, times as ISO 8601. */
export function usageJson(k: ApiKeyUsage) {
  return {
    id: k.id,
    name: k.name,
    budget: k.budget.toString(),
    periodSeconds: k.periodSeconds,
    spent: k.spent.toString(),
    reserved: k.reserved.toString(),
    requests: k.requests,
    totalSpent: k.totalSpent.toString(),
    rpm: k.rpm,
    createdAt: new Date(k.createdAt).toISOString(),
    periodResetsAt: new Date(k.periodEnd).toISOString(),
    revokedAt: k.revokedAt === undefined ? null : new Date(k.revokedAt).toISOString(),
  };
}

async function create(args: string[]) {
  const { values } = parse(args, { budget: { type: "string" }, period: { type: "string" }, rpm: { type: "string" }, name: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } }, false);
  if (values.budget === undefined) throw new GotongError("--budget is required: the most this key may spend per period", { code: "invalid_arguments", hint: createHelp });
  const ctx = context(values);
  const { token } = ctx.deployment(values.deployment);
  const budget = tokens(values.budget, token.decimals, 0n);
  const periodSeconds = parseDuration(values.period ?? "1d", "period");
  if (periodSeconds === undefined) throw new GotongError("--period cannot be off: a budget needs a period", { code: "invalid_arguments", hint: "e.g. --period 1d" });
  const rpm = integer(values.rpm, "rpm", 60)!;
  const store = openStore(ctx, values.key, true);
  try {
    const { key, record } = store.apiKeys.create({ name: values.name, budget, periodSeconds, rpm });
    if (values.json) {
      process.stdout.write(JSON.stringify({ key, ...usageJson(store.apiKeys.usage(record.id)!) }) + "\n");
      return;
    }
    process.stdout.write(
      `${key}\n` +
        `API key ${record.id} (${record.name}): ${formatUnits(budget, token.decimals)} ${token.symbol} per ${formatDuration(periodSeconds)}, ${rpm} requests per minute.\n` +
        `This is the only time the key is shown: only its hash is kept. Clients send it as "Authorization: Bearer ${key.slice(0, 6)}…";\n` +
        `the gateway requires keys when started with \`gotong gateway start --keys\`.\n`,
    );
  } finally {
    store.close();
  }
}

async function list(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const store = openStore(ctx, values.key, false);
  const keys = store.apiKeys.list();
  store.close();
  if (values.json) {
    process.stdout.write(JSON.stringify(keys.map(usageJson)) + "\n");
    return;
  }
  if (keys.length === 0) {
    process.stdout.write("no API keys yet: `gotong gateway key create --budget T`\n");
    return;
  }
  const amount = amountFormat(ctx, values.deployment);
  for (const k of keys) {
    const held = k.reserved > 0n ? ` (+${amount(k.reserved)} held)` : "";
    const state = k.revokedAt !== undefined ? `revoked ${new Date(k.revokedAt).toISOString()}` : `resets ${new Date(k.periodEnd).toISOString()}`;
    process.stdout.write(
      `${k.id}  ${k.name.padEnd(16)} spent ${amount(k.spent)}${held} of ${amount(k.budget)} per ${formatDuration(k.periodSeconds)}  ${k.rpm} rpm  created ${new Date(k.createdAt).toISOString()}  ${state}\n`,
    );
  }
}

async function revoke(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" } });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new GotongError("Which key? Give one id: gotong gateway key revoke ID", { code: "invalid_arguments", hint: "`gotong gateway key list` shows the ids." });
  const ctx = context(values);
  const store = openStore(ctx, values.key, false);
  try {
    const record = store.apiKeys.revoke(id);
    if (values.json) {
      process.stdout.write(JSON.stringify({ id: record.id, name: record.name, revokedAt: new Date(record.revokedAt!).toISOString() }) + "\n");
      return;
    }
    process.stdout.write(`revoked ${record.id} (${record.name}): the gateway refuses it from its next request on\n`);
  } finally {
    store.close();
  }
}

const commands: Record<string, (args: string[]) => Promise<void>> = { create, list, revoke };

/** `gotong gateway key create|list|revoke`. */
export async function run(args: string[]) {
  const [sub, ...rest] = args;
  const command = sub === undefined ? undefined : commands[sub];
  if (!command) {
    throw new GotongError(sub === undefined ? "Which key command?" : `Unknown gateway key command "${sub}"`, { code: "invalid_arguments", hint: `Key commands: gotong gateway key create|list|revoke.\n${help}` });
  }
  await command(rest);
}
