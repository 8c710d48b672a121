import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { hashFile } from "../model/hashFile.ts";

/**
 * Finds a GGUF file by its weights hash among the files a validator was given and the GGUFs in a
 * models folder (where `gotong model pull` puts them). Each file is hashed once per size and
 * modification time, so a dispute after the first costs a directory listing, and a model pulled
 * while the validator runs is found on the next dispute.
 *
 * @example const path = await createWeightsLocator({ files: ["m.gguf"], folder: home.models }).find(weightsHash);
 */
export function createWeightsLocator(options: { files: readonly string[]; folder?: string }) {
  const hashes = new Map<string, { key: string; hash: string }>();

  const hashOf = async (path: string): Promise<string | undefined> => {
    let info;
    try {
      info = await stat(path);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const key = `${info.size}:${info.mtimeMs}`;
    const known = hashes.get(path);
    if (known?.key === key) return known.hash;
    const hash = `0x${await hashFile(path)}`;
    hashes.set(path, { key, hash });
    return hash;
  };

  const candidates = async (): Promise<string[]> => {
    const inFolder = options.folder ? await readdir(options.folder).catch(() => [] as string[]) : [];
    return [...options.files, ...inFolder.filter((name) => name.endsWith(".gguf")).map((name) => join(options.folder!, name))];
  };

  return {
    /** The path of a file whose sha256 is `weightsHash`, or undefined when none is at hand. */
    async find(weightsHash: Hex): Promise<string | undefined> {
      for (const path of await candidates()) {
        if ((await hashOf(path)) === weightsHash.toLowerCase()) return path;
      }
      return undefined;
    },
  };
}

export type WeightsLocator = ReturnType<typeof createWeightsLocator>;
