import { afterAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateTestModel } from "../../src/model/generateTestModel.ts";
import { runGotong, spawnGotong } from "../helpers/cli.ts";
import { freePort } from "../helpers/ports.ts";
import { tempHome } from "../helpers/tempHome.ts";

/** `gotong up` mints test funds once, says to whom, and registers a third party's model on the terms it was given. */
describe("gotong up funding and model terms", () => {
  const home = tempHome();
  afterAll(() => home.cleanup());

  const up = async (extra: string[]) => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const p = spawnGotong(["up", "--home", home.root, "--chain-port", String(ports[0]), "--provider-port", String(ports[1]), "--gateway-port", String(ports[2]), ...extra], {}, { ownGroup: true });
    try {
      await p.waitFor(/Gotong is up/, 120_000);
      const balance = await runGotong(["balance", "--home", home.root, "--json"]);
      expect(balance.code, balance.stderr).toBe(0);
      return { stdout: p.stdout(), info: JSON.parse(readFileSync(home.upFile, "utf8")), balances: JSON.parse(balance.stdout).accounts as { role: string; token: string; native: string }[] };
    } finally {
      process.kill(-p.child.pid!, "SIGINT");
      expect(await p.exited).toBe(0);
    }
  };

  it("mints on the first start only, and registers --model with the --royalty-bps and --license given", async () => {
    const model = join(home.root, "someone-elses.gguf");
    await generateTestModel(model);
    const first = await up(["--model", model, "--royalty-bps", "250", "--license", "MIT"]);
    expect(first.stdout).toMatch(new RegExp(`test funds minted +1000 \\w+ \\+ 100 ETH to your account ${first.info.account.address}`));
    expect(first.stdout).toMatch(/1000 \w+ \+ 100 ETH to provider 0x/);
    expect(first.stdout).toMatch(/0 \w+ \+ 100 ETH to creator 0x/);
    expect(first.stdout).toMatch(new RegExp(`registered now as model #1 to your creator key ${first.info.creator.address}: royalty 250 bps \\(2\\.5%\\), licence MIT`));
    expect(first.info.minted.map((m: { role: string }) => m.role)).toEqual(["gateway", "creator", "provider"]);

    const second = await up(["--model", model]);
    expect(second.stdout).toMatch(/none minted on this start/);
    expect(second.info.minted).toEqual([]);
    expect(second.stdout).toMatch(/registered model #1 .*royalty 250 bps/);
    // Nothing was refilled: each token balance is what the first run left (the provider staked, the gateway deposited).
    for (const account of second.balances) expect(account.token).toBe(first.balances.find((b) => b.role === account.role)!.token);

    const changed = spawnGotong(["up", "--home", home.root, "--model", model, "--royalty-bps", "300", "--chain-port", String(await freePort())]);
    expect(await changed.exited).toBe(1);
    expect(changed.stderr()).toMatch(/royalty 250 bps \(you asked 300\)/);
  });
});
