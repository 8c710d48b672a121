import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveHome } from "../../src/common/home.ts";
import { freePort } from "../helpers/ports.ts";

/**
 * The npm package as a user gets it: `npm pack` (which builds dist/ through `prepack`), the tarball
 * installed into an empty folder from the registry, then `npx gotong up`, `npx gotong chat`, the
 * web app, and a plain Node script (no tsx, no TypeScript) importing `gotong/agent`. The package is
 * built in a copy of this checkout, so the checkout's own dist/ (which tests of the sources use for
 * the web app) is never touched, and a clean clone with no dist/ works the same.
 *
 * Slow by nature: installing builds better-sqlite3 from source (80 s or more on an idle machine);
 * the bounds below only stop a hang, on a machine shared with other work.
 */
const ROOT = resolve(import.meta.dirname, "../..");

describe("the packed npm package, installed into an empty folder", () => {
  const work = mkdtempSync(join(tmpdir(), "gotong-package-"));
  const copy = join(work, "checkout");
  const app = join(work, "app");
  const home = resolveHome(join(work, "home"));
  let tarball: string;

  beforeAll(async () => {
    copyCheckout(ROOT, copy);
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    mkdirSync(join(work, "pack"));
    let started = Date.now();
    await run("npm", ["pack", "--pack-destination", join(work, "pack")], copy, 420_000);
    console.log(`npm pack (building dist/) took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const packed = readdirSync(join(work, "pack")).filter((name) => name.endsWith(".tgz"));
    expect(packed).toEqual(["gotong-0.1.0.tgz"]);
    tarball = join(work, "pack", packed[0]!);

    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "uses-gotong", private: true, type: "module" }));
    started = Date.now();
    // JOBS: node-gyp compiles better-sqlite3's two sources side by side.
    await run("npm", ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline"], app, 720_000, { JOBS: "max" });
    console.log(`npm install of the tarball took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, 1_200_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("carries the built library, CLI, types and web app, and no sources or tests", async () => {
    const files = (await run("tar", ["-tzf", tarball], work, 30_000)).split("\n").filter(Boolean);
    for (const file of ["bin/gotong.js", "dist/cli/main.js", "dist/agent/index.js", "dist/agent/index.d.ts", "dist/web/app/index.html", "package.json", "README.md"]) {
      expect(files).toContain(`package/${file}`);
    }
    expect(files.filter((f) => f.endsWith(".js") && f.includes("/assets/"))).not.toHaveLength(0);
    expect(files.filter((f) => /^package\/(src|test|contracts|scripts|bench|examples)\//.test(f) || /\.test\.|\.ts$/.test(f.replace(/\.d\.ts$/, "")))).toEqual([]);
    // What runs it is Node and the runtime dependencies: neither tsx nor vite nor TypeScript.
    for (const devOnly of ["tsx", "vite", "typescript"]) expect(existsSync(join(app, "node_modules", devOnly)), devOnly).toBe(false);
  });

  it("types `gotong/agent` for a TypeScript user from the declarations", async () => {
    writeFileSync(
      join(app, "consumer.ts"),
      [
        'import { openAgent, parsePeriod, type ChatAnswer } from "gotong/agent";',
        "export const day: number = parsePeriod(\"1d\");",
        "export async function ask(): Promise<bigint> {",
        '  const agent = await openAgent("bot");',
        '  const answer: ChatAnswer = await agent.chat({ model: "m", prompt: "Once upon a time" });',
        "  // @ts-expect-error a chat names its model (this line fails the check if the types were `any`)",
        '  await agent.chat({ prompt: "no model" });',
        "  return answer.cost;",
        "}",
      ].join("\n"),
    );
    const compilerOptions = { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")] };
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
    await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], app, 120_000);
  });

  it("runs `npx gotong up`, `npx gotong chat`, the web app and `gotong/agent` from plain Node, and stops on Ctrl-C leaving nothing running", async () => {
    const [chainPort, providerPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const up = start("npx", ["gotong", "up", "--home", home.root, "--chain-port", String(chainPort), "--provider-port", String(providerPort), "--gateway-port", String(gatewayPort)], app);
    try {
      await up.waitFor(/Gotong is up/, 180_000);
      expect(up.output()).toContain(`http://127.0.0.1:${gatewayPort}/v1`);

      const chat = runAsync("npx", ["gotong", "chat", "Once upon a time", "--home", home.root, "--max-tokens", "12"], app);
      const chatResult = await chat;
      expect(chatResult.code, chatResult.stderr).toBe(0);
      expect(chatResult.stdout.trim().length).toBeGreaterThan(0);
      expect(chatResult.stderr).toMatch(/cost \d+ base units/);

      // The web app, as `npm run build` bundled it: no vite in this folder to build it.
      const page = await fetch(`http://127.0.0.1:${gatewayPort}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeDefined();
      const asset = await fetch(`http://127.0.0.1:${gatewayPort}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(/javascript/);

      const created = await runAsync("npx", ["gotong", "agent", "create", "bot", "--home", home.root, "--budget", "5", "--max-per-tx", "2", "--period", "1d", "--fund", "10"], app);
      expect(created.code, created.stderr).toBe(0);
      writeFileSync(
        join(app, "agent.mjs"),
        [
          'import { openAgent } from "gotong/agent";',
          "const agent = await openAgent(\"bot\", { home: process.argv[2] });",
          "try {",
          '  const answer = await agent.chat({ model: "gotong-test-model", prompt: "Once upon a time", maxTokens: 8 });',
          "  const budget = await agent.budget();",
          '  console.log(JSON.stringify({ resolved: import.meta.resolve("gotong/agent"), answer, budget }, (_, v) => (typeof v === "bigint" ? `${v}` : v)));',
          "} finally {",
          "  await agent.close();",
          "}",
        ].join("\n"),
      );
      const script2 = await runAsync(process.execPath, ["agent.mjs", home.root], app);
      expect(script2.code, script2.stderr).toBe(0);
      const result = JSON.parse(script2.stdout) as { resolved: string; answer: { content: string; cost: string; outputTokens: number }; budget: { spent: string; left: string } };
      expect(result.resolved).toBe(`file://${join(app, "node_modules", "gotong", "dist", "agent", "index.js")}`);
      expect(result.answer.outputTokens).toBeGreaterThan(0);
      expect(BigInt(result.answer.cost)).toBeGreaterThan(0n);
      expect(BigInt(result.budget.spent)).toBeGreaterThan(0n);
      expect(BigInt(result.budget.spent) + BigInt(result.budget.left)).toBe(5_000_000n);
    } finally {
      if (up.child.exitCode === null) process.kill(-up.child.pid!, "SIGINT"); // Ctrl-C in a terminal: the whole process group
    }
    // npm exec dies of the Ctrl-C itself (its `sh -c` does) while gotong shuts down: wait until
    // every process holding the output is gone, bounded so that a hang fails with what is left.
    let bound: NodeJS.Timeout | undefined;
    const ended = await Promise.race([up.closed.then(() => true), new Promise<false>((r) => (bound = setTimeout(() => r(false), 60_000)))]);
    clearTimeout(bound);
    expect(ended, `still running a minute after Ctrl-C:\n${processesUnder(work).join("\n")}\n${up.output()}`).toBe(true);
    expect(up.child.exitCode === 0 || up.child.signalCode === "SIGINT", `npx: exit ${up.child.exitCode} ${up.child.signalCode}`).toBe(true);
    // gotong itself stopped cleanly: paid and redeemed on the way out, no error, the chain's state kept.
    const afterStop = up.output().slice(up.output().indexOf(" stopping"));
    expect(afterStop).toMatch(/redeemed vouchers paid=[1-9]/);
    expect(afterStop).not.toMatch(/Z error /);
    expect(existsSync(home.anvilState)).toBe(true);

    // Nothing left behind: no process working in the install folder or started from it (Anvil
    // runs in its own process group, so the group's exit alone would not show it), no open port,
    // no Anvil pid record.
    expect(processesUnder(work)).toEqual([]);
    for (const port of [chainPort, providerPort, gatewayPort]) expect(await isListening(port), `port ${port}`).toBe(false);
    expect(existsSync(home.anvilPidFile)).toBe(false);
  }, 420_000);
});

/**
 * Copies the files of the checkout a clean clone would have, with this working tree's changes:
 * what git tracks or would add (no node_modules, dist/, caches or other ignored files).
 */
function copyCheckout(from: string, to: string): void {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: from, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    const source = join(from, file);
    if (!existsSync(source)) continue; // deleted in the working tree
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(source, join(to, file));
  }
}

/**
 * The environment of a user's shell: none of this test run's npm, vitest or GOTONG variables, and
 * no PATH entry into this checkout's node_modules.
 */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_|VITEST|GOTONG_|NODE_OPTIONS$|NODE_ENV$|INIT_CWD$)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => !entry.startsWith(join(ROOT, "node_modules")))
    .join(delimiter);
  env.GOTONG_LOG_LEVEL = "info";
  return env;
}

/** Runs a command to completion and returns its stdout; fails with its output unless it exits 0 within `timeoutMs`. */
async function run(command: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<string> {
  const p = start(command, args, cwd, true, env);
  const timer = setTimeout(() => process.kill(-p.child.pid!, "SIGKILL"), timeoutMs);
  const code = await p.closed.finally(() => clearTimeout(timer));
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${code ?? `${p.child.signalCode}, killed after ${timeoutMs} ms`}):\n${p.output()}`.slice(-20_000));
  return p.stdout();
}

/** Runs a command to completion: its exit code and all it printed. */
function runAsync(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = start(command, args, cwd, false);
  return p.closed.then((code) => ({ code, stdout: p.stdout(), stderr: p.stderr() }));
}

/** Starts a command, by default in a process group of its own (so Ctrl-C can be sent to all of it). */
function start(command: string, args: string[], cwd: string, ownGroup = true, env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(command, args, { cwd, env: { ...userEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"], detached: ownGroup });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  // `exited`: the process ended; `closed`: and every process holding its output let go of it.
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const closed = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  return {
    child,
    exited,
    closed,
    stdout: () => out,
    stderr: () => err,
    output: () => `${out}\n${err}`,
    async waitFor(pattern: RegExp, ms: number): Promise<void> {
      const started = Date.now();
      while (!pattern.test(out)) {
        if (child.exitCode !== null) throw new Error(`${command} ${args.join(" ")} exited (${child.exitCode}) before ${pattern}:\n${out}\n${err}`);
        if (Date.now() - started > ms) throw new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Processes (other than this one) whose working folder is inside `dir`, with their command lines. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + sep)) found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Whether something accepts connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once("error", () => resolvePromise(false));
  });
}
