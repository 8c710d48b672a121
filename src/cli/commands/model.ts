import { basename, join } from "node:path";
import { GotongError } from "../../common/errors.ts";
import { createProgressBar, type ProgressBar } from "../../common/progress.ts";
import { inspectModelFile } from "../../model/inspectModelFile.ts";
import { publishModel } from "../../model/publishModel.ts";
import { pullModel } from "../../model/pullModel.ts";
import { verifyModel, type ModelCheck } from "../../model/verifyModel.ts";
import { context, integer, parse } from "../shared.ts";

export const help = `gotong model pull URL [--sha256 HEX] [--out FILE]    download a GGUF (resumes, verifies)
gotong model publish PATH [--name NAME] [--version 1.0.0] [--license SPDX] [--royalty-bps 1000]
                          [--architecture ARCH] [--key FILE] [--deployment FILE]
    PATH is a .gguf or .safetensors file, or a folder of shards (with config.json, tokenizer.json…).
    Checks every file, signs a manifest (EIP-712) and registers the model; prints its id and hashes.
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
  });
  const path = positionals[0];
  if (!path) throw new GotongError("A model file or folder is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  const abort = cancelOnSigint("Publishing cancelled; nothing was registered");
  let bar: ProgressBar | undefined;
  const result = await publishModel(clients, deployment, {
    path,
    name: values.name,
    version: values.version,
    royaltyBps: integer(values["royalty-bps"], "royalty-bps", 1000)!,
    license: values.license,
    architecture: values.architecture,
    manifestsDir: ctx.home.manifests,
    signal: abort.signal,
    onProgress: (done, total) => {
      bar ??= createProgressBar("sha256", total);
      bar.update(done, total);
    },
  });
  bar?.done();
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
        transactionHash: result.transactionHash ?? null,
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
