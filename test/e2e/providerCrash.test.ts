import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readChannel } from "../../src/payments/readChannel.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { spawnGotong, type CliProcess } from "../helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { waitFor } from "../helpers/waitFor.ts";

describe("a provider killed with SIGKILL while serving", () => {
  let net: ChatNetwork;
  let gateway: RunningGateway;
  const key = generatePrivateKey();
  let keyFile: string;
  let port: number;
  const children: CliProcess[] = [];

  const startProviderProcess = async () => {
    const p = spawnGotong(["provider", "start", "--model", net.model.path, "--home", net.home.root, "--key", keyFile, "--port", String(port), "--threads", "1", "--price-input", "1", "--price-output", "2"]);
    children.push(p);
    await p.waitFor(/serving/);
    return p;
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    keyFile = join(net.home.keys, "crash-provider.key");
    writeFileSync(keyFile, key, { mode: 0o600 });
    port = await freePort();
    gateway = await net.gateway();
  });
  afterAll(async () => {
    for (const c of children) c.child.kill("SIGKILL");
    await net?.stop();
  });

  it("redeems the last voucher it accepted after it is started again", async () => {
    const first = await startProviderProcess();
    const ask = (stream: boolean, max: number) => postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: max, stream });
    const paid = await ask(false, 16);
    expect(paid.status).toBe(200);
    const firstCost = BigInt(paid.headers.get("x-gotong-cost")!);

    // The second request carries a voucher for the first; kill the provider as it streams.
    const streaming = await ask(true, 400);
    expect(streaming.status).toBe(200);
    const reader = streaming.body!.getReader();
    await reader.read();
    first.child.kill("SIGKILL");
    await first.exited;
    while (!(await reader.read().catch(() => ({ done: true }))).done) {
      /* drain what the gateway sends after the provider died */
    }

    const channel = gateway.store.listChannels()[0]!;
    const before = await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId);
    expect(before.redeemed).toBe(0n);

    await startProviderProcess(); // redeems on start
    const redeemed = await waitFor(async () => (await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId)).redeemed || undefined, {
      what: "the restarted provider to redeem the voucher it held",
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    expect(redeemed).toBe(firstCost);
    expect(privateKeyToAccount(key).address).toBe(channel.provider);
  });
});
