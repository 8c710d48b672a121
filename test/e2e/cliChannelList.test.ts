import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { readDeployment, writeDeployment } from "../../src/chain/deployment.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";
import { tempHome } from "../helpers/tempHome.ts";

type Listed = {
  gateway: string;
  channels: { channelId: `0x${string}`; provider: string; modelId: string; epoch: string; state: string; closesAt: string | null; deposit: string; spent: string; redeemed: string; unredeemed: string }[];
  totals: { channels: number; deposit: string; spent: string; redeemed: string; unredeemed: string };
};

describe("gotong channel list", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let gateway: RunningGateway & { key: `0x${string}` };
  const told: bigint[] = [];
  const list = async (...extra: string[]) => {
    const result = await runGotong(["channel", "list", "--home", net.home.root, "--json", ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Listed;
  };
  /** One paid request, streamed or not; returns the cost the gateway told the client. */
  const pay = async (content: string, stream: boolean) => {
    const res = await postChat(gateway.baseUrl, net.model.name, content, { max_tokens: 8, stream });
    expect(res.status).toBe(200);
    const { cost, streamError } = await readCost(res);
    expect(streamError).toBeUndefined();
    expect(cost).toBeGreaterThan(0n);
    told.push(cost!);
    return cost!;
  };
  const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    gateway = await net.gateway();
    // Where `gotong` looks for the gateway's key by default.
    writeFileSync(join(net.home.keys, "gateway.key"), gateway.key + "\n", { mode: 0o600 });
  });
  afterAll(() => net?.stop());

  it("says what is missing: no gateway state, an unknown subcommand, a chain that does not answer", async () => {
    const empty = tempHome();
    try {
      const none = await runGotong(["channel", "list", "--home", empty.root]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/No gateway state/);
      expect(none.stderr).toMatch(/hint: .*gotong up/);
    } finally {
      empty.cleanup();
    }

    const unknown = await runGotong(["channel", "frobnicate", "--home", net.home.root]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown channel command "frobnicate"/);
    expect(unknown.stderr).toMatch(/Channel commands: gotong channel list/);
    const bare = await runGotong(["channel"]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/Which channel command\?/);

    const away = join(net.home.root, "unreachable-deployment.json");
    writeDeployment(away, { ...readDeployment(net.home.deployment), rpcUrl: `http://127.0.0.1:${await freePort()}` });
    const down = await runGotong(["channel", "list", "--home", net.home.root, "--deployment", away]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/Cannot reach the chain at http:\/\/127\.0\.0\.1:\d+/);
    expect(down.stderr).toMatch(/hint: .*gotong devnet/);
  });

  it("shows spent as the sum of the costs the client was told, and redeemed as the chain holds it, to the base unit", async () => {
    expect((await list()).channels).toEqual([]);

    for (const [i, prompt] of ["Once upon a time", "A cat", "The sun rose", "Lily went"].entries()) await pay(prompt, i % 2 === 1);
    await gateway.settle(); // the voucher for the last request, sent on its own
    const redeem = await provider.redeemer.redeemNow();
    expect(redeem.amount).toBe(sum(told));
    // One more after the redeem: the gateway has spent it, the chain has not been paid it yet.
    const late = await pay("Tom and Sue", true);

    const listed = await list();
    expect(listed.gateway).toBe(privateKeyToAccount(gateway.key).address);
    expect(listed.channels).toHaveLength(1);
    const [channel] = listed.channels;
    const onchain = await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel!.channelId);
    expect(channel).toMatchObject({ provider: provider.address, modelId: net.modelId.toString(), epoch: "0", state: "open", closesAt: null });
    expect(BigInt(channel!.spent)).toBe(sum(told));
    expect(BigInt(channel!.redeemed)).toBe(onchain.redeemed);
    expect(BigInt(channel!.redeemed)).toBe(sum(told) - late);
    expect(BigInt(channel!.unredeemed)).toBe(late);
    expect(BigInt(channel!.deposit)).toBe(onchain.deposit);
    expect(listed.totals).toEqual({ channels: 1, deposit: channel!.deposit, spent: channel!.spent, redeemed: channel!.redeemed, unredeemed: channel!.unredeemed });

    // The table: token units with base units beside them, and a totals line.
    const table = await runGotong(["channel", "list", "--home", net.home.root]);
    expect(table.code).toBe(0);
    const { decimals } = net.devnet.deployment.token;
    expect(table.stdout).toMatch(new RegExp(`^total \\(1\\).*\\(${channel!.spent}\\).*\\(${channel!.redeemed}\\)$`, "m"));
    expect(table.stdout).toContain(`(${channel!.deposit})`);
    expect(table.stdout).toMatch(new RegExp(`spent − redeemed = 0\\.\\d{1,${decimals}} \\(${late}\\)`));
    expect(table.stdout).toMatch(/\bopen\b/);
  });

  it("follows the channel through closing, withdrawable and closed, keeping the closed epoch's books", async () => {
    const { deployment } = net.devnet;
    await gateway.settle();
    await provider.redeemer.redeemNow();
    const sender = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(gateway.key) });
    const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
    const channelId = (await list()).channels[0]!.channelId;
    const before = await readChannel(net.creator.public, deployment.paymentChannels, channelId);
    expect(before.redeemed).toBe(sum(told));

    await writeAndWait(sender, { ...pc, functionName: "startClose", args: [channelId] });
    const closing = (await list()).channels[0]!;
    expect(closing.state).toBe("closing");
    const closesAt = (await readChannel(net.creator.public, deployment.paymentChannels, channelId)).closesAt;
    expect(closing.closesAt).toBe(new Date(Number(closesAt) * 1000).toISOString());
    const table = await runGotong(["channel", "list", "--home", net.home.root]);
    expect(table.stdout).toMatch(/closing until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((\d+h )?\d+m left\)/);

    await advanceTime(net.creator.public, deployment.challengePeriod);
    expect((await list()).channels[0]!.state).toBe("withdrawable");

    await writeAndWait(sender, { ...pc, functionName: "withdraw", args: [channelId] });
    const closed = (await list()).channels[0]!;
    // The chain has reset the channel for its next epoch; the gateway's epoch is read from its events.
    expect(closed).toMatchObject({ state: "closed", epoch: "0", deposit: before.deposit.toString(), spent: sum(told).toString(), redeemed: sum(told).toString(), unredeemed: "0" });
  });
});
