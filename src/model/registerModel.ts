import { basename } from "node:path";
import { stat, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { detectModelFormat } from "./detectModelFormat.ts";
import { hashFile } from "./hashFile.ts";
import { readGgufHeader } from "./readGgufHeader.ts";
import { sha256Hex } from "./sha256Hex.ts";

export type RegisterModelOptions = {
  path: string;
  /** Name clients ask for (`model` in the OpenAI API). Default: the file name without `.gguf`. */
  name?: string;
  /** Creator's royalty on every paid request, basis points (1000 = 10%). */
  royaltyBps: number;
  /** SPDX licence id. */
  license?: string;
  /** Folder where the manifest is kept, content-addressed. */
  manifestsDir: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
};

/**
 * Registers a GGUF model on-chain: hashes the weights, reads the architecture from the header,
 * writes a manifest (kept content-addressed), and mints the model's token to the creator.
 * Returns the existing entry when these exact weights are already registered.
 */
export async function registerModel(clients: ChainClients, deployment: Deployment, options: RegisterModelOptions) {
  const format = await detectModelFormat(options.path);
  if (format !== "gguf") throw new GotongError(`Only GGUF models can be served by the embedded engine (found ${format})`, { code: "model_format_unsupported" });
  const header = await readGgufHeader(options.path);
  const { size } = await stat(options.path);
  const sha256 = await hashFile(options.path, { onProgress: (d, t) => options.onProgress?.(Number(d), Number(t)), signal: options.signal });
  const weightsHash = `0x${sha256}` as Hex;
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const existing = (await clients.public.readContract({ ...registry, functionName: "modelIdOfWeights", args: [weightsHash] })) as bigint;
  const name = options.name ?? basename(options.path).replace(/\.gguf$/i, "");
  if (existing !== 0n) return { modelId: existing, weightsHash, name, created: false };
  const manifest = {
    name,
    format,
    architecture: header.architecture ?? null,
    parameterCount: header.parameterCount ?? null,
    contextLength: header.contextLength ?? null,
    files: [{ path: basename(options.path), sha256, size }],
    license: options.license ?? null,
    royaltyBps: options.royaltyBps,
    creator: clients.account.address,
  };
  const manifestJson = JSON.stringify(manifest);
  const manifestHash = `0x${sha256Hex(manifestJson)}` as Hex;
  await mkdir(options.manifestsDir, { recursive: true });
  await writeFile(join(options.manifestsDir, `${manifestHash.slice(2)}.json`), manifestJson);
  const { result } = await writeAndWait(clients, {
    ...registry,
    functionName: "register",
    args: [name, weightsHash, manifestHash, `gotong:manifest:${manifestHash}`, options.royaltyBps],
  });
  return { modelId: result as bigint, weightsHash, name, created: true };
}
