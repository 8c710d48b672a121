import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PICKLE } from "../../test/fixtures/model/pickle.ts";
import { writeSafetensorsModel } from "../../test/fixtures/model/writeSafetensorsModel.ts";
import { describeModelFiles } from "./describeModelFiles.ts";
import { encodeSafetensors } from "./encodeSafetensors.ts";
import { generateTestModel, TEST_MODEL_SHAPE } from "./generateTestModel.ts";
import { gotongRejectionOf as errorOf } from "../../test/helpers/gotongErrorOf.ts";
import { hashModelFiles } from "./hashModelFiles.ts";
import { listModelFiles } from "./listModelFiles.ts";

let dir: string;
let model: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-describe-"));
  model = join(dir, "model");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const describePath = async (path: string) => describeModelFiles(await listModelFiles(path));


describe("listModelFiles and describeModelFiles", () => {
  it("describe a single GGUF from its header", async () => {
    const { path } = await generateTestModel(join(dir, "tiny.gguf"));
    const list = await listModelFiles(path);
    expect(list).toMatchObject({ single: true, files: [{ path: "tiny.gguf" }] });
    const description = await describeModelFiles(list);
    expect(description).toMatchObject({ format: "gguf", architecture: "llama", weightFiles: ["tiny.gguf"] });
    expect(description.parameterCount).toBeGreaterThan(0);
    expect(description.contextLength).toBe(TEST_MODEL_SHAPE.contextLength);
  });

  it("describe a sharded safetensors folder: every shard, the index and config.json", async () => {
    const { files, parameterCount } = await writeSafetensorsModel(model);
    const list = await listModelFiles(model);
    expect(list.files.map((f) => f.path)).toEqual(files);
    expect(await describeModelFiles(list)).toEqual({
      format: "safetensors",
      architecture: "llama",
      parameterCount,
      contextLength: 128,
      weightFiles: ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
    });
    const hashed = await hashModelFiles(list.files);
    expect(hashed.map((f) => f.path)).toEqual(files);
    expect(hashed.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
  });

  it("read the architecture from __metadata__ when there is no config.json, and leave it unknown when nothing says", async () => {
    await mkdir(model);
    await writeFile(join(model, "a.safetensors"), encodeSafetensors([{ name: "w", dtype: "F32", shape: [2] }], { architecture: "mamba", context_length: "512" }));
    expect(await describePath(model)).toMatchObject({ architecture: "mamba", contextLength: 512, parameterCount: 2 });
    await writeFile(join(model, "a.safetensors"), encodeSafetensors([{ name: "w", dtype: "F32", shape: [2] }]));
    expect((await describePath(model)).architecture).toBeUndefined();
  });

  it("list files in subfolders with POSIX paths", async () => {
    await writeSafetensorsModel(join(model, "weights"), { index: false, config: false });
    expect((await listModelFiles(model)).files.map((f) => f.path)).toEqual(["weights/model-00001-of-00002.safetensors", "weights/model-00002-of-00002.safetensors"]);
  });

  describe("refuse", () => {
    it("a pickle .bin in the folder, with the pickle error", async () => {
      await writeSafetensorsModel(model);
      await writeFile(join(model, "pytorch_model.bin"), PICKLE);
      const error = await errorOf(describePath(model));
      expect(error.code).toBe("model_format_pickle");
      expect(error.message).toMatch(/pytorch_model\.bin.*pickle.*arbitrary code/);
    });

    it("a pickle disguised as config.json or as a .safetensors shard", async () => {
      await writeSafetensorsModel(model);
      await writeFile(join(model, "config.json"), PICKLE);
      expect((await errorOf(describePath(model))).code).toBe("model_format_pickle");
      await writeSafetensorsModel(model);
      await writeFile(join(model, "model-00002-of-00002.safetensors"), PICKLE);
      expect((await errorOf(describePath(model))).code).toBe("model_format_pickle");
    });

    it("a file that is neither weights nor a known JSON companion", async () => {
      await writeSafetensorsModel(model);
      await writeFile(join(model, "README.md"), "# my model\n");
      const error = await errorOf(describePath(model));
      expect(error.code).toBe("model_folder_unknown_file");
      expect(error.message).toMatch(/README\.md/);
    });

    it("a companion that is not clean JSON", async () => {
      await writeSafetensorsModel(model);
      await writeFile(join(model, "tokenizer.json"), '{"a":1,"a":2}');
      expect((await errorOf(describePath(model))).message).toMatch(/"a" twice/);
      await writeFile(join(model, "tokenizer.json"), "{not json");
      expect((await errorOf(describePath(model))).code).toBe("model_folder_unknown_file");
    });

    it("a missing shard, by its numbered name or by the index", async () => {
      await writeSafetensorsModel(model, { shards: 3 });
      await rm(join(model, "model-00002-of-00003.safetensors"));
      const byName = await errorOf(describePath(model));
      expect(byName.code).toBe("model_shard_missing");
      expect(byName.message).toMatch(/model-00002-of-00003\.safetensors is missing/);

      await rm(model, { recursive: true });
      await writeSafetensorsModel(model, { shards: 2 });
      const index = JSON.parse(await readFile(join(model, "model.safetensors.index.json"), "utf8"));
      index.weight_map["model.layers.9.mlp.weight"] = "extra-shard.safetensors";
      await writeFile(join(model, "model.safetensors.index.json"), JSON.stringify(index));
      const byIndex = await errorOf(describePath(model));
      expect(byIndex.code).toBe("model_shard_missing");
      expect(byIndex.message).toMatch(/extra-shard\.safetensors/);
    });

    it("an index that disagrees with the shards, and a tensor in two shards", async () => {
      await writeSafetensorsModel(model);
      const index = JSON.parse(await readFile(join(model, "model.safetensors.index.json"), "utf8"));
      index.weight_map["model.embed_tokens.weight"] = "model-00002-of-00002.safetensors";
      await writeFile(join(model, "model.safetensors.index.json"), JSON.stringify(index));
      expect((await errorOf(describePath(model))).code).toBe("model_shard_mismatch");

      await rm(model, { recursive: true });
      await writeSafetensorsModel(model, { index: false });
      await writeFile(join(model, "copy.safetensors"), await readFile(join(model, "model-00001-of-00002.safetensors")));
      expect((await errorOf(describePath(model))).message).toMatch(/is in both/);
    });

    it("a shard whose bytes were truncated or appended to", async () => {
      await writeSafetensorsModel(model);
      const shard = join(model, "model-00002-of-00002.safetensors");
      await appendFile(shard, Buffer.from([0]));
      expect((await errorOf(describePath(model))).code).toBe("safetensors_invalid");
      await writeSafetensorsModel(model);
      const size = (await readFile(shard)).length;
      await truncate(shard, size - 10);
      expect((await errorOf(describePath(model))).code).toBe("safetensors_truncated");
      // Cut inside the header: refused as corrupt weights, not as a stray file.
      await truncate(shard, 40);
      const cut = await errorOf(describePath(model));
      expect(cut.code).toBe("model_format_unsupported");
      expect(cut.message).toMatch(/header length .* does not fit the file/);
    });

    it("mixed formats, and JSON companions next to GGUF", async () => {
      await writeSafetensorsModel(model, { index: false, config: false });
      await generateTestModel(join(model, "tiny.gguf"));
      expect((await errorOf(describePath(model))).code).toBe("model_folder_invalid");
      await rm(model, { recursive: true });
      await mkdir(model);
      await generateTestModel(join(model, "tiny.gguf"));
      await writeFile(join(model, "config.json"), "{}");
      expect((await errorOf(describePath(model))).code).toBe("model_folder_unknown_file");
    });

    it("a symlink that leaves the folder, a dangling one, and a symlinked folder; a link inside is fine", async () => {
      await writeSafetensorsModel(model, { index: false, config: false });
      await writeFile(join(dir, "outside.json"), "{}");
      await symlink(join(dir, "outside.json"), join(model, "config.json"));
      const escape = await errorOf(listModelFiles(model));
      expect(escape.code).toBe("model_symlink_escapes");
      expect(escape.message).toMatch(/config\.json.*leaves the folder/);
      await rm(join(model, "config.json"));

      await symlink(join(model, "nowhere"), join(model, "config.json"));
      expect((await errorOf(listModelFiles(model))).code).toBe("model_symlink_escapes");
      await rm(join(model, "config.json"));

      await mkdir(join(model, "real"));
      await symlink(join(model, "real"), join(model, "linked"));
      expect((await errorOf(listModelFiles(model))).code).toBe("model_folder_invalid");
      await rm(join(model, "linked"));
      await rm(join(model, "real"), { recursive: true });

      await mkdir(join(model, "sub"));
      await symlink(join(model, "model-00001-of-00002.safetensors"), join(model, "sub", "alias.safetensors"));
      const inside = await listModelFiles(model);
      expect(inside.files.find((f) => f.path === "sub/alias.safetensors")?.absolute).toBe(join(inside.root, "model-00001-of-00002.safetensors"));
    });

    it("an empty folder and a path that does not exist", async () => {
      await mkdir(model);
      expect((await errorOf(listModelFiles(model))).code).toBe("model_folder_invalid");
      expect((await errorOf(listModelFiles(join(dir, "nope")))).code).toBe("model_file_not_found");
    });
  });
});
