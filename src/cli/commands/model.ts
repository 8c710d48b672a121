import { basename, join } from "node:path";
import { GotongError } from "../../common/errors.ts";
import { createProgressBar } from "../../common/progress.ts";
import { pullModel } from "../../model/pullModel.ts";
import { readGgufHeader } from "../../model/readGgufHeader.ts";
import { registerModel } from "../../model/registerModel.ts";
import { context, integer, parse } from "../shared.ts";

export const help = `gotong model pull URL [--sha256 HEX] [--out FILE]    download a GGUF (resumes, verifies)
gotong model publish FILE.gguf [--name NAME] [--royalty-bps 1000] [--license SPDX] [--key FILE]
gotong model inspect FILE.gguf                                  print what the GGUF header says`;

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "pull") return pull(rest);
  if (sub === "publish") return publish(rest);
  if (sub === "inspect") return inspect(rest);
  throw new GotongError(`Unknown model command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
}

async function pull(args: string[]) {
  const { values, positionals } = parse(args, { sha256: { type: "string" }, out: { type: "string" } });
  const url = positionals[0];
  if (!url) throw new GotongError("A URL is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const name = values.out ?? join(ctx.home.models, basename(new URL(url).pathname) || "model.gguf");
  let bar: ReturnType<typeof createProgressBar> | undefined;
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new GotongError("Download cancelled; run the same command again to resume", { code: "cancelled" })));
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
    "royalty-bps": { type: "string" },
    license: { type: "string" },
    key: { type: "string" },
    deployment: { type: "string" },
  });
  const path = positionals[0];
  if (!path) throw new GotongError("A model file is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const clients = ctx.clients(deployment, ctx.key("creator", values.key));
  const bar = createProgressBar("sha256");
  const result = await registerModel(clients, deployment, {
    path,
    name: values.name,
    royaltyBps: integer(values["royalty-bps"], "royalty-bps", 1000)!,
    license: values.license,
    manifestsDir: join(ctx.home.root, "manifests"),
    onProgress: (done, total) => bar.update(done, total),
  });
  bar.done();
  process.stdout.write(values.json
    ? JSON.stringify({ ...result, modelId: result.modelId.toString() }) + "\n"
    : `${result.created ? "published" : "already registered"}: "${result.name}" model id ${result.modelId}, sha256 ${result.weightsHash.slice(2)}\n`);
}

async function inspect(args: string[]) {
  const { values, positionals } = parse(args, {});
  const path = positionals[0];
  if (!path) throw new GotongError("A model file is required", { code: "invalid_arguments", hint: help });
  const header = await readGgufHeader(path);
  const summary = {
    format: "gguf",
    version: header.version,
    name: header.name ?? null,
    architecture: header.architecture ?? null,
    parameters: header.parameterCount ?? null,
    contextLength: header.contextLength ?? null,
    tensors: header.tensorCount,
    metadataKeys: header.metadataCount,
    fileSize: header.fileSize.toString(),
  };
  process.stdout.write(values.json ? JSON.stringify(summary) + "\n" : Object.entries(summary).map(([k, v]) => `${k.padEnd(14)} ${v}`).join("\n") + "\n");
}
