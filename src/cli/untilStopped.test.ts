import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const fixture = join(import.meta.dirname, "../../test/fixtures/cli/slowShutdown.ts");

function start() {
  const child = spawn(process.execPath, ["--import", "tsx", fixture], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b));
  child.stderr.on("data", (b: Buffer) => (stderr += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const waitFor = async (text: string) => {
    for (let i = 0; i < 300 && !stdout.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toContain(text);
  };
  return { child, exited, waitFor, output: () => ({ stdout, stderr }) };
}

describe("untilStopped", () => {
  it("a second Ctrl-C during a slow shutdown exits at once, through the exit handlers (which stop the chain)", async () => {
    const cmd = start();
    await cmd.waitFor("running");
    cmd.child.kill("SIGINT");
    await cmd.waitFor("stopping after SIGINT");
    cmd.child.kill("SIGINT");
    expect(await cmd.exited).toEqual({ code: 130, signal: null });
    expect(cmd.output().stdout).toContain("exit handler ran with code 130");
    expect(cmd.output().stderr).toMatch(/SIGINT again: stopping now/);
  });

  it("SIGTERM starts the same clean shutdown", async () => {
    const cmd = start();
    await cmd.waitFor("running");
    cmd.child.kill("SIGTERM");
    await cmd.waitFor("stopping after SIGTERM");
    cmd.child.kill("SIGTERM");
    expect((await cmd.exited).code).toBe(130);
  });
});
