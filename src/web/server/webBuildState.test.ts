import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readWebBuildState, WEB_BUILD_STAMP, webSourceFiles, webSourceHash } from "./webBuildState.ts";
import { PROJECT_ROOT } from "./webPaths.ts";

describe("webSourceFiles", () => {
  it("covers every module the page bundles, followed through its imports, so a change to any of them shows the build as stale", () => {
    const files = webSourceFiles().map((file) => relative(PROJECT_ROOT, file));
    for (const shared of [
      "src/web/app/main.ts",
      "src/web/app/index.html",
      "src/web/crypto/hpke.ts",
      "src/common/errors.ts",
      "src/privacy/errors.ts",
      "src/privacy/createFrameOpener.ts",
      "src/privacy/createRequestInfo.ts",
      "src/web/vite.config.ts",
      "package-lock.json",
    ]) {
      expect(files).toContain(shared);
    }
    // Only what the page can reach: nothing of the Node side of src/privacy, no tests.
    expect(files).not.toContain("src/privacy/hpke.ts");
    expect(files.filter((file) => file.endsWith(".test.ts"))).toEqual([]);
  });
});

describe("readWebBuildState", () => {
  it("tells a folder with no page from one built of other sources and one built of these", () => {
    const dir = mkdtempSync(join(tmpdir(), "gotong-web-build-"));
    try {
      expect(readWebBuildState(dir)).toBe("missing");
      writeFileSync(join(dir, "index.html"), "<!doctype html>");
      // Built by something that left no stamp, then by older sources, then by these.
      expect(readWebBuildState(dir)).toBe("stale");
      writeFileSync(join(dir, WEB_BUILD_STAMP), "0".repeat(64));
      expect(readWebBuildState(dir)).toBe("stale");
      writeFileSync(join(dir, WEB_BUILD_STAMP), webSourceHash());
      expect(readWebBuildState(dir)).toBe("current");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
