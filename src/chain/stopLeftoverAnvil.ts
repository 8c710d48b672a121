import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import type { Logger } from "../common/logger.ts";

/** What `startAnvil` records about the Anvil it started (`GOTONG_HOME/chain/anvil.pid.json`). */
export type AnvilPidRecord = { pid: number; port: number; stateFile?: string; parent: number; since: string };

/**
 * Finds an Anvil still running on `stateFile`, left behind by a devnet or `gotong up` that was
 * killed (SIGKILL, a crash) without stopping it, and stops it with SIGINT, Anvil's clean exit that
 * writes the chain to its state file, so that the next start loads every block it made. Looks at
 * the pid recorded in `pidFile` and, on Linux, at every process running Anvil on that state file
 * (for one started before pid files were kept). Call it only while holding the chain's lock: then
 * any Anvil on this state is an orphan, never a chain another process still uses.
 *
 * @returns the pids it stopped.
 * @example await stopLeftoverAnvil({ pidFile: home.anvilPidFile, stateFile: home.anvilState, logger });
 */
export async function stopLeftoverAnvil(options: { pidFile: string; stateFile: string; logger?: Logger; timeoutMs?: number }): Promise<number[]> {
  const pids = new Set<number>();
  const recorded = readAnvilPidFile(options.pidFile);
  if (recorded && isRunning(recorded.pid) && runsAnvilOn(recorded.pid, options.stateFile) !== false) pids.add(recorded.pid);
  for (const pid of anvilsOn(options.stateFile)) pids.add(pid);
  for (const pid of pids) {
    options.logger?.warn("stopping an Anvil left running on this chain's state by a process that was killed", { pid });
    try {
      process.kill(pid, "SIGINT");
    } catch {
      continue;
    }
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isRunning(pid)) {
      // It wrote its state at most --state-interval seconds ago.
      options.logger?.warn("the leftover Anvil did not stop on SIGINT; killing it", { pid });
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
      while (isRunning(pid)) await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    unlinkSync(options.pidFile);
  } catch {
    // none
  }
  return [...pids];
}

/** Records the Anvil `startAnvil` started, written whole (a temporary file renamed into place). */
export function writeAnvilPidFile(path: string, record: AnvilPidRecord) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record) + "\n", { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removes the pid file if it still names `pid` (a later Anvil may have replaced it). */
export function removeAnvilPidFile(path: string, pid: number) {
  if (readAnvilPidFile(path)?.pid !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // gone
  }
}

/** The recorded Anvil, if the file exists and parses. */
export function readAnvilPidFile(path: string): AnvilPidRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as AnvilPidRecord;
    return Number.isInteger(record.pid) && record.pid > 0 ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs (a zombie, dead but not yet reaped, does not count). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) is all we know
  }
}

/** Whether `pid` is Anvil with `--state stateFile`: true, false, or undefined when /proc cannot tell. */
function runsAnvilOn(pid: number, stateFile: string): boolean | undefined {
  const args = commandLineOf(pid);
  if (!args) return undefined;
  return isAnvilOn(args, stateFile);
}

function isAnvilOn(args: string[], stateFile: string): boolean {
  const state = args.indexOf("--state");
  return /(^|\/)anvil(\.exe)?$/.test(args[0] ?? "") && state >= 0 && args[state + 1] === stateFile;
}

/** Every process running Anvil on `stateFile` (Linux, through /proc; elsewhere none). */
function anvilsOn(stateFile: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    const args = commandLineOf(Number(entry));
    if (args && isAnvilOn(args, stateFile) && isRunning(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

function commandLineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    // No /proc (macOS): ask ps. Arguments holding spaces come out split, which only ever makes a
    // process look like something else, never like our Anvil.
    const ps = spawnSync("ps", ["-p", String(pid), "-o", "command="], { encoding: "utf8" });
    const line = ps.status === 0 ? ps.stdout.trim() : "";
    return line ? line.split(/\s+/) : undefined;
  }
}
