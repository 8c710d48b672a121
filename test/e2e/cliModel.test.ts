import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { encodeSafetensors } from "../../src/model/encodeSafetensors.ts";
import { generateTestModel, TEST_MODEL_SHA256 } from "../../src/model/generateTestModel.ts";
import { PICKLE } from "../fixtures/model/pickle.ts";
import { runGotong } from "../helpers/cli.ts";
import { tempHome } from "../helpers/tempHome.ts";

describe("gotong model", () => {
  const home = tempHome();
  let server: Server;
  let url: string;
  let bytes: Buffer;

  beforeAll(async () => {
    const source = join(home.root, "source.gguf");
    await generateTestModel(source);
    bytes = readFileSync(source);
    server = createServer((req, res) => {
      if (req.url !== "/models/tiny.gguf") return res.writeHead(404).end();
      res.writeHead(200, { "content-length": bytes.length, "accept-ranges": "bytes" });
      res.end(bytes);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/tiny.gguf`;
  });
  afterAll(() => {
    server?.close();
    home.cleanup();
  });

  it("pulls a GGUF from a URL into GOTONG_HOME/models, checking its sha256", async () => {
    const result = await runGotong(["model", "pull", url, "--sha256", TEST_MODEL_SHA256, "--home", home.root]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(TEST_MODEL_SHA256);
    expect(readFileSync(join(home.models, "tiny.gguf")).equals(bytes)).toBe(true);
  });

  it("refuses a download whose sha256 differs, and keeps nothing of it", async () => {
    const wrong = "0".repeat(64);
    const result = await runGotong(["model", "pull", url, "--sha256", wrong, "--out", join(home.root, "bad.gguf"), "--home", home.root]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/sha256/i);
    expect(existsSync(join(home.root, "bad.gguf"))).toBe(false);
    expect(existsSync(join(home.root, "bad.gguf.part"))).toBe(false);
  });

  it("says clearly when the URL is not there", async () => {
    const result = await runGotong(["model", "pull", url.replace("tiny", "missing"), "--home", home.root]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/404|not found/i);
  });

  it("inspects a GGUF header", async () => {
    const result = await runGotong(["model", "inspect", join(home.models, "tiny.gguf"), "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ format: "gguf", architecture: "llama" });
  });

  it("refuses to inspect a file that is not a model, and a pickle with a warning about code execution", async () => {
    const text = join(home.root, "notes.gguf");
    writeFileSync(text, "just some text, not a model\n");
    const notGguf = await runGotong(["model", "inspect", text]);
    expect(notGguf.code).toBe(1);
    expect(notGguf.stderr).toMatch(/Unsupported model format: .*notes\.gguf is a text file.*GGUF and safetensors only/i);
    const pickle = join(home.root, "model.gguf");
    writeFileSync(pickle, PICKLE);
    const refused = await runGotong(["model", "inspect", pickle]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/pickle.*arbitrary code/i);
  });

  it("inspects a safetensors header", async () => {
    const path = join(home.root, "tiny.safetensors");
    writeFileSync(path, encodeSafetensors([{ name: "w", dtype: "BF16", shape: [4, 2] }, { name: "b", dtype: "F32", shape: [2] }], { architecture: "llama" }));
    const result = await runGotong(["model", "inspect", path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/format +safetensors/);
    expect(result.stdout).toMatch(/architecture +llama/);
    expect(result.stdout).toMatch(/parameters +10/);
    expect(result.stdout).toMatch(/tensorTypes +BF16×1 F32×1/);
  });

  it("refuses a truncated GGUF", async () => {
    const truncated = join(home.root, "truncated.gguf");
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await runGotong(["model", "inspect", truncated]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/truncated|ends/i);
  });
});
