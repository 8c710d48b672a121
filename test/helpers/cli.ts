import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

export const gotongBin = resolve(import.meta.dirname, "../../bin/gotong.js");

/** A Node.js process (usually a `gotong` command) running on its own, with its output captured. */
export type CliProcess = { child: ChildProcess; stdout(): string; stderr(): string; waitFor(pattern: RegExp, ms?: number): Promise<string>; exited: Promise<number | null> };

/** What a process that ran to completion exited with and printed. */
export type CliResult = { code: number | null; stdout: string; stderr: string };

/** Starts `node ARGV…` as a child process. */
export function spawnNode(argv: string[], env: Record<string, string> = {}, options: { ownGroup?: boolean; netns?: string } = {}): CliProcess {
  // `ownGroup`: a process group of its own, so a test can send a terminal's Ctrl-C to the whole group.
  // `netns`: run on a test host (test/helpers/virtualHosts.ts); `ip netns exec` execs Node in place,
  // so the child's pid is Node's and signals reach it.
  const [command, args]: [string, string[]] = options.netns ? ["ip", ["netns", "exec", options.netns, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: options.ownGroup ?? false });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, ms = 60_000) {
      return new Promise((resolvePromise, reject) => {
        const started = Date.now();
        const check = () => {
          const m = pattern.exec(out) ?? pattern.exec(err);
          if (m) return resolvePromise(m[0]);
          if (child.exitCode !== null) return reject(new Error(`${argv.join(" ")} exited (${child.exitCode}) before ${pattern}:\n${out}\n${err}`));
          if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`));
          setTimeout(check, 50);
        };
        check();
      });
    },
  };
}

/** Runs `node ARGV…` to completion. */
export async function runNode(argv: string[], env: Record<string, string> = {}, options: { netns?: string } = {}): Promise<CliResult> {
  const p = spawnNode(argv, env, options);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Starts `gotong ARGS…` as a child process. */
export function spawnGotong(args: string[], env: Record<string, string> = {}, options: { ownGroup?: boolean; netns?: string } = {}): CliProcess {
  return spawnNode([gotongBin, ...args], env, options);
}

/** Runs `gotong ARGS…` to completion. */
export function runGotong(args: string[], env: Record<string, string> = {}, options: { netns?: string } = {}): Promise<CliResult> {
  return runNode([gotongBin, ...args], env, options);
}
