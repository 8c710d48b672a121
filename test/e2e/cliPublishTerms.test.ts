import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { ModelRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { generateTestModel } from "../../src/model/generateTestModel.ts";
import { PICKLE } from "../fixtures/model/pickle.ts";
import { runGotong } from "../helpers/cli.ts";
import { startTestNetwork, type TestNetwork } from "../helpers/network.ts";
import { tempHome } from "../helpers/tempHome.ts";

/** Publishing terms through the CLI: the faucet a fresh key needs, the registry's royalty limit, and republishing. */
describe("gotong model publish terms, devnet fund and balance", () => {
  let net: TestNetwork;
  let modelPath: string;
  const gotong = (...args: string[]) => runGotong([...args, "--home", net.home.root]);
  const modelCount = () => net.creator.public.readContract({ address: net.devnet.deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "modelCount" });

  beforeAll(async () => {
    net = await startTestNetwork();
    modelPath = join(net.home.root, "third-party.gguf");
    await generateTestModel(modelPath);
  });
  afterAll(() => net?.stop());

  it("refuses a pickle renamed .gguf as a pickle even when no chain is running", async () => {
    const empty = tempHome();
    try {
      const pickle = join(empty.root, "model.gguf");
      writeFileSync(pickle, PICKLE);
      const result = await runGotong(["model", "publish", pickle, "--home", empty.root]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/pickle.*arbitrary code/i);
      expect(result.stderr).not.toMatch(/deployment|devnet/i);
    } finally {
      empty.cleanup();
    }
  });

  it("tells a fresh key without gas to use `gotong devnet fund`, which then makes publishing work", async () => {
    const creator = privateKeyToAccount((await gotongKey("creator")) as `0x${string}`).address;
    const broke = await gotong("model", "publish", modelPath);
    expect(broke.code).toBe(1);
    expect(broke.stderr).toMatch(/too little native coin/);
    expect(broke.stderr).toContain(`hint: On the local devnet, get test coin with \`gotong devnet fund ${creator}\``);
    expect(await modelCount()).toBe(0n);

    const funded = await gotong("devnet", "fund", creator, "--tokens", "2.5", "--json");
    expect(funded.code, funded.stderr).toBe(0);
    expect(JSON.parse(funded.stdout)).toMatchObject({ address: creator, ether: `${10n * 10n ** 18n}`, tokens: "2500000" });
    const balance = await gotong("balance", "--json");
    expect(balance.code, balance.stderr).toBe(0);
    expect(JSON.parse(balance.stdout).accounts).toEqual([{ role: "creator", address: creator, native: `${10n * 10n ** 18n}`, token: "2500000" }]);
    const table = await gotong("balance");
    expect(table.stdout).toMatch(new RegExp(`^creator +${creator} +2\\.5 \\w+ \\(2500000\\) +10 ETH \\(${10n * 10n ** 18n} wei\\)$`, "m"));

    const published = await gotong("model", "publish", modelPath, "--royalty-bps", "1000", "--license", "MIT", "--json");
    expect(published.code, published.stderr).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({ modelId: "1", created: true });
  });

  it("refuses a royalty above the registry's MAX_ROYALTY_BPS before sending anything", async () => {
    const other = join(net.home.root, "other.gguf");
    // Other weights: the same file with one byte of its last tensor changed.
    const bytes = readFileSync(modelPath);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(other, bytes);
    const before = await modelCount();
    const result = await gotong("model", "publish", other, "--royalty-bps", "5001");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/5001 bps \(50\.01%\) is above the registry's maximum of 5000 bps/);
    expect(result.stderr).toMatch(/hint: Pass --royalty-bps from 0 to 5000/);
    expect(await modelCount()).toBe(before);
  });

  it("refuses republishing the same weights with other terms, saying what differs, and accepts the same terms", async () => {
    const royalty = await gotong("model", "publish", modelPath, "--royalty-bps", "2000");
    expect(royalty.code).toBe(1);
    expect(royalty.stderr).toMatch(/already registered as model #1 with royalty 1000 bps \(you asked 2000\); nothing was changed/);
    expect(royalty.stderr).toMatch(/gotong model set-royalty 1 BPS/);
    const terms = await gotong("model", "publish", modelPath, "--name", "renamed", "--license", "Apache-2.0");
    expect(terms.code).toBe(1);
    expect(terms.stderr).toMatch(/name "third-party" \(you asked "renamed"\), licence MIT \(you asked Apache-2.0\)/);
    const same = await gotong("model", "publish", modelPath, "--royalty-bps", "1000", "--license", "MIT");
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/already registered: "third-party"/);

    const changed = await gotong("model", "set-royalty", "1", "1500", "--json");
    expect(changed.code, changed.stderr).toBe(0);
    const now = await net.creator.public.readContract({ address: net.devnet.deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "royaltyBpsOf", args: [1n] });
    expect(now).toBe(1500);
  });

  it("devnet fund refuses a bad address and says how to start the chain when it is down", async () => {
    const bad = await gotong("devnet", "fund", "0x1234");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"0x1234" is not an address/);
    const empty = tempHome();
    try {
      const none = await runGotong(["devnet", "fund", "0x000000000000000000000000000000000000dEaD", "--home", empty.root]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/hint: .*gotong devnet/);
    } finally {
      empty.cleanup();
    }
  });

  /** The key the CLI created for a role in this network's home. */
  async function gotongKey(role: string): Promise<string> {
    // `gotong balance` reads keys without creating them; publishing creates the creator's: make it now.
    const { loadOrCreateKey } = await import("../../src/common/keys.ts");
    return loadOrCreateKey(net.home.keys, role);
  }
});
