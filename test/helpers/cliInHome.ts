import { expect } from "vitest";
import { runGotong, type CliResult } from "./cli.ts";

/**
 * The shipped CLI run against one GOTONG_HOME, as the e2e tests use it: `gotong` runs a command,
 * `json` runs it with `--json` and parses what it printed (failing the test, with its stderr, when
 * it exits non-zero), `refused` expects exit 1 and stderr matching `pattern`.
 *
 * @example const { json, refused } = cliInHome(net.home.root); await json("model", "lineage", "2");
 */
export function cliInHome(home: string) {
  const gotong = (...args: string[]): Promise<CliResult> => runGotong([...args, "--home", home]);
  return {
    gotong,
    async json<T>(...args: string[]): Promise<T> {
      const result = await gotong(...args, "--json");
      expect(result.code, `gotong ${args.join(" ")} failed:\n${result.stderr}`).toBe(0);
      return JSON.parse(result.stdout) as T;
    },
    async refused(pattern: RegExp, ...args: string[]): Promise<string> {
      const result = await gotong(...args);
      expect(result.code, result.stdout).toBe(1);
      expect(result.stderr).toMatch(pattern);
      return result.stderr;
    },
  };
}
