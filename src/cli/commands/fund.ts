import { isAddress, type Address, type Hex } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { GotongError } from "../../common/errors.ts";
import { formatUnits } from "../../payments/price.ts";
import { applyToRound } from "../../funding/applyToRound.ts";
import { attest } from "../../funding/attest.ts";
import { chainTime } from "../../funding/chainTime.ts";
import { claimMatch } from "../../funding/claimMatch.ts";
import { collectProtocolFees } from "../../funding/collectProtocolFees.ts";
import { createRound } from "../../funding/createRound.ts";
import { donate } from "../../funding/donate.ts";
import { finalizeRound } from "../../funding/finalizeRound.ts";
import { fundingContract } from "../../funding/fundingContract.ts";
import { fundingErrorHint } from "../../funding/fundingErrorHint.ts";
import { fundPool } from "../../funding/fundPool.ts";
import { getRoundStatus, type RoundStatus } from "../../funding/getRoundStatus.ts";
import { readRound } from "../../funding/readRound.ts";
import { setProtocolRound } from "../../funding/setProtocolRound.ts";
import { context, integer, parse, tokens } from "../shared.ts";

export const help = `gotong fund round create [options]          start a quadratic-funding round (you operate it)
  --donate-for DURATION     how long donations stay open (default 14d; e.g. 90s, 30m, 12h, 7d)
  --apply-for DURATION      how long applications stay open (default: until donations close)
  --donations-after DURATION  a review period between applications opening and donations opening (default 0)
  --start TIME              unix seconds, ISO date, or +DURATION from now (default now, by the chain's clock)
  --matching-cap-bps N      most one project's match can be, basis points of the pool (default 10000: no cap)
  --usage-weight-bps N      share of the pool matched by paid usage of the models (default 0)
  --donor-cap T             most of one donor's total per project that counts for matching (default none)
  --require-attestation-from ADDR[,ADDR]  donors must be attested by one of these issuers
  --pool T                  add T tokens to the matching pool right away
  --protocol-fees           make it the round the protocol fee feeds (signs with the steward key)
  --steward-key FILE        the steward's key (default GOTONG_HOME/keys/funding-pool.key)
gotong fund round apply ROUND [--model ID]   join as a model you own, or without --model as your address
gotong fund round donate ROUND PROJECT AMOUNT   donate AMOUNT tokens (PROJECT: an id, or model:ID)
gotong fund round fund ROUND AMOUNT          add AMOUNT tokens to the matching pool
gotong fund round status ROUND               donations, donors, usage and live estimated match per project
gotong fund round finalize ROUND             after donations close: count pending usage, fix the pool, compute matches
gotong fund round claim ROUND PROJECT [--to ADDR]  pay a project its donations and match (its owner only)
gotong fund collect                          move protocol fees (of vouchers and x402 payments) into the protocol round's pool (anyone)
gotong fund attest ADDR[,ADDR] [--uid HEX]   as an issuer, attest accounts (same --uid: one person)

Every command takes --key FILE (default GOTONG_HOME/keys/funder.key; apply and claim: creator.key),
--deployment FILE and --json. On the local devnet, accounts get test tokens and gas as needed.`;

export async function run(args: string[]) {
  try {
    await dispatch(args);
  } catch (error) {
    throw fundingErrorHint(error);
  }
}

async function dispatch(args: string[]) {
  const [group, sub, ...rest] = args;
  if (group === "round") {
    if (sub === "create") return create(rest);
    if (sub === "apply") return apply(rest);
    if (sub === "donate") return donateCommand(rest);
    if (sub === "fund") return fundCommand(rest);
    if (sub === "status") return status(rest);
    if (sub === "finalize") return finalize(rest);
    if (sub === "claim") return claim(rest);
    throw new GotongError(`Unknown fund round command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
  }
  if (group === "collect") return collect(args.slice(1));
  if (group === "attest") return attestCommand(args.slice(1));
  throw new GotongError(`Unknown fund command "${group ?? ""}"`, { code: "invalid_arguments", hint: help });
}

const keyOptions = { key: { type: "string" }, deployment: { type: "string" } } as const;

/** The deployment and clients for a command, with gas (and tokens) on the devnet. */
async function setup(values: { home?: string; verbose?: boolean; key?: string; deployment?: string }, role: string, tokensNeeded = 0n) {
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  fundingContract(deployment); // a clear error for a deployment without funding
  const key = ctx.key(role, values.key);
  const clients = ctx.clients(deployment, key);
  if (deployment.chainId === 31337) {
    await fundOnDevnet(deployment, clients.account.address, { tokens: tokensNeeded > 0n ? tokensNeeded : undefined });
  }
  return { ctx, deployment, clients };
}

async function create(args: string[]) {
  const { values } = parse(args, {
    ...keyOptions,
    "donate-for": { type: "string" },
    "apply-for": { type: "string" },
    "donations-after": { type: "string" },
    start: { type: "string" },
    "matching-cap-bps": { type: "string" },
    "usage-weight-bps": { type: "string" },
    "donor-cap": { type: "string" },
    "require-attestation-from": { type: "string" },
    pool: { type: "string" },
    "protocol-fees": { type: "boolean" },
    "steward-key": { type: "string" },
  }, false);
  const probe = context(values).deployment(values.deployment);
  const d = probe.token.decimals;
  const pool = tokens(values.pool, d, 0n);
  const { ctx, deployment, clients } = await setup(values, "funder", pool);
  const now = await chainTime(clients.public);
  const issuers = values["require-attestation-from"] ? addresses(values["require-attestation-from"], "require-attestation-from") : [];
  const roundId = await createRound(clients, deployment, {
    start: values.start ? parseTime(values.start, now) : now,
    donateFor: duration(values["donate-for"], "donate-for"),
    applyFor: duration(values["apply-for"], "apply-for"),
    donationsAfter: duration(values["donations-after"], "donations-after"),
    matchingCapBps: bps(values["matching-cap-bps"], "matching-cap-bps", 10_000),
    usageWeightBps: bps(values["usage-weight-bps"], "usage-weight-bps", 0),
    donorCap: tokens(values["donor-cap"], d, 0n),
    issuers,
  });
  if (values["protocol-fees"]) {
    const stewardKey = ctx.key("funding-pool", values["steward-key"]);
    const steward = ctx.clients(deployment, stewardKey);
    if (deployment.chainId === 31337) await fundOnDevnet(deployment, steward.account.address, {});
    await setProtocolRound(steward, deployment, roundId);
  }
  if (pool > 0n) await fundPool(clients, deployment, { roundId, amount: pool });
  const round = await readRound(clients.public, deployment, roundId);
  const out = {
    roundId: roundId.toString(),
    operator: round.operator,
    token: round.token,
    applicationStart: iso(round.applicationStart),
    applicationEnd: iso(round.applicationEnd),
    donationStart: iso(round.donationStart),
    donationEnd: iso(round.donationEnd),
    protocolFees: values["protocol-fees"] ?? false,
    pool: round.pool.toString(),
  };
  print(values.json, out, [
    `round ${roundId} created (operator ${round.operator})`,
    `  applications ${out.applicationStart} → ${out.applicationEnd}`,
    `  donations    ${out.donationStart} → ${out.donationEnd}`,
    `  pool ${formatUnits(round.pool, d)} ${deployment.token.symbol}${out.protocolFees ? ", fed by the protocol fee" : ""}`,
  ]);
}

async function apply(args: string[]) {
  const { values, positionals } = parse(args, { ...keyOptions, model: { type: "string" } });
  const roundId = id(positionals[0], "ROUND");
  const { deployment, clients } = await setup(values, "creator");
  const modelId = values.model !== undefined ? BigInt(integer(values.model, "model")!) : 0n;
  const projectId = await applyToRound(clients, deployment, { roundId, modelId });
  print(values.json, { roundId: roundId.toString(), projectId: projectId.toString(), modelId: modelId.toString(), applicant: clients.account.address }, [
    `project ${projectId} in round ${roundId}: ${modelId !== 0n ? `model ${modelId}` : clients.account.address}`,
  ]);
}

async function donateCommand(args: string[]) {
  const { values, positionals } = parse(args, keyOptions);
  const roundId = id(positionals[0], "ROUND");
  if (!positionals[1] || !positionals[2]) throw new GotongError("Usage: gotong fund round donate ROUND PROJECT AMOUNT", { code: "invalid_arguments", hint: help });
  const deployment0 = context(values).deployment(values.deployment);
  const amount = positive(tokens(positionals[2], deployment0.token.decimals, 0n), "AMOUNT");
  const { deployment, clients } = await setup(values, "funder", amount);
  const projectId = await resolveProject(clients.public, deployment, roundId, positionals[1]);
  const credited = await donate(clients, deployment, { roundId, projectId, amount });
  print(values.json, { roundId: roundId.toString(), projectId: projectId.toString(), donor: clients.account.address, amount: credited.toString() }, [
    `donated ${formatUnits(credited, deployment.token.decimals)} ${deployment.token.symbol} to project ${projectId} of round ${roundId}`,
  ]);
}

async function fundCommand(args: string[]) {
  const { values, positionals } = parse(args, keyOptions);
  const roundId = id(positionals[0], "ROUND");
  const deployment0 = context(values).deployment(values.deployment);
  const amount = positive(tokens(positionals[1], deployment0.token.decimals, 0n), "AMOUNT");
  const { deployment, clients } = await setup(values, "funder", amount);
  const added = await fundPool(clients, deployment, { roundId, amount });
  const round = await readRound(clients.public, deployment, roundId);
  print(values.json, { roundId: roundId.toString(), added: added.toString(), pool: round.pool.toString() }, [
    `pool of round ${roundId} is now ${formatUnits(round.pool, deployment.token.decimals)} ${deployment.token.symbol}`,
  ]);
}

async function status(args: string[]) {
  const { values, positionals } = parse(args, { deployment: { type: "string" } });
  const roundId = id(positionals[0], "ROUND");
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const s = await getRoundStatus(ctx.reader(deployment), deployment, roundId);
  if (values.json) {
    process.stdout.write(JSON.stringify(statusJson(s)) + "\n");
    return;
  }
  process.stdout.write(renderStatus(s, deployment) + "\n");
}

async function finalize(args: string[]) {
  const { values, positionals } = parse(args, keyOptions);
  const roundId = id(positionals[0], "ROUND");
  const { deployment, clients } = await setup(values, "funder");
  const result = await finalizeRound(clients, deployment, roundId);
  const d = deployment.token.decimals;
  print(values.json, { roundId: roundId.toString(), usageRecorded: result.usageRecorded.toString(), pool: result.pool.toString(), allocated: result.allocated.toString(), unallocated: result.unallocated.toString() }, [
    `round ${roundId} finalized: pool ${formatUnits(result.pool, d)}, matched ${formatUnits(result.allocated, d)}, unallocated ${formatUnits(result.unallocated, d)} ${deployment.token.symbol}`,
    ...(result.usageRecorded > 0n ? [`  counted ${formatUnits(result.usageRecorded, d)} ${deployment.token.symbol} of paid usage first`] : []),
  ]);
}

async function claim(args: string[]) {
  const { values, positionals } = parse(args, { ...keyOptions, to: { type: "string" } });
  const roundId = id(positionals[0], "ROUND");
  if (!positionals[1]) throw new GotongError("Usage: gotong fund round claim ROUND PROJECT [--to ADDR]", { code: "invalid_arguments", hint: help });
  const to = values.to ? addresses(values.to, "to")[0] : undefined;
  const { deployment, clients } = await setup(values, "creator");
  const projectId = await resolveProject(clients.public, deployment, roundId, positionals[1]);
  const paid = await claimMatch(clients, deployment, { roundId, projectId, to });
  print(values.json, { roundId: roundId.toString(), projectId: projectId.toString(), to: to ?? clients.account.address, amount: paid.toString() }, [
    `claimed ${formatUnits(paid, deployment.token.decimals)} ${deployment.token.symbol} for project ${projectId} of round ${roundId}`,
  ]);
}

async function collect(args: string[]) {
  const { values } = parse(args, keyOptions, false);
  const { deployment, clients } = await setup(values, "funder");
  const moved = await collectProtocolFees(clients, deployment);
  print(values.json, { collected: moved.toString() }, [`collected ${formatUnits(moved, deployment.token.decimals)} ${deployment.token.symbol} of protocol fees`]);
}

async function attestCommand(args: string[]) {
  const { values, positionals } = parse(args, { ...keyOptions, uid: { type: "string" }, "expires-at": { type: "string" } });
  if (!positionals[0]) throw new GotongError("Usage: gotong fund attest ADDR[,ADDR] [--uid HEX]", { code: "invalid_arguments", hint: help });
  const subjects = addresses(positionals.join(","), "ADDR");
  if (values.uid !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(values.uid)) {
    throw new GotongError("--uid must be 32 bytes of hex (0x + 64 digits)", { code: "invalid_arguments" });
  }
  const { deployment, clients } = await setup(values, "funder");
  await attest(clients, deployment, { subjects, uid: values.uid as Hex | undefined, expiresAt: values["expires-at"] ? BigInt(integer(values["expires-at"], "expires-at")!) : 0n });
  print(values.json, { issuer: clients.account.address, subjects }, [`${clients.account.address} attested ${subjects.length} account(s)`]);
}

// ------------------------------------------------------------ rendering

/** A status as JSON: bigints as decimal strings, times as ISO dates. */
function statusJson(s: RoundStatus) {
  const r = s.round;
  return {
    roundId: r.roundId.toString(),
    phase: s.phase,
    applicationsOpen: s.applicationsOpen,
    donationsOpen: s.donationsOpen,
    now: iso(s.now),
    operator: r.operator,
    token: r.token,
    applicationStart: iso(r.applicationStart),
    applicationEnd: iso(r.applicationEnd),
    donationStart: iso(r.donationStart),
    donationEnd: iso(r.donationEnd),
    matchingCapBps: r.matchingCapBps,
    usageWeightBps: r.usageWeightBps,
    donorCap: r.donorCap.toString(),
    attestations: r.issuers.length > 0 ? { registry: r.attestations, issuers: r.issuers } : null,
    protocolRound: s.protocolRound,
    pendingProtocolFees: s.pendingProtocolFees.toString(),
    pool: s.pool.toString(),
    estimate: s.estimate,
    donationPool: s.donationPool.toString(),
    usagePool: s.usagePool.toString(),
    donated: s.donated.toString(),
    allocated: s.allocated.toString(),
    unallocated: s.unallocated.toString(),
    projects: s.projects.map((p) => ({
      projectId: p.projectId,
      modelId: p.modelId === 0n ? null : p.modelId.toString(),
      modelName: p.modelName ?? null,
      claimant: p.claimant,
      rejected: p.rejected,
      claimed: p.claimed,
      donated: p.donated.toString(),
      donors: Number(p.donors),
      usage: p.usage.toString(),
      pendingUsage: p.pendingUsage.toString(),
      payers: Number(p.payers),
      donationMatch: p.donationMatch.toString(),
      usageMatch: p.usageMatch.toString(),
      match: p.match.toString(),
      payout: p.payout.toString(),
    })),
  };
}

/** A status as a table for people. */
function renderStatus(s: RoundStatus, deployment: Deployment): string {
  const d = deployment.token.decimals;
  const t = (v: bigint) => formatUnits(v, d);
  const r = s.round;
  const lines = [
    `round ${r.roundId} — ${s.phase}${s.applicationsOpen ? ", applications open" : ""}${s.donationsOpen ? ", donations open" : ""}`,
    `  applications ${iso(r.applicationStart)} → ${iso(r.applicationEnd)}; donations ${iso(r.donationStart)} → ${iso(r.donationEnd)}`,
    `  pool ${t(s.pool)} ${deployment.token.symbol}${s.pendingProtocolFees > 0n ? ` (incl. ${t(s.pendingProtocolFees)} protocol fees not yet collected)` : ""}${s.protocolRound ? ", fed by the protocol fee" : ""}`,
    `  matching: cap ${r.matchingCapBps / 100}% per project, usage weight ${r.usageWeightBps / 100}%${r.donorCap > 0n ? `, donor cap ${t(r.donorCap)}` : ""}${r.issuers.length ? `, donors must be attested by ${r.issuers.join(", ")}` : ""}`,
    `  ${s.estimate ? "estimated (if finalized now)" : "final"}: matched ${t(s.allocated)}, unallocated ${t(s.unallocated)}`,
    "",
    `  ${"project".padEnd(30)} ${"donated".padStart(12)} ${"donors".padStart(6)} ${"usage".padStart(12)} ${"payers".padStart(6)} ${"match:donations".padStart(16)} ${"match:usage".padStart(12)} ${"payout".padStart(12)}`,
  ];
  for (const p of s.projects) {
    const name = p.rejected ? `#${p.projectId} (rejected)` : p.modelId !== 0n ? `#${p.projectId} model ${p.modelId}${p.modelName ? ` ${p.modelName}` : ""}` : `#${p.projectId} ${p.claimant.slice(0, 12)}…`;
    lines.push(
      `  ${(name + (p.claimed ? " ✓claimed" : "")).slice(0, 30).padEnd(30)} ${t(p.donated).padStart(12)} ${String(p.donors).padStart(6)} ${t(p.usage + p.pendingUsage).padStart(12)} ${String(p.payers).padStart(6)} ${t(p.donationMatch).padStart(16)} ${t(p.usageMatch).padStart(12)} ${t(p.payout).padStart(12)}`,
    );
  }
  if (s.projects.length === 0) lines.push("  (no projects yet)");
  return lines.join("\n");
}

/** Writes JSON or lines. */
function print(json: boolean | undefined, value: unknown, lines: string[]): void {
  process.stdout.write(json ? JSON.stringify(value) + "\n" : lines.join("\n") + "\n");
}

// ------------------------------------------------------------ parsing

/** A unix time as an ISO date. */
function iso(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/** A positive id. */
function id(text: string | undefined, name: string): bigint {
  if (!text || !/^\d+$/.test(text) || BigInt(text) === 0n) {
    throw new GotongError(`${name} must be a positive integer${text ? `, not "${text}"` : ""}`, { code: "invalid_arguments", hint: help });
  }
  return BigInt(text);
}

/** Refuses a zero amount with a clear error (amounts cannot be negative: they do not parse). */
function positive(amount: bigint, name: string): bigint {
  if (amount <= 0n) throw new GotongError(`${name} must be above zero`, { code: "invalid_arguments", hint: "Amounts are in whole tokens, e.g. 2.5." });
  return amount;
}

/** A duration: seconds, or a number with s, m, h or d. */
function duration(text: string | undefined, name: string): bigint | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new GotongError(`--${name} must be a duration like 90s, 30m, 12h or 7d, not "${text}"`, { code: "invalid_arguments" });
  const unit = { "": 1n, s: 1n, m: 60n, h: 3_600n, d: 86_400n }[match[2] as "" | "s" | "m" | "h" | "d"];
  const value = BigInt(match[1]!) * unit;
  if (value === 0n) throw new GotongError(`--${name} must be above zero`, { code: "invalid_arguments" });
  return value;
}

/** A time: unix seconds, an ISO date, or +DURATION from `now`. */
function parseTime(text: string, now: bigint): bigint {
  if (text.startsWith("+")) return now + (duration(text.slice(1), "start") ?? 0n);
  if (/^\d+$/.test(text)) return BigInt(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new GotongError(`--start must be unix seconds, an ISO date or +DURATION, not "${text}"`, { code: "invalid_arguments" });
  return BigInt(Math.floor(ms / 1000));
}

/** Basis points, 0..10000. */
function bps(text: string | undefined, name: string, fallback: number): number {
  const value = integer(text, name, fallback)!;
  if (value > 10_000) throw new GotongError(`--${name} must be at most 10000 (100%), not ${value}`, { code: "invalid_arguments" });
  return value;
}

/** Comma-separated addresses. */
function addresses(text: string, name: string): Address[] {
  const list = text.split(",").map((a) => a.trim()).filter(Boolean);
  for (const a of list) {
    if (!isAddress(a)) throw new GotongError(`${name}: "${a}" is not an address`, { code: "invalid_arguments" });
  }
  return list as Address[];
}

/** A project given as its id, or as `model:ID` (the model's project in the round). */
async function resolveProject(client: Parameters<typeof getRoundStatus>[0], deployment: Deployment, roundId: bigint, text: string): Promise<bigint> {
  const model = /^model:(\d+)$/.exec(text);
  if (!model) return id(text, "PROJECT");
  const projectId = await client.readContract({ ...fundingContract(deployment), functionName: "projectIdOfModel", args: [roundId, BigInt(model[1]!)] });
  if (projectId === 0n) throw new GotongError(`Model ${model[1]} has no project in round ${roundId}`, { code: "project_not_found", hint: `Its owner can join with \`gotong fund round apply ${roundId} --model ${model[1]}\`.` });
  return projectId;
}

