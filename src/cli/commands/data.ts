import { randomBytes } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { getAddress, isAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../../common/errors.ts";
import { createProgressBar, type ProgressBar } from "../../common/progress.ts";
import type { DatasetOwner } from "../../data/datasetManifest.ts";
import { createDatasetKey, loadDatasetKey } from "../../data/datasetKey.ts";
import { grantDatasetAccess } from "../../data/grantDatasetAccess.ts";
import { approveDatasetGrant } from "../../data/approveDatasetGrant.ts";
import { assemblePoolGrant } from "../../data/assemblePoolGrant.ts";
import { DATASET_POOL_GRANT_SCHEMA } from "../../data/datasetPoolGrant.ts";
import { findDatasetPool } from "../../data/readDatasetPool.ts";
import { requestPoolGrant } from "../../data/requestPoolGrant.ts";
import { listDatasets } from "../../data/listDatasets.ts";
import { openDatasetGrant } from "../../data/openDatasetGrant.ts";
import { publishDataset } from "../../data/publishDataset.ts";
import { readRegisteredDataset } from "../../data/readRegisteredDataset.ts";
import { loadDatasetManifest } from "../../data/loadDatasetManifest.ts";
import { sealDatasetFolder } from "../../data/sealDatasetFolder.ts";
import { verifyDataset, type DatasetCheck } from "../../data/verifyDataset.ts";
import { withdrawDatasetEarnings } from "../../data/withdrawDatasetEarnings.ts";
import { claimPoolShare } from "../../data/claimPoolShare.ts";
import { hashModelFiles } from "../../model/hashModelFiles.ts";
import { listModelFiles } from "../../model/listModelFiles.ts";
import { computeWeightsHash } from "../../model/computeWeightsHash.ts";
import { loadOrCreateHpkeKey } from "../../privacy/loadOrCreateHpkeKey.ts";
import { formatUnits } from "../../payments/price.ts";
import { context, parse } from "../shared.ts";

export const help = `gotong data publish PATH [--name NAME] [--version 1.0.0] [--license SPDX] [--owner ADDRESS:BPS]...
                         [--seal OUT_DIR] [--manifest FILE] [--key FILE] [--deployment FILE] [--json]
    Hashes the dataset's files like a model folder, signs a manifest (EIP-712: licence, owners and
    their shares) and registers the dataset on the DatasetRegistry, minting its token to you.
    --owner (repeatable, shares adding up to 10000 bps): the contributors and their shares.
    --seal OUT_DIR: seal every file with a new dataset key into OUT_DIR (ChaCha20-Poly1305); the
    sealed files are what is signed and shared, the key stays in GOTONG_HOME/datasets/keys.
    --manifest FILE: publish a manifest signed elsewhere; refused unless --key signed it and PATH's
    files hash to it.
gotong data verify ID [--path DIR] [--manifest FILE] [--deployment FILE] [--json]
    Checks a dataset: registry entry, signed manifest (its hash is the registry's), signature (must
    be the registrant's), and with --path every file's size and sha256. Exits 1 if anything fails.
gotong data grant ID --to X25519_PUBLIC_KEY [--at-block N] [--out FILE] [--key FILE] [--deployment FILE]
    Seals a sealed dataset's key to a trainer's X25519 public key with HPKE, after checking on-chain
    that --key owns the dataset; writes the signed grant (JSON) to --out or stdout.
    For a dataset owned by a data pool, --key is the key holder (the one with the dataset key) and
    this writes a grant request instead: the pool's holders approve it (approve-grant) and
    it becomes a grant once holders of more than half the shares at block --at-block (default: the
    latest) have. Keep the request: approvals are of its sealed key only.
gotong data grant --request REQUEST_FILE --approvals FILE|DIR... [--out FILE] [--deployment FILE] [--json]
    Puts the holders' approvals (files, or folders of *.json) into the request and writes the grant,
    after counting on-chain that the approvers held more than half the pool's shares at its block.
gotong data approve-grant REQUEST_FILE [--out FILE] [--key FILE] [--deployment FILE] [--json]
    A pool holder's vote: checks the request (key holder's signature, the pool owns the dataset,
    --key held shares at its block) and signs an approval of exactly this request (recipient,
    sealed key, pool, block); writes the approval (JSON) to --out or stdout.
gotong data open GRANT_FILE [--out KEY_FILE] [--deployment FILE]
    The trainer's side: checks the grant's signature and that its granter owns the dataset (for a
    pool's dataset: the approvals' majority at the grant's block), and opens the dataset key with
    GOTONG_HOME/keys/trainer-hpke.pem.
gotong data trainer-key          prints this data folder's X25519 public key, to receive grants with
gotong data withdraw ID [--key FILE] [--deployment FILE] [--json]
    Pays what dataset ID earned to you, its token's owner (a data pool collects its own).
gotong data claim ID [--key FILE] [--deployment FILE] [--json]
    For a dataset owned by a data pool: collects what it earned into the pool, then pays you your
    part by the pool shares you held while it arrived.
gotong data list [--owner ADDRESS] [--deployment FILE] [--json]
    Every registered dataset, its owner and the earnings waiting for it.`;

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "publish") return publish(rest);
  if (sub === "verify") return verify(rest);
  if (sub === "grant") return grant(rest);
  if (sub === "approve-grant") return approveGrant(rest);
  if (sub === "open") return open(rest);
  if (sub === "trainer-key") return trainerKey(rest);
  if (sub === "list") return list(rest);
  if (sub === "withdraw") return withdraw(rest);
  if (sub === "claim") return claim(rest);
  throw new GotongError(`Unknown data command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
}

async function publish(args: string[]) {
  const { values, positionals } = parse(args, {
    name: { type: "string" },
    version: { type: "string" },
    license: { type: "string" },
    owner: { type: "string", multiple: true },
    seal: { type: "string" },
    manifest: { type: "string" },
    key: { type: "string" },
    deployment: { type: "string" },
  });
  const source = positionals[0];
  if (!source) throw new GotongError("A dataset file or folder is required", { code: "invalid_arguments", hint: help });
  if (values.manifest !== undefined && (values.seal !== undefined || values.owner !== undefined || values.name !== undefined || values.license !== undefined)) {
    throw new GotongError("--manifest publishes a manifest as it was signed: it does not go with --seal, --owner, --name or --license", { code: "invalid_arguments", hint: help });
  }
  const owners = values.owner?.map(ownerOf);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  const datasetsDir = join(ctx.home.root, "datasets");
  let path = source;
  if (values.seal !== undefined) {
    // The key is made before the sealed files, and kept under their content hash once they are hashed.
    const key = randomBytes(32);
    await sealDatasetFolder(source, values.seal, key);
    const contentHash = computeWeightsHash(await hashModelFiles((await listModelFiles(values.seal)).files));
    await createDatasetKey(datasetsDir, contentHash, key);
    path = values.seal;
  }
  let bar: ProgressBar | undefined;
  const result = await publishDataset(clients, deployment, {
    path,
    name: values.name,
    version: values.version,
    license: values.license,
    owners,
    sealed: values.seal !== undefined,
    signedManifestFile: values.manifest,
    datasetsDir,
    onProgress: (done, total) => {
      if (values.json || total === 0) return;
      bar ??= createProgressBar("sha256", total);
      bar.update(done, total);
    },
  });
  bar?.done();
  const m = result.manifest;
  if (values.json) {
    process.stdout.write(JSON.stringify({ datasetId: result.datasetId.toString(), name: m.name, contentHash: m.contentHash, manifestHash: result.manifestHash, manifestURI: result.manifestURI, manifestPath: result.manifestPath, owner: result.owner, owners: m.owners, sealed: m.sealed, files: m.files.length, transactionHash: result.transactionHash }) + "\n");
    return;
  }
  const lines = [`published dataset "${m.name}" ${m.version} as dataset #${result.datasetId}`, `  content   ${m.contentHash}`, `  manifest  ${result.manifestHash}`, `  ${m.files.length} file(s), licence ${m.license}${m.sealed ? ", sealed (grant its key with `gotong data grant`)" : ""}`];
  for (const o of m.owners) lines.push(`  owner     ${o.address} ${o.shareBps} bps`);
  lines.push(`  stored    ${result.manifestPath}`);
  process.stdout.write(lines.join("\n") + "\n");
}

async function verify(args: string[]) {
  const { values, positionals } = parse(args, { path: { type: "string" }, manifest: { type: "string" }, deployment: { type: "string" } });
  const datasetId = datasetIdOf(positionals[0]);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const checks: DatasetCheck[] = [];
  try {
    const { entry, signed } = await verifyDataset(ctx.reader(deployment), deployment, {
      datasetId,
      path: values.path,
      manifestFile: values.manifest,
      datasetsDir: join(ctx.home.root, "datasets"),
      onCheck: (check) => {
        checks.push(check);
        if (!values.json) process.stdout.write(`${check.ok ? "✓" : "✗"} ${check.name.padEnd(16)} ${check.detail}\n`);
      },
    });
    process.stdout.write(values.json ? JSON.stringify({ ok: true, datasetId: datasetId.toString(), owner: entry.owner, creator: signed.manifest.creator, checks: checks.map(plain) }) + "\n" : `dataset #${datasetId} "${signed.manifest.name}" verified\n`);
  } catch (error) {
    if (values.json) process.stdout.write(JSON.stringify({ ok: false, checks: checks.map(plain) }) + "\n");
    throw error;
  }
}

async function grant(args: string[]) {
  const { values, positionals } = parse(args, { to: { type: "string" }, "at-block": { type: "string" }, request: { type: "string" }, approvals: { type: "string", multiple: true }, out: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } });
  if (values.request !== undefined || values.approvals !== undefined) return assembleGrant(values, positionals);
  const datasetId = datasetIdOf(positionals[0]);
  if (values.to === undefined) throw new GotongError("--to X25519_PUBLIC_KEY is required", { code: "invalid_arguments", hint: "The trainer prints its key with `gotong data trainer-key`." });
  if (values["at-block"] !== undefined && !/^\d+$/.test(values["at-block"])) throw new GotongError(`--at-block must be a block number, not "${values["at-block"]}"`, { code: "invalid_arguments" });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const reader = ctx.reader(deployment);
  const account = privateKeyToAccount(ctx.key("creator", values.key));
  const datasetsDir = join(ctx.home.root, "datasets");
  const entry = await readRegisteredDataset(reader, deployment, datasetId);
  const signed = await loadDatasetManifest(datasetsDir, entry.manifestHash);
  const datasetKey = await loadDatasetKey(datasetsDir, signed.manifest.contentHash);
  const pool = await findDatasetPool(reader, deployment, datasetId);
  if (pool === undefined && values["at-block"] !== undefined) throw new GotongError("--at-block is for a dataset owned by a data pool: this one has a single owner", { code: "invalid_arguments" });
  const options = { datasetId, recipientPublicKey: values.to, datasetKey };
  const result = pool === undefined ? await grantDatasetAccess(reader, deployment, account, options) : await requestPoolGrant(reader, deployment, account, { ...options, atBlock: values["at-block"] === undefined ? undefined : BigInt(values["at-block"]) });
  const text = JSON.stringify(result, null, 2) + "\n";
  if (values.out === undefined) {
    process.stdout.write(text);
    return;
  }
  await writeFile(values.out, text, { mode: 0o600 });
  if (result.schema === DATASET_POOL_GRANT_SCHEMA) {
    process.stdout.write(
      values.json
        ? JSON.stringify({ datasetId: datasetId.toString(), to: result.recipientPublicKey, out: values.out, request: true, pool: result.pool, atBlock: result.atBlock }) + "\n"
        : `wrote a grant request of dataset #${datasetId} to ${result.recipientPublicKey}, for pool ${result.pool}'s holders to approve at block ${result.atBlock}: ${values.out}\n` +
            `  each holder runs: gotong data approve-grant ${values.out} --out APPROVAL.json\n  then: gotong data grant --request ${values.out} --approvals APPROVAL.json... --out GRANT.json\n`,
    );
    return;
  }
  process.stdout.write(values.json ? JSON.stringify({ datasetId: datasetId.toString(), to: result.recipientPublicKey, out: values.out }) + "\n" : `granted dataset #${datasetId} to ${result.recipientPublicKey}: ${values.out}\n`);
}

/** `gotong data grant --request FILE --approvals FILE|DIR...`: a pool grant from its request and approvals. */
async function assembleGrant(values: { request?: string; approvals?: string[]; to?: string; "at-block"?: string; out?: string; deployment?: string; json?: boolean; home?: string; verbose?: boolean }, positionals: string[]) {
  if (values.request === undefined || values.approvals === undefined) throw new GotongError("--request REQUEST_FILE and --approvals FILE... go together", { code: "invalid_arguments", hint: help });
  if (values.to !== undefined || values["at-block"] !== undefined) throw new GotongError("--to and --at-block are the request's: they do not go with --request", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const request = await readJson(values.request, "grant request");
  // `--approvals a.json b.json`: the shell's list after the flag arrives as positionals.
  const files = await approvalFiles([...values.approvals, ...positionals]);
  const approvals = await Promise.all(files.map((file) => readJson(file, "approval")));
  const { grant: result, tally } = await assemblePoolGrant(ctx.reader(deployment), deployment, request, approvals);
  const text = JSON.stringify(result, null, 2) + "\n";
  if (values.out === undefined) {
    process.stdout.write(text);
    return;
  }
  await writeFile(values.out, text, { mode: 0o600 });
  process.stdout.write(
    values.json
      ? JSON.stringify({ datasetId: result.datasetId, to: result.recipientPublicKey, out: values.out, pool: result.pool, atBlock: result.atBlock, approved: tally.approved.toString(), totalSupply: tally.totalSupply.toString(), holders: tally.holders }) + "\n"
      : `granted dataset #${result.datasetId} to ${result.recipientPublicKey}, approved by ${tally.holders.length} holder(s) with ${tally.approved} of ${tally.totalSupply} shares at block ${tally.atBlock}: ${values.out}\n`,
  );
}

async function approveGrant(args: string[]) {
  const { values, positionals } = parse(args, { out: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } });
  if (positionals[0] === undefined) throw new GotongError("A grant request file is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const request = await readJson(positionals[0], "grant request");
  const approval = await approveDatasetGrant(ctx.reader(deployment), deployment, privateKeyToAccount(ctx.key("creator", values.key)), request);
  const text = JSON.stringify(approval, null, 2) + "\n";
  if (values.out === undefined) {
    process.stdout.write(text);
    return;
  }
  await writeFile(values.out, text);
  process.stdout.write(
    values.json
      ? JSON.stringify({ datasetId: approval.datasetId, holder: approval.holder, to: approval.recipientPublicKey, atBlock: approval.atBlock, out: values.out }) + "\n"
      : `${approval.holder} approved the grant of dataset #${approval.datasetId} to ${approval.recipientPublicKey} (shares counted at block ${approval.atBlock}): ${values.out}\n`,
  );
}

/** Approval files from --approvals: files as given, folders as their *.json files, in name order. */
async function approvalFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((cause) => {
      throw new GotongError(`--approvals ${path} cannot be read`, { code: "invalid_arguments", cause });
    });
    if (!info.isDirectory()) files.push(path);
    else for (const name of (await readdir(path)).filter((n) => n.endsWith(".json")).sort()) files.push(join(path, name));
  }
  if (files.length === 0) throw new GotongError("--approvals names no approval file", { code: "invalid_arguments", hint: "Each holder writes one with `gotong data approve-grant REQUEST --out FILE`." });
  return files;
}

/** A JSON file the user passed, or `dataset_grant_invalid` naming it. */
async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new GotongError(`${path} is not a readable JSON ${what}`, { code: "dataset_grant_invalid", cause });
  }
}

async function open(args: string[]) {
  const { values, positionals } = parse(args, { out: { type: "string" }, deployment: { type: "string" } });
  if (positionals[0] === undefined) throw new GotongError("A grant file is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(positionals[0], "utf8"));
  } catch (cause) {
    throw new GotongError(`${positionals[0]} is not a readable JSON grant`, { code: "dataset_grant_invalid", cause });
  }
  const { datasetKey, grant } = await openDatasetGrant(value, loadOrCreateHpkeKey(ctx.home.keys, "trainer").privateKey, { chain: { client: ctx.reader(deployment), deployment } });
  const hex = Buffer.from(datasetKey).toString("hex");
  if (values.out !== undefined) await writeFile(values.out, hex + "\n", { mode: 0o600 });
  const by = grant.schema === DATASET_POOL_GRANT_SCHEMA ? `${grant.granter} with the approval of pool ${grant.pool}'s holders` : grant.granter;
  process.stdout.write(values.out !== undefined ? `opened the key of dataset #${grant.datasetId}, granted by ${by}: ${values.out}\n` : hex + "\n");
}

async function trainerKey(args: string[]) {
  const { values } = parse(args, {});
  const ctx = context(values);
  const { publicKey } = loadOrCreateHpkeKey(ctx.home.keys, "trainer");
  process.stdout.write(values.json ? JSON.stringify({ publicKey }) + "\n" : publicKey + "\n");
}

async function list(args: string[]) {
  const { values } = parse(args, { owner: { type: "string" }, deployment: { type: "string" } });
  if (values.owner !== undefined && !isAddress(values.owner, { strict: false })) throw new GotongError(`"${values.owner}" is not an address`, { code: "invalid_arguments" });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const datasets = await listDatasets(ctx.reader(deployment), deployment, { owner: values.owner === undefined ? undefined : getAddress(values.owner) });
  if (values.json) {
    process.stdout.write(JSON.stringify(datasets.map((d) => ({ ...d, datasetId: d.datasetId.toString(), withdrawable: d.withdrawable.toString() })), null, 2) + "\n");
    return;
  }
  const { decimals, symbol } = deployment.token;
  if (datasets.length === 0) process.stdout.write("no datasets registered\n");
  for (const d of datasets) process.stdout.write(`#${d.datasetId} "${d.name}" owned by ${d.owner}; earnings waiting ${formatUnits(d.withdrawable, decimals)} ${symbol} (${d.withdrawable})\n`);
}

async function withdraw(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const datasetId = datasetIdOf(positionals[0]);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  const w = await withdrawDatasetEarnings(clients, deployment, datasetId);
  const { decimals, symbol } = deployment.token;
  process.stdout.write(
    values.json
      ? JSON.stringify({ datasetId: datasetId.toString(), amount: w.amount.toString(), to: w.to, transactionHash: w.transactionHash }) + "\n"
      : `withdrew ${formatUnits(w.amount, decimals)} ${symbol} (${w.amount}) of dataset #${datasetId}'s earnings to ${w.to} (tx ${w.transactionHash})\n`,
  );
}

async function claim(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const datasetId = datasetIdOf(positionals[0]);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const c = await claimPoolShare(ctx.clients(deployment, ctx.key("creator", values.key)), deployment, datasetId);
  const { decimals, symbol } = deployment.token;
  process.stdout.write(
    values.json
      ? JSON.stringify({ datasetId: datasetId.toString(), pool: c.pool, collected: c.collected.toString(), amount: c.amount.toString(), transactionHash: c.transactionHash }) + "\n"
      : `claimed ${formatUnits(c.amount, decimals)} ${symbol} (${c.amount}) from the pool of dataset #${datasetId} (tx ${c.transactionHash})\n`,
  );
}

/** A dataset id from the command line. */
function datasetIdOf(text: string | undefined): bigint {
  if (text === undefined || !/^\d+$/.test(text) || BigInt(text) === 0n) throw new GotongError(`${text === undefined ? "A dataset ID is required" : `"${text}" is not a dataset id`}`, { code: "invalid_arguments", hint: "Dataset ids are whole numbers from 1; `gotong data list` shows them." });
  return BigInt(text);
}

/** `ADDRESS:BPS` from --owner. */
function ownerOf(text: string): DatasetOwner {
  const [address, bps] = text.split(":");
  if (address === undefined || bps === undefined || !isAddress(address, { strict: false }) || !/^\d{1,5}$/.test(bps)) {
    throw new GotongError(`--owner "${text.slice(0, 80)}" is not ADDRESS:BPS`, { code: "invalid_arguments", hint: "For example --owner 0xabc…:5000 gives that contributor half of what the dataset earns." });
  }
  return { address: getAddress(address), shareBps: Number(bps) };
}

/** A check without its error object, for JSON output. */
function plain({ name, ok, detail }: DatasetCheck) {
  return { name, ok, detail };
}
