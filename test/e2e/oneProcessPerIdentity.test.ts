import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { createReader } from "../../src/chain/createClients.ts";
import { readDeployment, type Deployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { generateTestModel, TEST_MODEL_FILE_NAME } from "../../src/model/generateTestModel.ts";
import { runGotong, spawnGotong, type CliProcess } from "../helpers/cli.ts";
import { startTestNetwork, type TestNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { tempHome } from "../helpers/tempHome.ts";

/** Polls `condition` until it returns true, or fails saying what it waited for. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether `pid` runs (a zombie does not). */
function running(pid: number): boolean {
  try {
    return !/^[ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "");
  } catch {
    return false;
  }
}

/** Every process whose command line mentions `text`: Anvils on a home's state file, its watchdogs. */
function processesMentioning(text: string): { pid: number; args: string[] }[] {
  const found: { pid: number; args: string[] }[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (args.some((a) => a.includes(text)) && running(Number(entry))) found.push({ pid: Number(entry), args });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

const anvilsOn = (stateFile: string) => processesMentioning(stateFile).filter((p) => /anvil$/.test(p.args[0]!));
const anvilPidOf = (home: { anvilPidFile: string }) => (JSON.parse(readFileSync(home.anvilPidFile, "utf8")) as { pid: number }).pid;
const balanceOf = (deployment: Deployment, address: Address) => createReader(deployment).readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [address] });

describe("a second `gotong provider start` in the same home", () => {
  let net: TestNetwork;
  let gateway: RunningGateway;
  let modelPath: string;
  const children: CliProcess[] = [];

  const endpointOf = async (address: Address) =>
    ((await createReader(net.devnet.deployment).readContract({ address: net.devnet.deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "getProvider", args: [address] })) as { endpoint: string }).endpoint;
  const start = (port: number, extra: string[] = []) => {
    const p = spawnGotong(["provider", "start", "--model", modelPath, "--home", net.home.root, "--port", String(port), "--threads", "1", "--json", ...extra]);
    children.push(p);
    return p;
  };
  const started = async (p: CliProcess) => JSON.parse(await p.waitFor(/\{"url".*\}/, 120_000)) as { url: string; address: Address };

  beforeAll(async () => {
    net = await startTestNetwork();
    modelPath = join(net.home.models, TEST_MODEL_FILE_NAME);
    await generateTestModel(modelPath);
    await net.publish(modelPath, "gotong-test-model");
    gateway = await net.gateway({ offersRefreshMs: 0 });
  });
  afterAll(async () => {
    for (const c of children) c.child.kill("SIGKILL");
    await net?.stop();
  });

  it("is refused with the first one's pid, and the first keeps serving at its on-chain endpoint; --name starts a second identity", async () => {
    const [port1, port2, port3] = [await freePort(), await freePort(), await freePort()];
    const first = start(port1);
    const one = await started(first);
    expect(await endpointOf(one.address)).toBe(`http://127.0.0.1:${port1}`);

    const second = await runGotong(["provider", "start", "--model", modelPath, "--home", net.home.root, "--port", String(port2), "--threads", "1"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`The provider ${one.address} in ${net.home.root} is already in use by process ${first.child.pid} (gotong provider start`);
    expect(second.stderr).toMatch(/running since \d{4}-\d\d-\d\dT/);
    expect(second.stderr).toContain("--name NAME");

    // Nothing was taken over: the endpoint on-chain is still the first one's, and it answers.
    expect(await endpointOf(one.address)).toBe(`http://127.0.0.1:${port1}`);
    const res = await postChat(gateway.baseUrl, "gotong-test-model", "Hello", { max_tokens: 4 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gotong-provider")?.toLowerCase()).toBe(one.address.toLowerCase());
    expect(first.child.exitCode).toBeNull();

    // A named provider is its own identity: key, HPKE key, database and lock of its own.
    const other = start(port3, ["--name", "other"]);
    const two = await started(other);
    expect(two.address).not.toBe(one.address);
    expect(await endpointOf(two.address)).toBe(`http://127.0.0.1:${port3}`);
    expect(await endpointOf(one.address)).toBe(`http://127.0.0.1:${port1}`);
    const dir = join(net.home.root, "providers", "other");
    expect(privateKeyToAccount(readFileSync(join(dir, "keys", "provider.key"), "utf8").trim() as `0x${string}`).address).toBe(two.address);
    expect(existsSync(join(dir, "keys", "provider-hpke.pem"))).toBe(true);
    expect(existsSync(join(dir, `provider-${two.address.toLowerCase()}.db`))).toBe(true);
    expect(readFileSync(join(net.home.keys, "provider-hpke.pem"), "utf8")).not.toBe(readFileSync(join(dir, "keys", "provider-hpke.pem"), "utf8"));

    // A clean stop releases the lock: the same identity starts again at once.
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    expect(existsSync(join(net.home.locks, `provider-${one.address.toLowerCase()}.lock`))).toBe(false);
    const again = await started(start(port2));
    expect(again.address).toBe(one.address);
    expect(await endpointOf(one.address)).toBe(`http://127.0.0.1:${port2}`);
  });
});

describe("a local network killed with SIGKILL", () => {
  const home = tempHome();
  const children: CliProcess[] = [];
  afterAll(() => {
    for (const c of children) c.child.kill("SIGKILL");
    for (const { pid } of anvilsOn(home.anvilState)) process.kill(pid, "SIGKILL");
    home.cleanup();
  });

  it("`gotong up`: leaves no Anvil behind, a second `up` is refused while the first runs, and the next one resumes the chain", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const args = ["up", "--home", home.root, "--chain-port", String(ports[0]), "--provider-port", String(ports[1]), "--gateway-port", String(ports[2]), "--threads", "1"];
    const up = spawnGotong(args, {}, { ownGroup: true });
    children.push(up);
    await up.waitFor(/Gotong is up/, 180_000);

    const refused = await runGotong(["up", "--home", home.root, "--chain-port", String(await freePort())]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is already in use by process ${up.child.pid} (gotong up`);

    const deployment = readDeployment(home.deployment);
    const user = privateKeyToAccount(generatePrivateKey()).address;
    await fundOnDevnet(deployment, user, { tokens: 4_080n });
    const anvil = anvilPidOf(home);
    expect(running(anvil)).toBe(true);

    process.kill(-up.child.pid!, "SIGKILL"); // kill -9 of the whole terminal job
    await up.exited;
    await until(() => !running(anvil), "the orphaned Anvil to stop once its parent died", 20_000);

    const next = spawnGotong(args, {}, { ownGroup: true });
    children.push(next);
    await next.waitFor(/Gotong is up/, 180_000);
    expect(await balanceOf(readDeployment(home.deployment), user)).toBe(4_080n);
    expect(anvilsOn(home.anvilState).map((p) => p.pid)).toEqual([anvilPidOf(home)]);
    process.kill(-next.child.pid!, "SIGINT");
    expect(await next.exited).toBe(0);
    expect(anvilsOn(home.anvilState)).toEqual([]);
    expect(processesMentioning("gotong-anvil-watchdog").filter((p) => p.args.includes(String(anvil)))).toEqual([]);
    expect(readdirSync(home.locks)).toEqual([]);
  });

  it("`gotong devnet` killed together with its watchdog: the next start stops the orphan (which saves the chain) instead of adopting it", async () => {
    const port = await freePort();
    const first = spawnGotong(["devnet", "--home", home.root, "--port", String(port)]);
    children.push(first);
    await first.waitFor(/devnet running/);
    const deployment = readDeployment(home.deployment);
    const user = privateKeyToAccount(generatePrivateKey()).address;
    await fundOnDevnet(deployment, user, { tokens: 3_910n });
    const anvil = anvilPidOf(home);
    for (const w of processesMentioning("gotong-anvil-watchdog").filter((p) => p.args.includes(String(anvil)))) process.kill(w.pid, "SIGKILL");
    first.child.kill("SIGKILL");
    await first.exited;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(running(anvil)).toBe(true); // an orphan, still on the port and the state file

    const second = spawnGotong(["devnet", "--home", home.root, "--port", String(port)]);
    children.push(second);
    await second.waitFor(/devnet running/);
    // The log lines go to stderr, the "running" line to stdout: two pipes, read in no fixed order.
    await second.waitFor(/resumed from saved state/);
    expect(second.stderr()).toMatch(/stopping an Anvil left running/);
    expect(second.stderr()).toMatch(/resumed from saved state/);
    expect(running(anvil)).toBe(false);
    expect(await balanceOf(readDeployment(home.deployment), user)).toBe(3_910n);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
    expect(anvilsOn(home.anvilState)).toEqual([]);
  });
});
