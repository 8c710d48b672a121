import { afterAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { startDevnet } from "../../src/chain/startDevnet.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { createGatewayStore } from "../../src/gateway/createGatewayStore.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { runGotong, spawnGotong } from "../helpers/cli.ts";
import { freePort } from "../helpers/ports.ts";
import { tempHome } from "../helpers/tempHome.ts";

describe("gotong up on the embedded defaults", () => {
  const home = tempHome();
  afterAll(() => home.cleanup());

  it("starts a whole network on a generated test model, answers `gotong chat`, and on Ctrl-C pays, redeems and stops cleanly", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const up = spawnGotong(["up", "--home", home.root, "--chain-port", String(ports[0]), "--provider-port", String(ports[1]), "--gateway-port", String(ports[2])], {}, { ownGroup: true });
    try {
      await up.waitFor(/Gotong is up/, 120_000);
      expect(up.stdout()).toContain(`http://127.0.0.1:${ports[2]}/v1`);
      expect(up.stdout()).toMatch(/private key\s+0x[0-9a-f]{64}/);
      expect(up.stdout()).toContain("curl ");
      const info = JSON.parse(readFileSync(home.upFile, "utf8"));
      expect(info).toMatchObject({ baseUrl: `http://127.0.0.1:${ports[2]}/v1`, rpcUrl: `http://127.0.0.1:${ports[0]}`, model: { name: "gotong-test-model", testModel: true } });
      expect(info.account.privateKey).toMatch(/^0x[0-9a-f]{64}$/);
      expect(info.contracts.paymentChannels).toMatch(/^0x[0-9a-fA-F]{40}$/);
      // `gotong up` mounts the web app on its gateway (the gateway alone serves none): the page `npm install` built.
      const page = await fetch(`http://127.0.0.1:${ports[2]}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await page.text()).toContain('<script type="module"');

      const chat = await runGotong(["chat", "Hello there", "--home", home.root, "--max-tokens", "12"]);
      expect(chat.code).toBe(0);
      expect(chat.stdout.trim().length).toBeGreaterThan(0);
      expect(chat.stderr).toMatch(/cost \d+ base units/);

      const receipts = await runGotong(["receipts", "--home", home.root, "--json"]);
      expect(receipts.code).toBe(0);
      const list = JSON.parse(receipts.stdout) as { cost: string; outputTokens: number; model: string }[];
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ model: "gotong-test-model" });
      expect(BigInt(list[0]!.cost)).toBeGreaterThan(0n);
    } finally {
      process.kill(-up.child.pid!, "SIGINT"); // what Ctrl-C in a terminal does: the whole process group
      expect(await up.exited).toBe(0);
    }
    expect(existsSync(home.anvilState)).toBe(true);

    // On the way out the gateway paid for its last request and the provider redeemed it.
    const devnet = await startDevnet({ home, port: ports[0] });
    try {
      const info = JSON.parse(readFileSync(home.upFile, "utf8"));
      const store = createGatewayStore(join(home.gateway, `gateway-${info.account.address.toLowerCase()}.db`));
      const channel = store.listChannels()[0]!;
      store.close();
      const clients = createClients({ rpcUrl: devnet.anvil.rpcUrl, chainId: 31337, account: privateKeyToAccount(info.account.privateKey) });
      const onchain = await readChannel(clients.public, devnet.deployment.paymentChannels, channel.channelId);
      expect(channel.spent).toBeGreaterThan(0n);
      expect(onchain.redeemed).toBe(channel.spent);
    } finally {
      await devnet.stop();
    }
  });

  it("explains a bad command line", async () => {
    const result = await runGotong(["provider", "start", "--home", home.root]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--model FILE.gguf is required/);
  });
});
