import { existsSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, type Address } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { privateKeyToAccount } from "viem/accounts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import { bigintAsString } from "../../common/bigintJson.ts";
import { GotongError } from "../../common/errors.ts";
import { loadOrCreateKey, readKey } from "../../common/keys.ts";
import { readLockOwner } from "../../common/lockState.ts";
import { formatUnits } from "../../payments/price.ts";
import { createValidatorStore } from "../../validator/createValidatorStore.ts";
import { readValidatorStatus } from "../../validator/readValidatorStatus.ts";
import { servingVerificationOf } from "../../validator/servingVerificationOf.ts";
import { startValidator, validatorLockPath, validatorStorePath } from "../../validator/startValidator.ts";
import { ServingVerificationArtifact } from "../../chain/contracts.generated.ts";
import { context, integer, parse, tokens, untilStopped } from "../shared.ts";
import { parseTolerance } from "../parseTolerance.ts";

const startHelp = `gotong validator start --model FILE.gguf [--model FILE2.gguf …] [options]

  Re-runs evidence of what providers served on the weights registered for it, and votes:
  serves POST /gotong/validate (evidence JSON in, a signed verdict out) for gateways, attests the
  challenges it found honest on-chain in batches, and commits, reveals and finalizes its vote on
  every case ServingVerification draws it in. Registers with stake on first start.
  --model FILE            a GGUF to validate, hashed and checked against ModelRegistry (repeatable)
  --port N                listen port (default 8701)   --host H (default 127.0.0.1)
  --endpoint URL          public URL registered on-chain (default http://host:port)
  --stake T               stake in tokens when registering (default the contract's minimum)
  --threads N             CPU threads per re-run (default 1)
  --tolerance LOGITS      how far below this validator's top token a provider's token may fall and
                          still agree (default 0.02, measured on CPU; raise it only for providers on
                          other numerics, e.g. GPUs, after measuring)
  --attest-min N          attest a provider's passes on-chain (one attestPasses, ~43,000 gas) once N
                          are pending (default 50) ...
  --attest-max-age S      ... or once the oldest is S seconds old (default 86400); passes not yet due
                          are kept on disk across restarts
  --attest-interval S     seconds between looks for passes due (default 600)
  --key FILE              validator key (default GOTONG_HOME/keys/validator.key)
  --deployment FILE       contracts to use (default GOTONG_HOME/chain/deployment.json)
  --blind-vote fraud|honest   TESTS ONLY: vote without running any model (a lazy validator)`;

const statusHelp = `gotong validator status [--key FILE] [--json]

  The validator's stake, record (votes with and against the quorum, cases missed), earnings,
  open cases, and this machine's votes and passes not yet attested.
  --key FILE         validator key (default GOTONG_HOME/keys/validator.key)
  --deployment FILE  contracts to use (default GOTONG_HOME/chain/deployment.json)
  --json             machine-readable output; amounts as decimal strings of token base units`;

const registerHelp = `gotong validator register [--stake T] [--key FILE] [--json]

  Registers the key as a validator with stake (approve and registerValidator), without serving.
  \`gotong validator start\` does this itself; this is for staking ahead of time.
  --stake T          stake in tokens (default the contract's minimum)
  --key FILE         validator key (default GOTONG_HOME/keys/validator.key)
  --deployment FILE  contracts to use (default GOTONG_HOME/chain/deployment.json)`;

const subcommandHelp: Record<string, string> = { start: startHelp, status: statusHelp, register: registerHelp };

export const help = (() => {
  const sub = process.argv.slice(3).find((a) => !a.startsWith("-"));
  return sub && subcommandHelp[sub] ? subcommandHelp[sub]! : `${startHelp}\n\n${registerHelp}\n\n${statusHelp}`;
})();

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "start") return start(rest);
  if (sub === "register") return register(rest);
  if (sub === "status") return status(rest);
  throw new GotongError(`Unknown validator command "${sub ?? ""}"`, { code: "invalid_arguments", hint: "gotong validator start|register|status (each takes --help)" });
}

async function start(args: string[]) {
  const { values } = parse(args, {
    model: { type: "string", multiple: true },
    port: { type: "string" },
    host: { type: "string" },
    endpoint: { type: "string" },
    stake: { type: "string" },
    threads: { type: "string" },
    tolerance: { type: "string" },
    "attest-interval": { type: "string" },
    "attest-min": { type: "string" },
    "attest-max-age": { type: "string" },
    key: { type: "string" },
    deployment: { type: "string" },
    "blind-vote": { type: "string" },
  }, false);
  const blindVote = values["blind-vote"];
  const tolerance = parseTolerance(values.tolerance);
  if (blindVote !== undefined && blindVote !== "fraud" && blindVote !== "honest") {
    throw new GotongError(`--blind-vote must be "fraud" or "honest", not "${blindVote}"`, { code: "invalid_arguments", hint: startHelp });
  }
  if (!values.model?.length && !blindVote) throw new GotongError("--model FILE.gguf is required (the weights to validate)", { code: "invalid_arguments", hint: startHelp });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const key = values.key ? readKey(values.key) : loadOrCreateKey(ctx.home.keys, "validator");
  if (deployment.chainId === 31337) await fundForStake(ctx, deployment, privateKeyToAccount(key).address);
  const validator = await startValidator({
    home: ctx.home,
    deployment,
    privateKey: key,
    modelPaths: values.model ?? [],
    port: integer(values.port, "port"),
    host: values.host,
    publicUrl: values.endpoint,
    stake: values.stake ? tokens(values.stake, deployment.token.decimals, 0n) : undefined,
    threads: integer(values.threads, "threads"),
    tolerance,
    attestIntervalMs: values["attest-interval"] ? integer(values["attest-interval"], "attest-interval")! * 1000 : undefined,
    attestMinPasses: integer(values["attest-min"], "attest-min"),
    attestMaxAgeMs: values["attest-max-age"] ? integer(values["attest-max-age"], "attest-max-age")! * 1000 : undefined,
    blindVote,
    logger: ctx.logger,
  });
  process.stdout.write(values.json
    ? JSON.stringify({ url: validator.url, address: validator.address, servingVerification: validator.servingVerification }) + "\n"
    : `validator ${validator.address} at ${validator.url}\n`);
  await untilStopped();
  await validator.stop();
}

/** The devnet's faucet: gas, and tokens for twice the validator minimum, as a provider gets for its own. */
async function fundForStake(ctx: ReturnType<typeof context>, deployment: Deployment, address: Address) {
  const minimum = await ctx.reader(deployment).readContract({ address: servingVerificationOf(deployment), abi: ServingVerificationArtifact.abi, functionName: "minValidatorStake" });
  await fundOnDevnet(deployment, address, { tokens: minimum * 2n });
}

async function register(args: string[]) {
  const { values } = parse(args, { stake: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const key = values.key ? readKey(values.key) : loadOrCreateKey(ctx.home.keys, "validator");
  const clients = ctx.clients(deployment, key);
  const servingVerification = servingVerificationOf(deployment);
  const contract = { address: servingVerification, abi: ServingVerificationArtifact.abi } as const;
  if (deployment.chainId === 31337) await fundForStake(ctx, deployment, clients.account.address);
  const current = await clients.public.readContract({ ...contract, functionName: "getValidator", args: [clients.account.address] });
  if (current.registered) {
    throw new GotongError(`${clients.account.address} is already a validator (stake ${current.stake})`, { code: "invalid_arguments", hint: "`gotong validator status` shows its stake and record." });
  }
  const stake = values.stake ? tokens(values.stake, deployment.token.decimals, 0n) : await clients.public.readContract({ ...contract, functionName: "minValidatorStake" });
  await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [servingVerification, stake] });
  await writeAndWait(clients, { ...contract, functionName: "registerValidator", args: [stake] });
  process.stdout.write(values.json
    ? JSON.stringify({ address: clients.account.address, stake: stake.toString() }) + "\n"
    : `validator ${clients.account.address} registered with ${formatUnits(stake, deployment.token.decimals)} ${deployment.token.symbol} (${stake})\n`);
}

async function status(args: string[]) {
  const { values } = parse(args, { key: { type: "string" }, deployment: { type: "string" } }, false);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const keyPath = values.key ?? join(ctx.home.keys, "validator.key");
  // Reading must not invent a validator: a missing key is refused with where it was looked for.
  if (!existsSync(keyPath)) throw new GotongError(`No validator key at ${keyPath}`, { code: "invalid_key", hint: "Start a validator first (`gotong validator start --model FILE`), or pass --key FILE." });
  const address = privateKeyToAccount(readKey(keyPath)).address;
  const storePath = validatorStorePath(ctx.home, address);
  const store = existsSync(storePath) ? createValidatorStore(storePath) : undefined;
  let report;
  try {
    report = await readValidatorStatus(ctx.reader(deployment), deployment, servingVerificationOf(deployment), address, {
      votes: store?.openVotes() ?? [],
      pendingPasses: store?.pendingPasses() ?? [],
    });
  } finally {
    store?.close();
  }
  const running = readLockOwner(validatorLockPath(ctx.home, address));
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...report, running: running ? { pid: running.pid, since: running.since } : null }, bigintAsString, 2) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  const money = (amount: bigint) => `${formatUnits(amount, decimals)} ${symbol} (${amount})`;
  const lines = [
    `validator ${address}${running ? ` (running here, pid ${running.pid})` : ""}`,
    `endpoint   ${report.endpoint || "(none set)"}`,
    `stake      ${report.registered ? money(report.stake) : "(not registered)"}; minimum ${money(report.minStake)}; ${report.active ? "active (drawn for cases)" : "INACTIVE"}${report.unstaking ? `; unstaking ${money(report.unstaking)}` : ""}`,
    `record     agreed ${report.record.agreed}, disagreed ${report.record.disagreed}, missed ${report.record.missed}`,
    `earnings   ${money(report.earnings)}`,
    `open cases ${report.openCases}`,
    ...report.votes.map((v) => `  case ${v.caseId}: voted ${v.fraud ? "fraud" : "honest"} (${v.reason}), ${v.state}; reveal by ${new Date(Number(v.revealDeadline) * 1000).toISOString()}`),
    `passes not yet attested: ${report.pendingPasses.length ? report.pendingPasses.map((p) => `${p.provider} ${p.count} (oldest ${new Date(p.since).toISOString()})`).join(", ") : "none"}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
