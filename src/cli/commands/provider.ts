import { existsSync } from "node:fs";
import { isAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { basename, join } from "node:path";
import { PaymentChannelsArtifact, ProviderRegistryArtifact } from "../../chain/contracts.generated.ts";
import { bigintAsString } from "../../common/bigintJson.ts";
import { readLockOwner } from "../../common/lockState.ts";
import { formatChainTime, formatDuration } from "../../common/parseDuration.ts";
import { formatUnits } from "../../payments/price.ts";
import { exitProvider } from "../../provider/exitProvider.ts";
import { readProviderStatus, type ProviderStatus } from "../../provider/readProviderStatus.ts";
import { unstakeProvider } from "../../provider/unstakeProvider.ts";
import { withdrawProviderEarnings } from "../../provider/withdrawProviderEarnings.ts";
import { createUpstreamBackend } from "../../provider/createUpstreamBackend.ts";
import { listProviders } from "../../gateway/challenges/listProviders.ts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { GotongError } from "../../common/errors.ts";
import { DEFAULT_PROVIDER_NAME, providerHome } from "../../common/home.ts";
import { loadOrCreateKey, readKey } from "../../common/keys.ts";
import { createProviderStore } from "../../provider/createProviderStore.ts";
import { createRedeemer } from "../../provider/createRedeemer.ts";
import { startProvider } from "../../provider/startProvider.ts";
import { rotateProviderKey } from "../../provider/rotateProviderKey.ts";
import { providerAcceptsX402 } from "../../provider/identity/providerAcceptsX402.ts";
import { registerProviderIdentity } from "../../provider/identity/registerProviderIdentity.ts";
import { parseRedeemGas, redeemGasFlags, redeemGasHelp } from "../parseRedeemGas.ts";
import { context, integer, parse, tokens, untilStopped } from "../shared.ts";

const startHelp = `gotong provider start --model FILE.gguf [options]
  --model-id N            registry id the weights must match (default: found by the file's sha256)
  --price-input T         tokens per million input tokens (default 1)
  --price-output T        tokens per million output tokens (default 2)
  --port N                listen port (default 8601)   --host H (default 127.0.0.1)
  --endpoint URL          public URL registered on-chain (default http://host:port)
  --threads N             CPU threads (default: measured once on this machine)
  --parallel N            requests decoded together in one batch, joining and leaving as they
                          come and end; more wait in line (default: measured once on this machine)
  --embeddings            serve the model's embeddings (POST /v1/embeddings, paid per input token)
                          instead of chat; the offer declares the "embeddings" capability
  --stake T               stake in tokens when registering (default the minimum)
  --upstream URL          serve from an OpenAI-compatible server you already run (vLLM, Ollama,
                          llama-server) instead of embedded llama.cpp; --model is still the GGUF
                          it serves, hashed and checked against the registry
  --upstream-model NAME   the model name the upstream knows (default the registry name)
  --name NAME             a second provider identity in this home: its own key, HPKE key,
                          database and lock in GOTONG_HOME/providers/NAME (default: keys/, provider/)
  --key FILE              provider key (default GOTONG_HOME/keys/provider.key, or the --name one)
  --deployment FILE       contracts to use (default GOTONG_HOME/chain/deployment.json)
  --redeem-interval S     seconds between redeem runs (default 60)
${redeemGasHelp}
Requests without a voucher are paid with x402 \`exact\` (PAYMENT-REQUIRED / PAYMENT-SIGNATURE).
It also serves an MCP endpoint at /mcp (Streamable HTTP) whose tool chat is paid the same way,
by x402 over MCP (the PaymentPayload in _meta["x402/payment"] of tools/call).
With GOTONG_X402_FACILITATOR_KEY set (16+ characters), it also serves an x402 facilitator at
/x402/supported, /x402/verify and /x402/settle for its own payees, to Bearer holders of that key.`;

/** Options every provider command besides start takes. */
const identityHelp = `  --name NAME        the provider identity (default: keys/provider.key; NAME: GOTONG_HOME/providers/NAME)
  --key FILE         a provider key file instead
  --deployment FILE  contracts to use (default GOTONG_HOME/chain/deployment.json)
  --json             machine-readable output; amounts as decimal strings of token base units`;

const subcommandHelp: Record<string, string> = {
  start: startHelp,
  list: `gotong provider list [--deployment FILE] [--json]

  Every provider registered on the network, read from the chain: address, endpoint, stake (and what
  is unstaking), its verification record (challenges passed and failed, stake slashed, suspended for
  fraud), whether it is active, and its offers. --json gives one array; amounts (stake, unstaking,
  slashed, prices) and counts as decimal strings of token base units.
  --deployment FILE  contracts to use (default GOTONG_HOME/chain/deployment.json)`,
  redeem: `gotong provider redeem [--name NAME] [--native-price T] [--json]

  Redeems every stored voucher now, in as few transactions as the gas cap allows; lists what was
  held back and why, each transaction's gas and fee, and a batch left waiting because its gas
  would cost more than allowed.
${identityHelp}
${redeemGasHelp}`,
  "rotate-key": `gotong provider rotate-key [--name NAME]

  Registers a new HPKE key on-chain; the old one still opens requests for an hour.
${identityHelp}`,
  status: `gotong provider status [--name NAME] [--json]

  What the chain and this machine know about the provider: endpoint, stake (and the minimum to be
  active), offers, unbonding (and when \`exit\` becomes possible), earnings (redeemed on-chain,
  withdrawable now, withdrawn, and vouchers in the local store still to redeem), whether its
  process runs here, and a warning when it gets no traffic (no stake, no offer).
${identityHelp}`,
  withdraw: `gotong provider withdraw [--name NAME] [--to ADDRESS] [--no-redeem] [--json]

  Pays out the provider's earnings. Redeeming a voucher does not transfer anything: PaymentChannels
  credits the provider's share (royalty and protocol fee go elsewhere) to its earnings, and this
  withdraws them all (\`withdrawEarnings\`). It first redeems every stored voucher, as
  \`gotong provider redeem\` does (skip with --no-redeem), so what was served is included.
  --to ADDRESS       send the tokens there (default: the provider's own account)
${identityHelp}`,
  unstake: `gotong provider unstake [--name NAME] [--json]

  Leaves the network: removes every offer (no new channel can be opened to this provider) and moves
  the whole stake to unbonding. After the registry's unbonding delay (7 days on the devnet),
  \`gotong provider exit\` withdraws it. Channels already open stay redeemable: keep the provider
  (or \`gotong provider redeem\`) running until their last vouchers are redeemed.
${identityHelp}`,
  identity: `gotong provider identity [--name NAME] [--endpoint URL] [--no-x402] [--json]

  Registers the provider as an ERC-8004 agent in the deployment's identity registry, its wallet the
  provider's own address, so the x402 payments it settles count as payments to it: a payer can then
  give it feedback in AgentReputation (\`giveFeedback\`), weighted by what it paid. The registration
  file (a data: URI) lists the OpenAI-compatible API (ENDPOINT/v1), the MCP endpoint (ENDPOINT/mcp)
  when x402 is on, and \`x402Support\`. Run again, it finds the agent the provider owns (from the
  registry's Registered events), updates its URI if the file changed, binds the wallet again if it
  was changed or unset, and prints the same agent id.
  --endpoint URL     the public URL to list (default: the endpoint registered in ProviderRegistry)
  --no-x402          declare x402Support false (default: true when the deployment has an
                     X402Splitter and its token takes EIP-3009 authorizations, as \`provider start\` decides)
${identityHelp}`,
  exit: `gotong provider exit [--name NAME] [--json]

  Withdraws the unbonded stake once the unbonding delay is over (chain time); before that it refuses
  and says when it becomes possible. Run \`gotong provider unstake\` first.
${identityHelp}`,
};

/**
 * The help "gotong provider … --help" prints: the subcommand's own when one is named. main.ts
 * prints "help" without calling "run", so the subcommand is read from the command line here.
 */
export function helpFor(args: readonly string[]): string {
  const sub = args.find((a) => !a.startsWith("-"));
  if (sub && subcommandHelp[sub]) return subcommandHelp[sub]!;
  return `${startHelp}
gotong provider status [--name NAME] [--json]     stake, offers, endpoint, unbonding, earnings, warnings
gotong provider list [--json]                     every provider on the network: stake, offers, challenges passed/failed, slashed
gotong provider redeem [--name NAME] [--json]     redeems every stored voucher now, in one transaction
gotong provider withdraw [--name NAME] [--to A]   redeems, then pays out the provider's earnings
gotong provider unstake [--name NAME]             removes the offers and starts unbonding the stake
gotong provider exit [--name NAME]                after the unbonding delay, withdraws the stake
gotong provider rotate-key [--name NAME]          new HPKE key on-chain; the old one still opens requests for an hour
gotong provider identity [--name NAME]            registers (or updates) the provider's ERC-8004 agent, for paid feedback
Each takes --help of its own.`;
}

export const help = helpFor(process.argv.slice(3));

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "start") return start(rest);
  if (sub === "redeem") return redeem(rest);
  if (sub === "rotate-key") return rotateKey(rest);
  if (sub === "status") return status(rest);
  if (sub === "list") return list(rest);
  if (sub === "withdraw") return withdraw(rest);
  if (sub === "unstake") return unstake(rest);
  if (sub === "exit") return exit(rest);
  if (sub === "identity") return identity(rest);
  throw new GotongError(`Unknown provider command "${sub ?? ""}"`, { code: "invalid_arguments", hint: helpFor([]) });
}

async function start(args: string[]) {
  const { values } = parse(args, {
    model: { type: "string" },
    "model-id": { type: "string" },
    "price-input": { type: "string" },
    "price-output": { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    endpoint: { type: "string" },
    threads: { type: "string" },
    parallel: { type: "string" },
    stake: { type: "string" },
    name: { type: "string" },
    key: { type: "string" },
    deployment: { type: "string" },
    "redeem-interval": { type: "string" },
    upstream: { type: "string" },
    "upstream-model": { type: "string" },
    embeddings: { type: "boolean" },
    ...redeemGasFlags,
  }, false);
  if (!values.model) throw new GotongError("--model FILE.gguf is required", { code: "invalid_arguments", hint: startHelp });
  if (values.embeddings && values.upstream) throw new GotongError("--embeddings serves embedded llama.cpp's embeddings; it cannot be combined with --upstream", { code: "invalid_arguments", hint: startHelp });
  const ctx = context(values);
  // A named provider is another identity: its own key, HPKE key, database and lock.
  const home = providerHome(ctx.home, values.name);
  const deployment = ctx.deployment(values.deployment);
  const key = values.key ? readKey(values.key) : loadOrCreateKey(home.keys, "provider");
  if (deployment.chainId === 31337) {
    await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: BigInt(deployment.minStake) * 2n });
  }
  const d = deployment.token.decimals;
  const unit = 10n ** BigInt(d);
  const provider = await startProvider({
    home,
    deployment,
    privateKey: key,
    modelPath: values.model,
    modelId: values["model-id"] !== undefined ? BigInt(integer(values["model-id"], "model-id")!) : undefined,
    price: { pricePerMillionInput: tokens(values["price-input"], d, unit), pricePerMillionOutput: tokens(values["price-output"], d, 2n * unit) },
    port: integer(values.port, "port"),
    host: values.host,
    publicUrl: values.endpoint,
    threads: integer(values.threads, "threads"),
    parallel: integer(values.parallel, "parallel"),
    stake: values.stake ? tokens(values.stake, d, 0n) : undefined,
    redeemIntervalMs: values["redeem-interval"] ? integer(values["redeem-interval"], "redeem-interval")! * 1000 : undefined,
    redeemGas: parseRedeemGas(values, d),
    backend: values.upstream ? createUpstreamBackend({ baseUrl: values.upstream, model: values["upstream-model"] ?? basename(values.model).replace(/\.gguf$/i, "") }) : undefined,
    embeddings: values.embeddings === true,
    // From the environment, not a flag: a key on the command line is visible to every local user.
    x402FacilitatorKey: process.env.GOTONG_X402_FACILITATOR_KEY || undefined,
    logger: ctx.logger,
  });
  process.stdout.write(values.json
    ? JSON.stringify({ url: provider.url, address: provider.address, modelId: provider.model.modelId.toString(), threads: provider.threads, parallel: provider.parallel, name: values.name ?? DEFAULT_PROVIDER_NAME }) + "\n"
    : `provider ${values.name ? `"${values.name}" ` : ""}${provider.address} serving "${provider.model.name}"${values.embeddings ? " embeddings" : ""} at ${provider.url} (threads ${provider.threads}, parallel ${provider.parallel})\n`);
  await untilStopped();
  await provider.redeemer.redeemNow().catch(() => {});
  await provider.stop();
}

/** The key of the provider identity `--key` or `--name` names (the default one without either). */
function providerKey(home: ReturnType<typeof context>["home"], values: { key?: string; name?: string }) {
  const named = providerHome(home, values.name);
  return { home: named, key: values.key ? readKey(values.key) : loadOrCreateKey(named.keys, "provider") };
}

/**
 * The key of an existing provider identity: commands that only read or collect must not invent a
 * provider, so a missing key is refused with where it was looked for.
 */
function existingProviderKey(home: ReturnType<typeof context>["home"], values: { key?: string; name?: string }) {
  const named = providerHome(home, values.name);
  const path = values.key ?? join(named.keys, "provider.key");
  if (!existsSync(path)) {
    throw new GotongError(`No provider key at ${path}`, {
      code: "no_provider_key",
      hint: values.name ? `Is "${values.name}" the name given to \`gotong provider start --name\`? ` : "Start a provider first (`gotong provider start` or `gotong up`), or pass --name NAME or --key FILE.",
    });
  }
  return { home: named, key: readKey(path) };
}

async function redeem(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" }, ...redeemGasFlags }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { home, key } = providerKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const address = clients.account.address;
  // Safe beside a running provider: each transaction is recorded before it is sent, and the
  // contract skips a voucher that pays nothing more, so two redeemers never pay twice.
  const store = createProviderStore(join(home.provider, `provider-${address.toLowerCase()}.db`));
  const redeemer = createRedeemer({ clients, paymentChannels: deployment.paymentChannels, store, logger: ctx.logger, ...parseRedeemGas(values, deployment.token.decimals) });
  // Pays every voucher the chain will pay, closing channels first; lists those held back.
  const result = await redeemer.redeemNow().finally(() => store.close());
  // Held back: what the chain would not pay, with the contract's reason, and when it is tried again.
  const held = (q: (typeof result.quarantined)[number]) => ({
    channelId: q.channelId,
    epoch: q.epoch,
    cumulativeAmount: q.cumulativeAmount,
    reason: q.reason,
    permanent: q.permanent,
    attempts: q.attempts,
    quarantinedAt: new Date(q.quarantinedAt).toISOString(),
    retryAt: q.retryAt === undefined ? null : new Date(q.retryAt).toISOString(),
  });
  if (values.json) {
    const report = {
      transactionHash: result.transactionHash ?? null,
      transactionHashes: result.transactionHashes,
      channels: result.channels,
      amount: result.amount,
      redeemed: result.redeemed,
      skipped: result.skipped.map(held),
      quarantined: result.quarantined.map(held),
      deferred: result.deferred,
      pending: result.pending,
      gas: result.gas,
      waitingForWorth: result.waitingForWorth ?? null,
      behind: result.behind ?? null,
    };
    process.stdout.write(JSON.stringify(report, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)) + "\n");
    return;
  }
  const lines: string[] = [];
  if (result.transactionHashes.length === 0) lines.push("nothing redeemed");
  else lines.push(`redeemed ${result.amount} base units from ${result.channels} channel(s) in ${result.transactionHashes.join(", ")}`);
  for (const r of result.redeemed) lines.push(`  paid     ${r.channelId} epoch ${r.epoch}: ${r.amount} (provider ${r.providerShare}, royalty ${r.royalty}, fee ${r.fee})`);
  const skippedNow = new Set(result.skipped.map((q) => `${q.channelId}:${q.epoch}`));
  for (const q of result.quarantined) {
    const when = q.permanent ? "never retried" : `re-checked after ${new Date(q.retryAt!).toISOString()}, or when a higher voucher arrives`;
    lines.push(`  ${skippedNow.has(`${q.channelId}:${q.epoch}`) ? "skipped " : "held    "} ${q.channelId} epoch ${q.epoch}: voucher ${q.cumulativeAmount}, ${q.reason} (${when})`);
  }
  for (const d of result.deferred) lines.push(`  deferred ${d.channelId} epoch ${d.epoch}: the chain could not be asked (${d.error}); tried next run`);
  for (const hash of result.pending) lines.push(`  pending  ${hash}: not mined yet; checked (never re-sent as a new transaction) next run`);
  for (const g of result.gas) lines.push(`  gas      ${g.vouchers} voucher(s) worth ${g.worth}: ${g.gas} gas at most ${g.maxFeePerGas} wei each${g.maxCost === undefined ? "" : ` = at most ${g.maxCost} base units (allowed ${g.threshold})`}`);
  const w = result.waitingForWorth;
  if (w) lines.push(`  waiting  ${w.vouchers} voucher(s) worth ${w.worth}: their gas could cost ${w.maxCost} base units, more than the ${w.threshold} allowed (--max-gas-share); they stay stored and are redeemed once worth more`);
  if (result.behind) lines.push(`  behind   the RPC answered block ${result.behind.block}, but block ${result.behind.seen} was already seen: nothing sent until it catches up`);
  process.stdout.write(lines.join("\n") + "\n");
}

async function rotateKey(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { home, key } = providerKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const result = await rotateProviderKey(clients, deployment, home.keys);
  process.stdout.write(values.json ? JSON.stringify(result) + "\n" : `new HPKE key ${result.publicKey} registered in ${result.transactionHash}\n`);
}

/** The provider's store, only if this home has one (reading a status must not create a database). */
function openExistingStore(home: ReturnType<typeof providerHome>, address: string) {
  const path = join(home.provider, `provider-${address.toLowerCase()}.db`);
  return existsSync(path) ? createProviderStore(path) : undefined;
}

/** The process running this provider identity here, if one is alive. */
function runningProvider(home: ReturnType<typeof context>["home"], address: string) {
  const owner = readLockOwner(join(home.locks, `provider-${address.toLowerCase()}.lock`));
  if (!owner) return undefined;
  try {
    process.kill(owner.pid, 0);
    return owner;
  } catch {
    return undefined;
  }
}

async function status(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { home, key } = existingProviderKey(ctx.home, values);
  const address = privateKeyToAccount(key).address;
  const store = openExistingStore(home, address);
  let report: ProviderStatus;
  try {
    report = await readProviderStatus(ctx.reader(deployment), deployment, address, store);
  } finally {
    store?.close();
  }
  const running = runningProvider(ctx.home, address);
  const name = values.name ?? DEFAULT_PROVIDER_NAME;
  if (values.json) {
    process.stdout.write(JSON.stringify({
      name,
      ...report,
      running: running ? { pid: running.pid, since: running.since } : null,
      unbonding: report.unbonding ? { ...report.unbonding, readyAt: formatChainTime(report.unbonding.readyAt) } : null,
      chainTime: formatChainTime(report.chainTime),
    }, bigintAsString, 2) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  const money = (amount: bigint) => `${formatUnits(amount, decimals)} ${symbol} (${amount})`;
  const lines = [
    `provider ${name === DEFAULT_PROVIDER_NAME ? "" : `"${name}" `}${address}${running ? ` (running here, pid ${running.pid})` : ""}`,
    `endpoint   ${report.registered ? report.endpoint : "(not registered)"}`,
    `stake      ${money(report.stake)}; minimum ${money(report.minStake)}; ${report.active ? "active" : "INACTIVE"}`,
    `offers     ${report.offers.length ? report.offers.map((o) => `${o.modelName ?? "?"} #${o.modelId} (input ${formatUnits(o.pricePerMillionInput, decimals)}, output ${formatUnits(o.pricePerMillionOutput, decimals)} ${symbol} per million tokens; ${o.capabilities.join(", ")})`).join("; ") : "none"}`,
    `unbonding  ${report.unbonding ? `${money(report.unbonding.amount)}, ${report.unbonding.ready ? "ready now: `gotong provider exit`" : `withdrawable at ${formatChainTime(report.unbonding.readyAt)} (in ${formatDuration(report.unbonding.readyAt - report.chainTime)})`}` : `none (the delay is ${formatDuration(report.unstakeDelay)})`}`,
    `earnings   redeemed ${money(report.earnings.redeemed)}: withdrawable ${money(report.earnings.withdrawable)}, withdrawn ${money(report.earnings.withdrawn)}`,
    `vouchers   ${store ? `${money(report.earnings.redeemable)} still to redeem on ${report.earnings.redeemableVouchers.length} channel(s) (before royalty and fee)` : "no local store here"}`,
    ...report.warnings.map((w) => `warning    ${w}`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

async function withdraw(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" }, to: { type: "string" }, "no-redeem": { type: "boolean" } }, false);
  if (values.to !== undefined && !isAddress(values.to)) throw new GotongError(`Invalid address "${values.to}"`, { code: "invalid_arguments", hint: "--to takes a 0x… address." });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { home, key } = existingProviderKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const address = clients.account.address;
  let redeemed = 0n;
  let redeemable: bigint | undefined;
  const store = openExistingStore(home, address);
  if (store) {
    try {
      if (!values["no-redeem"]) {
        // The same redeemer as `gotong provider redeem`: safe beside a running provider.
        redeemed = (await createRedeemer({ clients, paymentChannels: deployment.paymentChannels, store, logger: ctx.logger }).redeemNow()).amount;
      } else {
        redeemable = store.unredeemed().reduce((sum, s) => sum + s.voucher!.cumulativeAmount - s.redeemed, 0n);
      }
    } finally {
      store.close();
    }
  }
  const result = await withdrawProviderEarnings(clients, deployment, { to: values.to as Address | undefined, redeemable });
  if (values.json) {
    process.stdout.write(JSON.stringify({ provider: address, redeemedFirst: redeemed, ...result }, bigintAsString) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  process.stdout.write(
    (redeemed > 0n ? `redeemed ${formatUnits(redeemed, decimals)} ${symbol} (${redeemed}) of stored vouchers first\n` : "") +
      `withdrew ${formatUnits(result.amount, decimals)} ${symbol} (${result.amount} base units) of provider earnings to ${result.to} in ${result.hash}\n`,
  );
}

async function unstake(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { key } = existingProviderKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const result = await unstakeProvider(clients, deployment);
  const running = runningProvider(ctx.home, clients.account.address);
  if (values.json) {
    process.stdout.write(JSON.stringify({ provider: clients.account.address, ...result, readyAt: formatChainTime(result.readyAt) }, bigintAsString) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  process.stdout.write([
    result.removedOffers.length ? `removed ${result.removedOffers.length} offer(s) (model ${result.removedOffers.map(String).join(", ")}): no new channel can be opened to this provider` : "no offer was left",
    `unbonding ${formatUnits(result.unstaking, decimals)} ${symbol} (${result.unstaking} base units); \`gotong provider exit\` withdraws it at ${formatChainTime(result.readyAt)} (chain time, after the ${formatDuration(result.unstakeDelay)} unbonding delay)`,
    "Channels already open stay redeemable: keep redeeming (`gotong provider redeem`) until they close, then `gotong provider withdraw`.",
    ...(running ? [`Note: this provider still runs here (pid ${running.pid}); it serves open channels, and a restart registers its offer (and stake) again.`] : []),
  ].join("\n") + "\n");
}

async function exit(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { key } = existingProviderKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const result = await exitProvider(clients, deployment);
  const earnings = await clients.public.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "earnings", args: [clients.account.address] });
  if (values.json) {
    process.stdout.write(JSON.stringify({ provider: clients.account.address, ...result, earningsLeft: earnings }, bigintAsString) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  process.stdout.write(
    `withdrew the stake: ${formatUnits(result.amount, decimals)} ${symbol} (${result.amount} base units) to ${clients.account.address} in ${result.hash}\n` +
      (earnings > 0n ? `earnings of ${formatUnits(earnings, decimals)} ${symbol} (${earnings}) are still to withdraw: \`gotong provider withdraw\`\n` : ""),
  );
}

async function list(args: string[]) {
  const { values } = parse(args, { deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const providers = await listProviders(ctx.reader(deployment), deployment);
  if (values.json) {
    process.stdout.write(JSON.stringify(providers, bigintAsString) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  if (providers.length === 0) {
    process.stdout.write("no provider is registered on this network\n");
    return;
  }
  const amount = (units: bigint) => `${formatUnits(units, decimals)} ${symbol}`;
  process.stdout.write(
    providers
      .map((p) => {
        const state = p.suspended ? "SUSPENDED for fraud" : p.active ? "active" : p.paused ? "paused" : "inactive";
        return [
          `${p.address}  ${state}  ${p.endpoint}`,
          `  stake ${amount(p.stake)}${p.unstaking > 0n ? `, unstaking ${amount(p.unstaking)}` : ""}${p.slashed > 0n ? `, slashed ${amount(p.slashed)}` : ""}`,
          `  challenges passed ${p.challengesPassed}, failed ${p.challengesFailed}`,
          ...p.offers.map((o) => `  model #${o.modelId}: ${amount(o.pricePerMillionInput)} in / ${amount(o.pricePerMillionOutput)} out per 1M tokens${o.capabilities.length ? ` (${o.capabilities.join(", ")})` : ""}`),
        ].join("\n");
      })
      .join("\n") + "\n",
  );
}

async function identity(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" }, endpoint: { type: "string" }, "no-x402": { type: "boolean" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { key } = existingProviderKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const address = clients.account.address;
  let endpoint = values.endpoint;
  if (endpoint === undefined) {
    const record = (await clients.public.readContract({ address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "getProvider", args: [address] })) as { registered: boolean; endpoint: string };
    if (!record.registered) {
      throw new GotongError(`Provider ${address} is not registered, so it has no endpoint to list`, {
        code: "not_registered",
        hint: "Start it once (`gotong provider start`), which registers its endpoint, or pass --endpoint URL.",
      });
    }
    endpoint = record.endpoint;
  }
  const x402Support = values["no-x402"] ? false : await providerAcceptsX402(clients.public, deployment);
  const result = await registerProviderIdentity(clients, deployment, { endpoint, x402Support });
  if (values.json) {
    process.stdout.write(JSON.stringify({ provider: address, endpoint, x402Support, ...result }, bigintAsString) + "\n");
    return;
  }
  const changes = result.created
    ? "registered"
    : [result.uriUpdated ? "registration file updated" : "registration file unchanged", ...(result.walletBound ? ["wallet bound again"] : [])].join(", ");
  process.stdout.write(
    `agent #${result.agentId} for provider ${address} (${changes}) in ${result.registry}\n` +
      `  wallet  ${result.wallet}\n` +
      `  serves  ${endpoint.replace(/\/+$/, "")}/v1${x402Support ? `, ${endpoint.replace(/\/+$/, "")}/mcp` : ""}; x402Support ${x402Support}\n`,
  );
}
