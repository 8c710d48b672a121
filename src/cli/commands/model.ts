import { basename, join } from "node:path";
import { createInterface } from "node:readline/promises";
import { getAddress, isAddress, type Address } from "viem";
import { GotongError } from "../../common/errors.ts";
import { createProgressBar, type ProgressBar } from "../../common/progress.ts";
import { readModelRoyalties } from "../../earnings/readModelRoyalties.ts";
import { checkRepublishTerms } from "../../model/checkRepublishTerms.ts";
import { describeModelFiles } from "../../model/describeModelFiles.ts";
import { inspectModelFile } from "../../model/inspectModelFile.ts";
import { listModelFiles } from "../../model/listModelFiles.ts";
import { parseLineageOptions } from "../../model/parseLineageOptions.ts";
import { publishModel } from "../../model/publishModel.ts";
import { flowDerivativeRoyalties } from "../../model/flowDerivativeRoyalties.ts";
import { setDerivativeTerms } from "../../model/setDerivativeTerms.ts";
import { readModelLineage } from "../../model/readModelLineage.ts";
import { formatLineage, lineageToJson } from "../../model/formatLineage.ts";
import { resolveParentShares } from "../../model/resolveParentShares.ts";
import { pullModel } from "../../model/pullModel.ts";
import { checkRoyaltyBps } from "../../model/readMaxRoyaltyBps.ts";
import { readRegisteredModel } from "../../model/readRegisteredModel.ts";
import { setModelRoyalty } from "../../model/setModelRoyalty.ts";
import { transferModel } from "../../model/transferModel.ts";
import { verifyModel, type ModelCheck } from "../../model/verifyModel.ts";
import { withdrawModelRoyalties, type RoyaltyWithdrawal } from "../../model/withdrawModelRoyalties.ts";
import { formatUnits } from "../../payments/price.ts";
import { parseDuration } from "../../common/parseDuration.ts";
import { parseRelation } from "../../model/modelRelation.ts";
import { openDerivationDispute } from "../../model/disputes/openDerivationDispute.ts";
import { readDerivationDispute, type DerivationDispute } from "../../model/disputes/readDerivationDispute.ts";
import { finalizeDerivationDispute, waitForDisputeVerdict } from "../../model/disputes/finalizeDerivationDispute.ts";
import { withdrawCourtEarnings } from "../../model/disputes/withdrawCourtEarnings.ts";
import type { Hex } from "viem";
import { context, integer, parse } from "../shared.ts";

export const help = `gotong model pull URL [--sha256 HEX] [--out FILE]    download a GGUF (resumes, verifies)
gotong model publish PATH [--name NAME] [--version 1.0.0] [--license SPDX] [--royalty-bps 1000]
                          [--architecture ARCH] [--key FILE] [--deployment FILE]
                          [--parent ID[:BPS] --relation R]... [--dataset ID:BPS]...
    PATH is a .gguf or .safetensors file, or a folder of shards (with config.json, tokenizer.json…).
    Checks every file (before it needs a chain), signs a manifest (EIP-712) and registers the model
    under --key (default GOTONG_HOME/keys/creator.key); prints its id and hashes.
    --royalty-bps: the owner's share of every paid request, 0 to the registry's MAX_ROYALTY_BPS
    (5000 = 50% on the standard contracts; read from the chain and refused before anything is sent).
    --license: an SPDX expression (default NOASSERTION, "the creator did not say").
    Weights can be registered once: publishing them again with another --name, --license or
    --royalty-bps is refused, saying what differs (see set-royalty).
    --parent ID[:BPS] --relation fine-tune|merge|quantisation|distillation|adapter: the model it was
    made from, paid BPS of this model's royalty (default: the parent's minimum, its owner's terms);
    repeat for a merge. --dataset ID:BPS: a dataset it was trained on, paid likewise. The lineage is
    recorded on-chain for good. A GGUF that plainly is a registered model (same architecture,
    vocabulary, tensor names and shapes, or a general.base_model naming it) must name it; a GGUF's
    fingerprint is registered with it, so this is checked from any machine.
gotong model set-derivative-terms ID BPS [--key FILE] [--deployment FILE] [--json]
    The least share of their royalty that models registered from now on as derivatives of model ID
    must pay it (its licence terms; 0 to 9000 bps).
gotong model lineage ID [--deployment FILE] [--json]
    The model's ancestors and datasets as a tree, with each one's share and what it earned from it.
gotong model dispute open ID --parent YOURS --relation R [--wait] [--timeout 10m] [--key FILE] [--json]
    Claims that model ID is an undeclared derivative of your model YOURS (registered before it:
    a re-upload, quantisation or fine-tune that named no parent). Bonds the court's bond and pays
    its fee (both read from the chain and checked first); three staked validators run both models
    and vote. Derivative: YOURS joins ID's lineage at your derivative terms (set-derivative-terms),
    paid from every royalty that flows from then on, and the bond comes back. Not a derivative:
    the bond goes to ID's owner. --wait follows the votes and prints the verdict.
gotong model dispute status CASE [--json] | gotong model dispute finalize CASE | gotong model dispute withdraw
    A dispute's votes and outcome; decide one whose votes are in (validators do this themselves);
    withdraw what the court owes you (bonds back, fees earned as a validator).
gotong model withdraw ID|--all [--key FILE] [--deployment FILE] [--json]
    Pays the royalties model ID has accrued (or every model you own, with --all) to you, the
    token's owner, and prints the exact amount the contract paid (ModelEarningsWithdrawn).
gotong model transfer ID ADDRESS [--withdraw-first | --yes] [--key FILE] [--deployment FILE] [--json]
    Sends model ID's token (ERC-721 safeTransferFrom) to ADDRESS. Unwithdrawn royalties travel with
    the token (PaymentChannels credits them to the model, not to you): when some are pending it asks
    whether to withdraw them first; without a terminal it refuses unless you pass --withdraw-first
    (withdraw them to you, then transfer) or --yes (transfer them with the token).
gotong model set-royalty ID BPS [--key FILE] [--deployment FILE] [--json]
    Changes the royalty of a model you own, for channels opened from now on (open ones keep theirs).
gotong model verify PATH|ID [--path DIR] [--deployment FILE]
    Checks a registered model: registry entry, signed manifest, signature, deployment, and every
    file's sha256 (PATH, or --path with an ID). An all-digits argument is an id; write ./7 for a path.
    Exits 1 if anything fails.
gotong model inspect FILE                                        print what a GGUF or safetensors header says`;

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "pull") return pull(rest);
  if (sub === "publish") return publish(rest);
  if (sub === "verify") return verify(rest);
  if (sub === "inspect") return inspect(rest);
  if (sub === "withdraw") return withdraw(rest);
  if (sub === "transfer") return transfer(rest);
  if (sub === "set-royalty") return setRoyalty(rest);
  if (sub === "lineage") return lineage(rest);
  if (sub === "set-derivative-terms") return setTerms(rest);
  if (sub === "dispute") return dispute(rest);
  throw new GotongError(`Unknown model command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
}

async function pull(args: string[]) {
  const { values, positionals } = parse(args, { sha256: { type: "string" }, out: { type: "string" } });
  const url = positionals[0];
  if (!url) throw new GotongError("A URL is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const name = values.out ?? join(ctx.home.models, basename(new URL(url).pathname) || "model.gguf");
  let bar: ProgressBar | undefined;
  const abort = cancelOnSigint("Download cancelled; run the same command again to resume");
  const result = await pullModel({
    url,
    destination: name,
    expectedSha256: values.sha256,
    signal: abort.signal,
    onProgress: (done, total) => {
      bar ??= createProgressBar(`pull ${basename(name)}`, total === undefined ? undefined : Number(total));
      bar.update(Number(done));
    },
  });
  bar?.done();
  process.stdout.write(values.json ? JSON.stringify(result) + "\n" : `${result.path}\nsha256 ${result.sha256} (${result.bytes} bytes)\n`);
}

async function publish(args: string[]) {
  const { values, positionals } = parse(args, {
    name: { type: "string" },
    version: { type: "string" },
    "royalty-bps": { type: "string" },
    license: { type: "string" },
    architecture: { type: "string" },
    key: { type: "string" },
    deployment: { type: "string" },
    parent: { type: "string", multiple: true },
    relation: { type: "string", multiple: true },
    dataset: { type: "string", multiple: true },
  });
  const path = positionals[0];
  if (!path) throw new GotongError("A model file or folder is required", { code: "invalid_arguments", hint: help });
  const royaltyBps = integer(values["royalty-bps"], "royalty-bps", 1000)!;
  const lineageOptions = parseLineageOptions(values);
  // The file first: a pickle is refused as a pickle even when no chain is running.
  await describeModelFiles(await listModelFiles(path));
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  // Before minutes of hashing: the registry would refuse it with RoyaltyTooHigh.
  await checkRoyaltyBps(clients.public, deployment, royaltyBps);
  // A parent given without a share pays what its owner's licence asks at least.
  const parents = await resolveParentShares(clients.public, deployment, lineageOptions.parents);
  const abort = cancelOnSigint("Publishing cancelled; nothing was registered");
  let bar: ProgressBar | undefined;
  const result = await publishModel(clients, deployment, {
    path,
    name: values.name,
    version: values.version,
    royaltyBps,
    license: values.license,
    architecture: values.architecture,
    manifestsDir: ctx.home.manifests,
    parents,
    datasets: lineageOptions.datasets,
    signal: abort.signal,
    onProgress: (done, total) => {
      bar ??= createProgressBar("sha256", total);
      bar.update(done, total);
    },
  });
  bar?.done();
  if (!result.created) {
    const registered = await readRegisteredModel(clients.public, deployment, result.modelId);
    checkRepublishTerms(
      { name: values.name, license: values.license, royaltyBps: values["royalty-bps"] === undefined ? undefined : royaltyBps },
      { modelId: result.modelId, name: registered.name, royaltyBps: registered.royaltyBps, license: result.manifest?.license },
    );
  }
  const m = result.manifest;
  if (values.json) {
    process.stdout.write(
      JSON.stringify({
        modelId: result.modelId.toString(),
        created: result.created,
        name: result.name,
        version: m?.version ?? null,
        weightsHash: result.weightsHash,
        manifestHash: result.manifestHash,
        metadataURI: result.metadataURI,
        manifestPath: result.manifestPath ?? null,
        creator: m?.creator ?? clients.account.address,
        format: m?.format ?? null,
        files: m?.files.length ?? null,
        parents: m?.parents ?? [],
        datasets: m?.datasets ?? [],
        transactionHash: result.transactionHash ?? null,
        fingerprintHash: result.fingerprintHash ?? null,
      }) + "\n",
    );
    return;
  }
  const lines = [
    `${result.created ? "published" : "already registered"}: "${result.name}"${m ? ` ${m.version}` : ""} as model #${result.modelId}`,
    `  weights   ${result.weightsHash}`,
    `  manifest  ${result.manifestHash}`,
  ];
  if (m) lines.push(`  ${m.format}, ${m.architecture}, ${m.files.length} file${m.files.length === 1 ? "" : "s"}, licence ${m.license}, royalty ${m.royaltyBps} bps, creator ${m.creator}`);
  for (const p of m?.parents ?? []) lines.push(`  parent    model #${p.modelId} (${p.relation}), paid ${p.shareBps} bps of this model's royalty`);
  for (const d of m?.datasets ?? []) lines.push(`  dataset   #${d.datasetId}, paid ${d.shareBps} bps of this model's royalty`);
  // What lets a re-upload or quantisation of this model be caught from any machine.
  if (result.fingerprintHash) lines.push(`  fingerprint ${result.fingerprintHash} (registered with the model)`);
  if (result.manifestPath) lines.push(`  stored    ${result.manifestPath}`);
  process.stdout.write(lines.join("\n") + "\n");
}

async function verify(args: string[]) {
  const { values, positionals } = parse(args, { path: { type: "string" }, deployment: { type: "string" } });
  const target = positionals[0];
  if (!target) throw new GotongError("A model id or path is required", { code: "invalid_arguments", hint: help });
  const isId = /^\d+$/.test(target);
  if (!isId && values.path !== undefined) throw new GotongError("--path goes with a model id; give the path alone otherwise", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const client = ctx.reader(deployment);
  const abort = cancelOnSigint("Verification cancelled");
  const checks: ModelCheck[] = [];
  let bar: ProgressBar | undefined;
  const print = (check: ModelCheck) => {
    checks.push(check);
    if (values.json) return;
    bar?.done();
    bar = undefined;
    process.stdout.write(`${check.ok ? "✓" : "✗"} ${check.name.padEnd(16)} ${check.detail}\n`);
  };
  try {
    const result = await verifyModel(client, deployment, {
      modelId: isId ? BigInt(target) : undefined,
      path: isId ? values.path : target,
      manifestsDir: ctx.home.manifests,
      signal: abort.signal,
      onCheck: print,
      onProgress: (done, total) => {
        if (total === 0) return;
        bar ??= createProgressBar("sha256", total);
        bar.update(done, total);
      },
    });
    bar?.done();
    process.stdout.write(
      values.json
        ? JSON.stringify({ ok: true, modelId: result.modelId.toString(), manifestHash: result.manifestHash, creator: result.signer, checks: checks.map(plain) }) + "\n"
        : `model #${result.modelId} "${result.manifest.name}" ${result.manifest.version} verified\n`,
    );
  } catch (error) {
    bar?.done();
    if (values.json) process.stdout.write(JSON.stringify({ ok: false, checks: checks.map(plain) }) + "\n");
    throw error;
  }
}

async function inspect(args: string[]) {
  const { values, positionals } = parse(args, {});
  const path = positionals[0];
  if (!path) throw new GotongError("A model file is required", { code: "invalid_arguments", hint: help });
  const summary = await inspectModelFile(path);
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + "\n");
    return;
  }
  const { metadata, tensorTypes, ...rest } = summary;
  const lines = Object.entries(rest).map(([k, v]) => `${k.padEnd(14)} ${v ?? "-"}`);
  lines.push(`${"tensorTypes".padEnd(14)} ${Object.entries(tensorTypes).map(([t, n]) => `${t}×${n}`).join(" ") || "-"}`);
  for (const [k, v] of Object.entries(metadata ?? {})) lines.push(`  ${JSON.stringify(k).slice(0, 100)}: ${JSON.stringify(v).slice(0, 200)}`);
  process.stdout.write(lines.join("\n") + "\n");
}

async function withdraw(args: string[]) {
  const { values, positionals } = parse(args, { all: { type: "boolean" }, key: { type: "string" }, deployment: { type: "string" } });
  if (values.all === (positionals[0] !== undefined)) throw new GotongError("Give one model ID, or --all", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  let ids: bigint[];
  if (values.all) {
    const owned = (await readModelRoyalties(clients.public, deployment, clients.account.address)).filter((m) => m.ownedNow);
    ids = owned.filter((m) => m.withdrawable > 0n).map((m) => m.modelId);
    if (ids.length === 0) {
      throw new GotongError(owned.length === 0 ? `${clients.account.address} owns no models` : `None of the ${owned.length} model(s) ${clients.account.address} owns has royalties to withdraw`, {
        code: "nothing_to_withdraw",
        hint: "`gotong earnings` shows what your models accrued; pass --key FILE for another owner's key.",
      });
    }
  } else {
    ids = [modelIdOf(positionals[0]!)];
  }
  const paid: RoyaltyWithdrawal[] = [];
  // Derivatives' shares reach a model only when their royalties flow: flow them first, so the
  // owner withdraws everything its stack owes it.
  for (const id of ids) {
    await flowDerivativeRoyalties(clients, deployment, id);
    paid.push(await withdrawModelRoyalties(clients, deployment, id));
  }
  const total = paid.reduce((sum, w) => sum + w.amount, 0n);
  if (values.json) {
    process.stdout.write(JSON.stringify({ to: clients.account.address, total: total.toString(), withdrawals: paid.map((w) => ({ modelId: w.modelId.toString(), amount: w.amount.toString(), to: w.to, transactionHash: w.transactionHash })) }, null, 2) + "\n");
    return;
  }
  const money = moneyOf(deployment.token);
  for (const w of paid) process.stdout.write(`withdrew ${money(w.amount)} of royalties of model #${w.modelId} to ${w.to} (tx ${w.transactionHash})\n`);
  if (paid.length > 1) process.stdout.write(`total ${money(total)}\n`);
}

async function transfer(args: string[]) {
  const { values, positionals } = parse(args, { "withdraw-first": { type: "boolean" }, yes: { type: "boolean" }, key: { type: "string" }, deployment: { type: "string" } });
  const [id, recipient] = positionals;
  if (id === undefined || recipient === undefined) throw new GotongError("A model ID and the address to send it to are required", { code: "invalid_arguments", hint: help });
  if (!isAddress(recipient, { strict: false })) throw new GotongError(`"${recipient}" is not an address`, { code: "invalid_arguments", hint: "Give the recipient as a 0x-prefixed 20-byte hex address." });
  if (values["withdraw-first"] && values.yes) throw new GotongError("--withdraw-first and --yes contradict each other", { code: "invalid_arguments", hint: "--withdraw-first keeps the pending royalties; --yes gives them away with the token." });
  const modelId = modelIdOf(id);
  const to: Address = getAddress(recipient);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  const money = moneyOf(deployment.token);
  const mine = (await readModelRoyalties(clients.public, deployment, clients.account.address)).find((m) => m.modelId === modelId && m.ownedNow);
  const pending = mine?.withdrawable ?? 0n;
  const say = (text: string) => process.stderr.write(text + "\n");
  let withdrawFirst = values["withdraw-first"] === true;
  if (pending > 0n && !withdrawFirst && !values.yes) {
    const warning = `Model #${modelId} has ${money(pending)} of unwithdrawn royalties. They travel with the token: after the transfer only ${to} (or whoever owns it then) can withdraw them.`;
    if (!process.stdin.isTTY || values.json) {
      throw new GotongError(warning, {
        code: "royalties_pending",
        hint: `Pass --withdraw-first to withdraw them to you and then transfer, or --yes to transfer them with the token.`,
      });
    }
    say(warning);
    const answer = await ask("Withdraw them to you first? [Y]es / [n]o, transfer them too / [c]ancel: ");
    if (/^c/i.test(answer)) throw new GotongError("Transfer cancelled; nothing was sent", { code: "cancelled" });
    withdrawFirst = !/^n/i.test(answer);
  }
  const withdrawn = withdrawFirst && pending > 0n ? await withdrawModelRoyalties(clients, deployment, modelId) : undefined;
  if (withdrawn && !values.json) say(`withdrew ${money(withdrawn.amount)} of royalties of model #${modelId} to ${withdrawn.to} (tx ${withdrawn.transactionHash})`);
  const { transactionHash } = await transferModel(clients, deployment, modelId, to);
  const travelled = withdrawn ? 0n : pending;
  if (values.json) {
    process.stdout.write(JSON.stringify({ modelId: modelId.toString(), from: clients.account.address, to, transactionHash, withdrawn: withdrawn ? { amount: withdrawn.amount.toString(), transactionHash: withdrawn.transactionHash } : null, royaltiesTransferred: travelled.toString() }, null, 2) + "\n");
    return;
  }
  process.stdout.write(`transferred model #${modelId} to ${to} (tx ${transactionHash})${travelled > 0n ? `, with ${money(travelled)} of unwithdrawn royalties` : ""}\n`);
}

async function setRoyalty(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const [id, bps] = positionals;
  if (id === undefined || bps === undefined) throw new GotongError("A model ID and a royalty in basis points are required", { code: "invalid_arguments", hint: help });
  const modelId = modelIdOf(id);
  const royaltyBps = integer(bps, "royalty-bps")!;
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  const { transactionHash } = await setModelRoyalty(clients, deployment, modelId, royaltyBps);
  process.stdout.write(
    values.json
      ? JSON.stringify({ modelId: modelId.toString(), royaltyBps, transactionHash }) + "\n"
      : `model #${modelId} now asks a royalty of ${royaltyBps} bps (${royaltyBps / 100}%) on channels opened from now on (tx ${transactionHash})\n`,
  );
}

async function setTerms(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const [id, bps] = positionals;
  if (id === undefined || bps === undefined) throw new GotongError("A model ID and a share in basis points are required", { code: "invalid_arguments", hint: help });
  const modelId = modelIdOf(id);
  const minShareBps = integer(bps, "min-share-bps")!;
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { transactionHash } = await setDerivativeTerms(ctx.clients(deployment, ctx.key("creator", values.key)), deployment, modelId, minShareBps);
  process.stdout.write(
    values.json
      ? JSON.stringify({ modelId: modelId.toString(), minShareBps, transactionHash }) + "\n"
      : `derivatives of model #${modelId} registered from now on must pay it at least ${minShareBps} bps of their royalty (tx ${transactionHash})\n`,
  );
}

async function lineage(args: string[]) {
  const { values, positionals } = parse(args, { deployment: { type: "string" } });
  if (positionals[0] === undefined) throw new GotongError("A model ID is required", { code: "invalid_arguments", hint: help });
  const modelId = modelIdOf(positionals[0]);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const tree = await readModelLineage(ctx.reader(deployment), deployment, modelId);
  process.stdout.write(values.json ? JSON.stringify(lineageToJson(tree), null, 2) + "\n" : formatLineage(tree, moneyOf(deployment.token)) + "\n");
}

async function dispute(args: string[]) {
  const [action, ...rest] = args;
  const { values, positionals } = parse(rest, { parent: { type: "string" }, relation: { type: "string" }, wait: { type: "boolean" }, timeout: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const money = moneyOf(deployment.token);
  const show = (d: DerivationDispute) => (values.json ? JSON.stringify(disputeJson(d)) + "\n" : describeDispute(d, money));
  if (action === "open") {
    if (positionals[0] === undefined || values.parent === undefined || values.relation === undefined) {
      throw new GotongError("A model ID, --parent YOURS and --relation are required", { code: "invalid_arguments", hint: "e.g. gotong model dispute open 9 --parent 1 --relation quantisation" });
    }
    const claim = { childId: modelIdOf(positionals[0]), parentId: modelIdOf(values.parent), relation: parseRelation(values.relation) };
    const timeoutMs = 1000 * (values.timeout === undefined ? 600 : (parseDuration(values.timeout, "timeout") ?? 600));
    const clients = ctx.clients(deployment, ctx.key("creator", values.key));
    const opened = await openDerivationDispute(clients, deployment, claim);
    if (!values.wait) return void process.stdout.write(show(opened));
    if (!values.json) process.stderr.write(`dispute ${opened.caseId} opened; waiting for the validators' votes\n`);
    const decided = await waitForDisputeVerdict(clients, deployment, opened.caseId, {
      timeoutMs,
      onProgress: (d) => values.json || process.stderr.write(`  ${d.commits} of 3 committed, ${d.reveals} revealed\n`),
    });
    return void process.stdout.write(show(decided));
  }
  if (action === "status" || action === "finalize") {
    const caseId = positionals[0];
    if (caseId === undefined || !/^0x[0-9a-fA-F]{64}$/.test(caseId)) throw new GotongError(`"${caseId ?? ""}" is not a dispute id`, { code: "invalid_arguments", hint: "A dispute id is the 32-byte hex that `gotong model dispute open` printed." });
    const result = action === "status"
      ? await readDerivationDispute(ctx.reader(deployment), deployment, caseId as Hex)
      : await finalizeDerivationDispute(ctx.clients(deployment, ctx.key("creator", values.key)), deployment, caseId as Hex);
    return void process.stdout.write(show(result));
  }
  if (action === "withdraw") {
    const { amount, transactionHash } = await withdrawCourtEarnings(ctx.clients(deployment, ctx.key("creator", values.key)), deployment);
    return void process.stdout.write(values.json ? JSON.stringify({ amount: amount.toString(), transactionHash }) + "\n" : `withdrew ${money(amount)} from the derivation court (tx ${transactionHash})\n`);
  }
  throw new GotongError(`Unknown dispute command "${action ?? ""}"`, { code: "invalid_arguments", hint: "gotong model dispute open|status|finalize|withdraw" });
}

/** A dispute as JSON: bigints as decimal strings. */
function disputeJson(d: DerivationDispute) {
  return { ...d, childId: d.childId.toString(), parentId: d.parentId.toString(), commitDeadline: d.commitDeadline.toString(), revealDeadline: d.revealDeadline.toString(), bond: d.bond.toString(), fee: d.fee.toString() };
}

/** A dispute in a few lines, for people. */
function describeDispute(d: DerivationDispute, money: (amount: bigint) => string): string {
  const verdict = {
    open: `open: ${d.commits} of 3 validators committed, ${d.reveals} revealed${d.decidable ? " (decidable: `gotong model dispute finalize`)" : ""}`,
    derivative: `decided: a derivative. Model #${d.parentId} is now in #${d.childId}'s lineage at ${d.shareBps} bps of its royalty; the bond is yours again (\`gotong model dispute withdraw\`)`,
    not_derivative: `decided: not a derivative. The bond went to #${d.childId}'s owner`,
    no_quorum: "decided: no quorum (no two validators revealed the same vote). Bond and fee are yours again",
  }[d.outcome];
  return [
    `dispute ${d.caseId}`,
    `  claim   model #${d.childId} is a ${d.relation ?? "derivative"} of #${d.parentId} (${d.shareBps} bps on a derivative verdict)`,
    `  money   bond ${money(d.bond)}, fee ${money(d.fee)}`,
    `  voters  ${d.validators.join(", ")}`,
    `  ${verdict}`,
  ].join("\n") + "\n";
}

/** A model id from the command line. */
function modelIdOf(text: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n) throw new GotongError(`"${text}" is not a model id`, { code: "invalid_arguments", hint: "Model ids are whole numbers from 1; `gotong earnings` lists yours." });
  return BigInt(text);
}

/** Formats base units as "1.5 gUSD (1500000)". */
function moneyOf(token: { decimals: number; symbol: string }) {
  return (amount: bigint) => `${formatUnits(amount, token.decimals)} ${token.symbol} (${amount})`;
}

/** Asks one question on the terminal. */
async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** A check without its error object, for JSON output. */
function plain({ name, ok, detail }: ModelCheck) {
  return { name, ok, detail };
}

/** An AbortSignal that Ctrl-C fires with a clear reason. */
function cancelOnSigint(message: string): AbortController {
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new GotongError(message, { code: "cancelled" })));
  return abort;
}
