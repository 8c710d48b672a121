import { privateKeyToAccount } from "viem/accounts";
import { basename, join } from "node:path";
import { createUpstreamBackend } from "../../provider/createUpstreamBackend.ts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { GotongError } from "../../common/errors.ts";
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
  --key FILE              provider key (default GOTONG_HOME/keys/provider.key)
  --deployment FILE       contracts to use (default GOTONG_HOME/chain/deployment.json)
gotong provider redeem    redeems every stored voucher now, in one transaction
gotong provider rotate-key  new HPKE key on-chain; the old one still opens requests for an hour`;

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
    key: { type: "string" },
    deployment: { type: "string" },
    "redeem-interval": { type: "string" },
    upstream: { type: "string" },
    "upstream-model": { type: "string" },
  }, false);
  if (!values.model) throw new GotongError("--model FILE.gguf is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const key = ctx.key("provider", values.key);
  if (deployment.chainId === 31337) {
    await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: BigInt(deployment.minStake) * 2n });
  }
  const d = deployment.token.decimals;
  const unit = 10n ** BigInt(d);
  const provider = await startProvider({
    home: ctx.home,
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
    ? JSON.stringify({ url: provider.url, address: provider.address, modelId: provider.model.modelId.toString(), threads: provider.threads }) + "\n"
    : `provider ${provider.address} serving "${provider.model.name}" at ${provider.url} (threads ${provider.threads})\n`);
  await untilStopped();
  await provider.redeemer.redeemNow().catch(() => {});
  await provider.stop();
}

async function redeem(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const key = ctx.key("provider", values.key);
  const clients = ctx.clients(deployment, key);
  const store = createProviderStore(join(ctx.home.provider, `provider-${clients.account.address.toLowerCase()}.db`));
  const redeemer = createRedeemer({ clients, paymentChannels: deployment.paymentChannels, store, logger: ctx.logger });
  const result = await redeemer.redeemNow();
  store.close();
  process.stdout.write(values.json
    ? JSON.stringify({ transactionHash: result.transactionHash ?? null, channels: result.channels, amount: result.amount.toString() }) + "\n"
    : result.transactionHash ? `redeemed ${result.amount} base units from ${result.channels} channel(s) in ${result.transactionHash}\n` : "nothing to redeem\n");
}

async function rotateKey(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("provider", values.key));
  const result = await rotateProviderKey(clients, deployment, ctx.home.keys);
  process.stdout.write(values.json ? JSON.stringify(result) + "\n" : `new HPKE key ${result.publicKey} registered in ${result.transactionHash}\n`);
}
