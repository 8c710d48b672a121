import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isGotongError } from "./errors.ts";
import { lockState, readLockOwner, type LockOwner } from "./lockState.ts";

const dir = mkdtempSync(join(tmpdir(), "gotong-lock-"));
const modulePath = resolve(import.meta.dirname, "lockState.ts");

/** A Node process that tries to take the lock at `path` at `startAt` (ms), prints the outcome, and holds it `holdMs`. */
function contender(path: string, startAt: number, holdMs: number, raceWindowMs = 0) {
  const script = `
    const { lockState } = await import(${JSON.stringify(modulePath)});
    while (Date.now() < ${startAt}) {}
    let outcome;
    try { lockState(${JSON.stringify(path)}, { what: "test state" }); outcome = "won"; }
    catch (e) { outcome = e.code === "state_locked" ? "refused" : "error " + e.message; }
    process.stdout.write(outcome + "\\n");
    setTimeout(() => {}, ${holdMs});
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, GOTONG_TEST_LOCK_RACE_MS: String(raceWindowMs) },
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  const outcome = new Promise<string>((r) => child.stdout.on("data", () => out.includes("\n") && r(out.trim())));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { child, outcome, exited };
}

/** The pid of a process that has just exited, so certainly not alive. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!;
}

function writeLock(path: string, owner: Partial<LockOwner>) {
  const full: LockOwner = { pid: 1, command: "gotong test", since: new Date().toISOString(), hostname: hostname(), nonce: "feedface", ...owner };
  writeFileSync(path, JSON.stringify(full));
}

describe("lockState", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("takes a free lock, writes who holds it, and removes it on release", () => {
    const path = join(dir, "free.lock");
    const lock = lockState(path, { what: "test state" });
    expect(readLockOwner(path)).toMatchObject({ pid: process.pid, nonce: lock.owner.nonce });
    lock.release();
    expect(existsSync(path)).toBe(false);
    lock.release(); // idempotent
    lockState(path, { what: "test state" }).release();
  });

  it("refuses a second holder in the same process, naming the pid and what to do", () => {
    const path = join(dir, "twice.lock");
    const lock = lockState(path, { what: "The provider 0xabc", hint: "start a second one with --name" });
    try {
      expect(() => lockState(path, { what: "The provider 0xabc" })).toThrow(`The provider 0xabc is already in use by process ${process.pid}`);
      try {
        lockState(path, { what: "x", hint: "start a second one with --name" });
      } catch (error) {
        expect(isGotongError(error, "state_locked")).toBe(true);
        expect((error as Error & { hint: string }).hint).toContain(`kill -INT ${process.pid}`);
        expect((error as Error & { hint: string }).hint).toContain("--name");
      }
    } finally {
      lock.release();
    }
  });

  it("takes over a lock left by a process that is gone", () => {
    const path = join(dir, "stale.lock");
    writeLock(path, { pid: deadPid() });
    const lock = lockState(path, { what: "test state" });
    expect(readLockOwner(path)?.pid).toBe(process.pid);
    lock.release();
  });

  it("takes over a lock whose pid now belongs to another process, or to an earlier life of this pid", () => {
    const path = join(dir, "reused.lock");
    if (existsSync("/proc/self/stat")) {
      writeLock(path, { pid: process.ppid, processStart: "1" }); // alive, but started at another time
      lockState(path, { what: "test state" }).release();
    }
    writeLock(path, { pid: process.pid, nonce: "not-ours" });
    lockState(path, { what: "test state" }).release();
  });

  it("takes over a corrupt lock file", () => {
    const path = join(dir, "corrupt.lock");
    writeFileSync(path, "{ half a lock");
    const old = new Date(Date.now() - 60_000);
    spawnSync("touch", ["-d", old.toISOString(), path]);
    lockState(path, { what: "test state" }).release();
  });

  it("refuses while another process holds it, and takes it over once that process is SIGKILLed", async () => {
    const path = join(dir, "other.lock");
    const other = contender(path, 0, 60_000);
    try {
      expect(await other.outcome).toBe("won");
      let message = "";
      try {
        lockState(path, { what: "test state" });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(new RegExp(`in use by process ${other.child.pid} \\(.*node.*\\), running since \\d{4}-`));
      other.child.kill("SIGKILL");
      await other.exited;
      expect(existsSync(path)).toBe(true); // a SIGKILL leaves it behind…
      const lock = lockState(path, { what: "test state" }); // …and the next starter takes it over
      expect(readLockOwner(path)?.pid).toBe(process.pid);
      lock.release();
    } finally {
      other.child.kill("SIGKILL");
    }
  });

  it("lets exactly one of several processes racing for a stale lock win", { timeout: 60_000 }, async () => {
    // Rounds 1 and 2 widen the gap between reading the stale lock and breaking it to 200 ms, so
    // every racer is inside it at once: a break without the re-check lets several of them win.
    for (let round = 0; round < 3; round++) {
      const path = join(dir, `race-${round}.lock`);
      writeLock(path, { pid: deadPid() });
      const startAt = Date.now() + 2_000; // after every contender has loaded
      const racers = [0, 1, 2, 3].map(() => contender(path, startAt, 1_500, round === 0 ? 0 : 200));
      try {
        const outcomes = await Promise.all(racers.map((r) => r.outcome));
        expect(outcomes.filter((o) => o === "won")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "refused")).toHaveLength(3);
        const winner = racers[outcomes.indexOf("won")]!.child.pid;
        expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(winner);
        await Promise.all(racers.map((r) => r.exited));
        expect(existsSync(path)).toBe(false); // released on a clean exit
      } finally {
        for (const r of racers) r.child.kill("SIGKILL");
      }
    }
  });
});
