import { randomBytes } from "node:crypto";
import { constants, copyFileSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { GotongError } from "./errors.ts";

/** Who holds a state lock, as written in the lock file. */
export type LockOwner = {
  pid: number;
  /** The holder's command line, e.g. `gotong provider start --model m.gguf`. */
  command: string;
  /** ISO time the lock was taken. */
  since: string;
  hostname: string;
  /** The holder's start time in clock ticks since boot (Linux), to tell a reused pid from the holder. */
  processStart?: string;
  /** Unique per acquisition: a release or a stale-lock break only ever removes the file it read. */
  nonce: string;
};

/** An exclusive lock on some state, held until `release()` or this process exits. */
export type StateLock = {
  path: string;
  owner: LockOwner;
  /** Removes the lock file (only if it is still ours). Idempotent. */
  release(): void;
};

export type LockStateOptions = {
  /** What the lock protects, for the error message, e.g. `The provider 0xab… in /home/u/.gotong`. */
  what: string;
  /** What to do when it is held, appended to the standard hint. */
  hint?: string;
};

/** Tests widen the window between reading a stale lock and breaking it, to prove the race is handled. */
const RACE_WINDOW_MS = Number(process.env.GOTONG_TEST_LOCK_RACE_MS ?? 0);

/** Locks held by this process, by path, released on exit. */
const held = new Map<string, StateLock>();
let exitHookInstalled = false;

/** A lock file this young that does not parse may still be being written (no hard links). */
const YOUNG_MS = 2_000;
/** A break lock older than this was left by a process killed inside the few syscalls it is held for. */
const STALE_BREAK_LOCK_MS = 10_000;

/**
 * Takes an exclusive lock on a piece of state (a database, a chain folder) for this process, or
 * throws a `state_locked` GotongError naming the process that holds it (pid, command, since when).
 *
 * The lock is a small JSON file created atomically (written to a private temporary file, then
 * hard-linked into place, which fails if the lock exists), so a reader never sees a half-written
 * one. A lock whose holder is gone (its pid is not alive, or belongs now to another process) is
 * stale and taken over. Breaking it is serialised by a second, short-lived lock and re-checked
 * under it, so two starters racing for the same stale lock cannot both win. The lock is released by
 * `release()` and, failing that, when this process exits; after SIGKILL it is left behind and the
 * next starter takes it over.
 *
 * @example
 * const lock = lockState(join(home.locks, "devnet.lock"), { what: `The chain in ${home.chain}` });
 * try { ... } finally { lock.release(); }
 */
export function lockState(file: string, options: LockStateOptions): StateLock {
  const path = resolve(file); // one key per lock in `held`, however the caller spelled it
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  installExitHook();
  const owner: LockOwner = {
    pid: process.pid,
    command: commandLine(),
    since: new Date().toISOString(),
    hostname: hostname(),
    processStart: processStartOf(process.pid),
    nonce: randomBytes(8).toString("hex"),
  };
  const tmp = `${path}.${process.pid}.${owner.nonce}.tmp`;
  writeFileSync(tmp, JSON.stringify(owner) + "\n", { flag: "wx", mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      if (tryLink(tmp, path)) break;
      const current = readOwner(path);
      if (current === "missing") continue; // released between our link and our read: try again
      if (current === "corrupt" && ageMs(path) < YOUNG_MS && attempt < 10) {
        sleepSync(50); // on a file system without hard links it may be still being written
        continue;
      }
      if (current !== "corrupt" && isAlive(current)) throw lockedError(path, current, options);
      if (attempt >= 10) throw lockedError(path, current === "corrupt" ? undefined : current, options);
      if (RACE_WINDOW_MS) sleepSync(RACE_WINDOW_MS);
      breakStaleLock(path, current, tmp);
    }
  } finally {
    unlinkQuietly(tmp);
  }
  const lock: StateLock = {
    path,
    owner,
    release() {
      if (held.get(path) !== lock) return;
      held.delete(path);
      const current = readOwner(path);
      if (typeof current === "object" && current.nonce === owner.nonce) unlinkQuietly(path);
    },
  };
  held.set(path, lock);
  return lock;
}

/** Reads who holds the lock at `path`, if anyone; `undefined` when it is free. */
export function readLockOwner(path: string): LockOwner | undefined {
  const current = readOwner(path);
  return typeof current === "object" ? current : undefined;
}

/**
 * Removes a stale lock, holding `path.break` while it re-reads it, so that it removes exactly the
 * stale file it saw and never a fresh lock another starter created in the meantime.
 */
function breakStaleLock(path: string, seen: LockOwner | "corrupt", tmp: string) {
  const breakPath = `${path}.break`;
  if (!tryLink(tmp, breakPath)) {
    // Another starter is breaking it right now (microseconds); or one was killed while doing so.
    if (ageMs(breakPath) > STALE_BREAK_LOCK_MS && ageMs(breakPath) !== Infinity) unlinkQuietly(breakPath);
    sleepSync(5 + Math.random() * 20);
    return;
  }
  try {
    const again = readOwner(path);
    const same = again === "corrupt" ? seen === "corrupt" : typeof again === "object" && typeof seen === "object" && again.nonce === seen.nonce;
    if (same) unlinkQuietly(path);
  } finally {
    unlinkQuietly(breakPath);
  }
}

function lockedError(path: string, owner: LockOwner | undefined, options: LockStateOptions): GotongError {
  const who = owner
    ? `process ${owner.pid}${owner.hostname !== hostname() ? ` on ${owner.hostname}` : ""} (${owner.command}), running since ${owner.since}`
    : "another process";
  const local = owner !== undefined && owner.hostname === hostname();
  const stop = local ? `Stop it first (Ctrl-C in its terminal, or \`kill -INT ${owner.pid}\`)` : "Stop it first";
  // A lock from another host cannot be checked from here: it may be a home that moved machines or
  // containers (a new hostname), so say how to clear it by hand.
  const remote = local ? "" : ` If it no longer runs (the home moved to another machine or container), delete the lock file.`;
  return new GotongError(`${options.what} is already in use by ${who}`, {
    code: "state_locked",
    status: 409,
    hint: `${stop}${options.hint ? `, or ${options.hint}` : ""}. Two processes on one state would undo each other's work (lock file: ${path}).${remote}`,
  });
}

/** Whether the process that wrote `owner` still runs. A lock from another host is assumed alive. */
function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return true;
  if (owner.pid === process.pid) {
    // Ours only if we still hold it; else it is a previous life of this pid (a container's pid 1).
    return [...held.values()].some((lock) => lock.owner.nonce === owner.nonce);
  }
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (/^[ZX]/.test(statFields(owner.pid)?.[0] ?? "")) return false; // dead, not yet reaped
  // The pid runs: make sure it is still the process that took the lock, not a reuse of its number.
  const start = processStartOf(owner.pid);
  return owner.processStart === undefined || start === undefined || start === owner.processStart;
}

function readOwner(path: string): LockOwner | "missing" | "corrupt" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (Number.isInteger(owner.pid) && owner.pid > 0 && typeof owner.nonce === "string") return owner;
  } catch {
    // fall through
  }
  // Lock files appear whole (linked into place), so this is a file damaged by a crash of the disk.
  return "corrupt";
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw error;
  }
  // A file system without hard links: an exclusive create, whose content follows a moment later.
  try {
    copyFileSync(from, to, constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

function unlinkQuietly(path: string) {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. Linux only. */
function processStartOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** /proc/PID/stat from field 3 (the state) on, or undefined without /proc. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function commandLine(): string {
  const args = process.argv;
  // `node /path/bin/gotong.js provider start …` reads better as `gotong provider start …`.
  const bin = args.findIndex((a) => /(^|[\\/])gotong(\.js)?$/.test(a));
  return (bin >= 0 ? ["gotong", ...args.slice(bin + 1)] : args).join(" ");
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const lock of [...held.values()]) lock.release();
  });
}

/**
 * Starts a long-running service while holding `file`'s lock: the lock is taken first, released if
 * the start fails, and released when the service's `stop()` has finished.
 */
export async function startLocked<T extends { stop(): Promise<void> }>(file: string, options: LockStateOptions, start: () => Promise<T>): Promise<T> {
  const lock = lockState(file, options);
  let service: T;
  try {
    service = await start();
  } catch (error) {
    lock.release();
    throw error;
  }
  return { ...service, stop: () => service.stop().finally(lock.release) };
}
