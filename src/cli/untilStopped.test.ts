import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const fixture = join(import.meta.dirname, "../../test/fixtures/cli/slowShutdown.ts");

/** Runs the fixture, sends `signal` once, waits for the clean shutdown to begin, then sends it again. */
async function signalTwice(signal: NodeJS.Signals) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b));
  child.stderr.on("data", (b: Buffer) => (stderr += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const waitFor = async (text: string) => {
    // Generous: on a loaded machine starting tsx alone can take many seconds.
    for (let i = 0; i < 1200 && !stdout.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toContain(text);
  };
  await waitFor("running");
  child.kill(signal);
  await waitFor(`stopping after ${signal}`);
  child.kill(signal);
  return { exit: await exited, stdout, stderr };
}

describe("untilStopped", () => {
  it("a second Ctrl-C during a slow shutdown exits at once, through the exit handlers (which stop the chain)", async () => {
    const { exit, stdout, stderr } = await signalTwice("SIGINT");
    expect(exit).toEqual({ code: 130, signal: null });
    expect(stdout).toContain("exit handler ran with code 130");
    expect(stderr).toMatch(/SIGINT again: stopping now/);
  });

  it("SIGTERM starts the same clean shutdown", async () => {
    expect((await signalTwice("SIGTERM")).exit.code).toBe(130);
  });
});
