import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectModelFormat } from "./detectModelFormat.ts";
import { encodeGguf } from "./encodeGguf.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-format-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (value: string) => new TextEncoder().encode(value);
const bytes = (...parts: (number[] | Uint8Array)[]) => new Uint8Array(parts.flatMap((p) => [...p]));
const file = async (name: string, content: Uint8Array) => {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
};

function safetensors(): Uint8Array {
  const header = text(JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }));
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(header.length), true);
  return bytes(length, header, new Uint8Array(8));
}

/** A zip local file header naming `entry`, as at the start of every PyTorch checkpoint since 1.6. */
function zipWith(entry: string): Uint8Array {
  const name = text(entry);
  const header = new Uint8Array(30);
  header.set([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]);
  new DataView(header.buffer).setUint16(26, name.length, true);
  return bytes(header, name, [0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
}

function npy(descr: string): Uint8Array {
  const dict = text(`{'descr': '${descr}', 'fortran_order': False, 'shape': (3,), }`.padEnd(118) + "\n");
  const head = bytes([0x93], text("NUMPY"), [1, 0], [dict.length & 0xff, dict.length >> 8]);
  return bytes(head, dict, new Uint8Array(24));
}

describe("detectModelFormat", () => {
  it("recognises GGUF and safetensors by content, whatever the name", async () => {
    const gguf = encodeGguf({ metadata: { "general.architecture": "llama" } });
    expect(await detectModelFormat(await file("model.gguf", gguf))).toBe("gguf");
    expect(await detectModelFormat(await file("model.bin", gguf))).toBe("gguf");
    expect(await detectModelFormat(await file("model.safetensors", safetensors()))).toBe("safetensors");
    expect(await detectModelFormat(await file("weights.pt", safetensors()))).toBe("safetensors");
  });

  const pickles: [string, string, () => Uint8Array, RegExp][] = [
    ["raw pickle protocol 2", "model.pkl", () => bytes([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]), /pickle \(protocol 2\)/],
    ["raw pickle protocol 4", "model.gguf", () => bytes([0x80, 0x04, 0x95, 0x00, 0x00, 0x2e]), /pickle \(protocol 4\)/],
    ["raw pickle protocol 5", "model.safetensors", () => bytes([0x80, 0x05, 0x95, 0x00, 0x00, 0x2e]), /pickle \(protocol 5\)/],
    ["raw pickle protocol 3 (old torch.save)", "pytorch_model.bin", () => bytes([0x80, 0x03, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]), /pickle \(protocol 3\)/],
    ["protocol 0 pickle", "model.ckpt", () => text("(dp0\nS'weights'\np1\nI1\ns."), /pickle \(protocol 0 or 1\)/],
    ["PyTorch zip as .bin", "pytorch_model.bin", () => zipWith("archive/data.pkl"), /PyTorch checkpoint.*zip/],
    ["PyTorch zip as .pt", "model.pt", () => zipWith("model/data.pkl"), /zip archive/],
    ["PyTorch zip as .pth", "model.pth", () => zipWith("archive/version"), /zip archive/],
    ["PyTorch zip as .ckpt renamed .gguf", "model.gguf", () => zipWith("archive/data.pkl"), /zip archive/],
    ["7z archive", "model.7z", () => bytes([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04]), /7z archive/],
    ["NumPy object array", "weights.npy", () => npy("|O"), /object dtype/],
    ["gzip archive", "model.tar.gz", () => bytes([0x1f, 0x8b, 0x08, 0x00]), /gzip/],
  ];
  for (const [what, name, content, message] of pickles) {
    it(`refuses ${what}, naming the danger`, async () => {
      const error = await detectModelFormat(await file(name, content())).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "model_format_pickle", status: 415 });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/arbitrary code/);
      expect((error as { hint: string }).hint).toMatch(/safetensors/);
      expect((error as { hint: string }).hint).toMatch(/GGUF/);
    });
  }

  const unknown: [string, () => Uint8Array, RegExp][] = [
    ["a NumPy float array", () => npy("<f4"), /NumPy/],
    ["a text file", () => text("just some notes\n"), /text file starting "just some notes/],
    ["a Git LFS pointer", () => text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"), /Git LFS pointer/],
    ["an HTML error page", () => text("<!DOCTYPE html><html><body>Not found</body></html>"), /HTML/],
    ["a legacy GGJT file", () => bytes(text("tjgg"), [3, 0, 0, 0]), /legacy GGJT/],
    ["an empty file", () => new Uint8Array(0), /empty/],
    ["unknown binary", () => bytes([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]), /first bytes: de ad be ef/],
    ["a safetensors header longer than the file", () => bytes([0xff, 0xff, 0, 0, 0, 0, 0, 0], text("{}")), /does not fit/],
  ];
  for (const [what, content, message] of unknown) {
    it(`refuses ${what} as unsupported, saying what it found`, async () => {
      const error = await detectModelFormat(await file(`x-${what.replace(/\W/g, "")}.gguf`, content())).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "model_format_unsupported", status: 415 });
      expect((error as Error).message).toMatch(message);
      expect((error as { hint?: string }).hint).toBeTruthy();
    });
  }

  it("says when the file is missing", async () => {
    await expect(detectModelFormat(join(dir, "missing.gguf"))).rejects.toMatchObject({ code: "model_file_not_found" });
  });
});
