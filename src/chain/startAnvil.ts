import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { GotongError } from "../common/errors.ts";
import { findAnvil } from "./findAnvil.ts";

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
  signal?: AbortSignal;
};

export type AnvilNode = { rpcUrl: string; port: number; process: ChildProcess; stop(): Promise<void> };

/** Starts a local Anvil node and waits until it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const port = options.port ?? 8545;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(options.chainId ?? 31337)];
  if (options.stateFile) args.push("--state", options.stateFile, "--state-interval", String(options.stateInterval ?? 1));
  if (options.blockTime) args.push("--block-time", String(options.blockTime));
  // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop Anvil last, after
  // the provider's final redeem. If this process exits any other way, Anvil is told to stop too.
  const child = spawn(findAnvil(), args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const stopOnExit = () => child.kill("SIGINT");
  process.once("exit", stopOnExit);
  child.once("exit", () => process.off("exit", stopOnExit));
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
