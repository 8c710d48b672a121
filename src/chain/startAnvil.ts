import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { GotongError } from "../common/errors.ts";
import { findAnvil } from "./findAnvil.ts";
import { removeAnvilPidFile, writeAnvilPidFile } from "./stopLeftoverAnvil.ts";

export type AnvilOptions = {
  /** TCP port on 127.0.0.1. Default 8545. */
  port?: number;
  /** File Anvil loads its chain from and saves it to (on a clean exit and every `stateInterval` s). */
  stateFile?: string;
  /** Seconds between state snapshots, so a crash loses at most this much. Default 1. */
  stateInterval?: number;
  /** Chain id. Default 31337. */
  chainId?: number;
  /** Seconds per block when set (interval mining); default: a block per transaction. */
  blockTime?: number;
  /**
   * Ether each of Anvil's well-known dev accounts starts with. Default Anvil's 10000; 0 makes a chain
   * where those public keys hold nothing, like any real network (`gotong deploy`'s tests).
   */
  devAccountBalance?: number;
  /**
   * A file to record Anvil's pid in while it runs (removed when it exits), so that one left behind
   * by a killed parent can be found and stopped (`stopLeftoverAnvil`).
   */
  pidFile?: string;
  /**
   * Stop Anvil (with SIGINT, so it saves its state) when this process dies in any way, SIGKILL
   * included, through a tiny watchdog that waits on a pipe only this process holds. Default true.
   */
  dieWithParent?: boolean;
  signal?: AbortSignal;
};

export type AnvilNode = { rpcUrl: string; port: number; process: ChildProcess; stop(): Promise<void> };

/** Starts a local Anvil node and waits until it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const port = options.port ?? 8545;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(options.chainId ?? 31337)];
  if (options.stateFile) args.push("--state", options.stateFile, "--state-interval", String(options.stateInterval ?? 1));
  if (options.blockTime) args.push("--block-time", String(options.blockTime));
  if (options.devAccountBalance !== undefined) args.push("--balance", String(options.devAccountBalance));
  if (!(await portIsFree(port))) {
    // Without this check the poll below would find whatever answers there and adopt it as ours.
    throw new GotongError(`Port ${port} on 127.0.0.1 is already in use, so the chain cannot start there`, {
      code: "anvil_port_in_use",
      hint: `Another chain or program listens on it (\`ps aux | grep anvil\` shows a leftover Anvil). Stop it, or choose another port with --chain-port (\`gotong devnet --port\`).`,
    });
  }
  // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop Anvil last, after
  // the provider's final redeem. If this process exits any other way, Anvil is told to stop too:
  // by the exit hook on a normal exit, by the watchdog when we are killed.
  const child = spawn(findAnvil(), args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const stopOnExit = () => child.kill("SIGINT");
  process.once("exit", stopOnExit);
  const watchdog = options.dieWithParent !== false && child.pid ? startWatchdog(child.pid) : undefined;
  if (options.pidFile && child.pid) writeAnvilPidFile(options.pidFile, { pid: child.pid, port, stateFile: options.stateFile, parent: process.pid, since: new Date().toISOString() });
  child.once("exit", () => {
    process.off("exit", stopOnExit);
    // Anvil is gone: its pid may be reused, so the watchdog must not signal it any more.
    if (watchdog?.pid) killQuietly(watchdog.pid);
    if (options.pidFile && child.pid) removeAnvilPidFile(options.pidFile, child.pid);
  });
  let output = "";
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const rpcUrl = `http://127.0.0.1:${port}`;
  const exited = once(child, "exit");
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new GotongError(`Anvil exited at start (code ${child.exitCode}): ${output.trim().split("\n").slice(-3).join(" | ")}`, {
        code: "anvil_failed",
        hint: port ? `Is port ${port} already in use? Choose another with --chain-port.` : undefined,
      });
    }
    if (options.signal?.aborted) {
      child.kill("SIGKILL");
      throw options.signal.reason;
    }
    if (await answers(rpcUrl)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new GotongError("Anvil did not answer within 30 s", { code: "anvil_failed", hint: output.slice(-500) });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopping: Promise<void> | undefined;
  return {
    rpcUrl,
    port,
    process: child,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        // SIGINT is Anvil's clean exit: it writes the state file before leaving.
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

async function answers(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * `sh` waiting for end-of-file on a pipe whose writing end only this process holds: the kernel
 * closes it however we die, and then the watchdog sends Anvil SIGINT, its clean exit that saves the
 * state. In its own process group, so a Ctrl-C to the terminal does not stop Anvil before the
 * provider's final redeem.
 */
function startWatchdog(anvilPid: number): ChildProcess | undefined {
  if (process.platform === "win32") return undefined;
  const watchdog = spawn("sh", ["-c", 'read _; kill -INT "$1" 2>/dev/null', "gotong-anvil-watchdog", String(anvilPid)], { stdio: ["pipe", "ignore", "ignore"], detached: true });
  watchdog.on("error", () => {}); // no sh: the exit hook and the pid file still cover a clean exit
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}

function killQuietly(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
