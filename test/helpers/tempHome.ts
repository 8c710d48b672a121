import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveHome, type GotongHome } from "../../src/common/home.ts";

/** A fresh GOTONG_HOME in a temporary folder, removed by `cleanup`. */
export function tempHome(): GotongHome & { cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), "gotong-test-"));
  return { ...resolveHome(root), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
