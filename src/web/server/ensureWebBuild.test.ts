import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { webSourceFiles } from "./ensureWebBuild.ts";
import { PROJECT_ROOT } from "./webPaths.ts";

describe("webSourceFiles", () => {
  it("covers every module the page bundles, followed through its imports, so a change to any of them rebuilds the app", () => {
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
