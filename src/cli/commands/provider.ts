import { privateKeyToAccount } from "viem/accounts";
import { basename, join } from "node:path";
import { createUpstreamBackend } from "../../provider/createUpstreamBackend.ts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { GotongError } from "../../common/errors.ts";
import { DEFAULT_PROVIDER_NAME, providerHome } from "../../common/home.ts";
import { loadOrCreateKey, readKey } from "../../common/keys.ts";
import { createProviderStore } from "../../provider/createProviderStore.ts";
import { createRedeemer } from "../../provider/createRedeemer.ts";
import { startProvider } from "../../provider/startProvider.ts";
import { rotateProviderKey } from "../../provider/rotateProviderKey.ts";
import { context, integer, parse, tokens, untilStopped } from "../shared.ts";

export const help = `gotong provider start --model FILE.gguf [options]
  --model-id N            registry id the weights must match (default: found by the file's sha256)
  --price-input T         tokens per million input tokens (default 1)
  --price-output T        tokens per million output tokens (default 2)
  --port N                listen port (default 8601)   --host H (default 127.0.0.1)
  --endpoint URL          public URL registered on-chain (default http://host:port)
  --threads N             CPU threads (default: measured once on this machine)
  --parallel N            requests generated at once (default 1)
  --stake T               stake in tokens when registering (default the minimum)
  --upstream URL          serve from an OpenAI-compatible server you already run (vLLM, Ollama,
                          llama-server) instead of embedded llama.cpp; --model is still the GGUF
                          it serves, hashed and checked against the registry
  --upstream-model NAME   the model name the upstream knows (default the registry name)
  --name NAME             a second provider identity in this home: its own key, HPKE key,
                          database and lock in GOTONG_HOME/providers/NAME (default: keys/, provider/)
  --key FILE              provider key (default GOTONG_HOME/keys/provider.key, or the --name one)
  --deployment FILE       contracts to use (default GOTONG_HOME/chain/deployment.json)
gotong provider redeem [--name NAME] [--json]   redeems every stored voucher now, in one transaction
gotong provider rotate-key [--name NAME]  new HPKE key on-chain; the old one still opens requests for an hour`;

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "start") return start(rest);
  if (sub === "redeem") return redeem(rest);
  if (sub === "rotate-key") return rotateKey(rest);
  throw new GotongError(`Unknown provider command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
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
  }, false);
  if (!values.model) throw new GotongError("--model FILE.gguf is required", { code: "invalid_arguments", hint: help });
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
    backend: values.upstream ? createUpstreamBackend({ baseUrl: values.upstream, model: values["upstream-model"] ?? basename(values.model).replace(/\.gguf$/i, "") }) : undefined,
    logger: ctx.logger,
  });
  process.stdout.write(values.json
    ? JSON.stringify({ url: provider.url, address: provider.address, modelId: provider.model.modelId.toString(), threads: provider.threads, name: values.name ?? DEFAULT_PROVIDER_NAME }) + "\n"
    : `provider ${values.name ? `"${values.name}" ` : ""}${provider.address} serving "${provider.model.name}" at ${provider.url} (threads ${provider.threads})\n`);
  await untilStopped();
  await provider.redeemer.redeemNow().catch(() => {});
  await provider.stop();
}

/** The key of the provider identity `--key` or `--name` names (the default one without either). */
function providerKey(home: ReturnType<typeof context>["home"], values: { key?: string; name?: string }) {
  const named = providerHome(home, values.name);
  return { home: named, key: values.key ? readKey(values.key) : loadOrCreateKey(named.keys, "provider") };
}

async function redeem(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, name: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { home, key } = providerKey(ctx.home, values);
  const clients = ctx.clients(deployment, key);
  const address = clients.account.address;
  // Safe beside a running provider: each transaction is recorded before it is sent, and the
  // contract skips a voucher that pays nothing more, so two redeemers never pay twice.
  const store = createProviderStore(join(home.provider, `provider-${address.toLowerCase()}.db`));
  const redeemer = createRedeemer({ clients, paymentChannels: deployment.paymentChannels, store, logger: ctx.logger });
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
