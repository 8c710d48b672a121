import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { createLogger } from "../common/logger.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { channelIdOf } from "../protocol/channelId.ts";
import { createChannelManager, type ChannelDeposit, type ChannelFunder } from "./createChannelManager.ts";
import { createGatewayStore } from "./createGatewayStore.ts";

const sender = "0x00000000000000000000000000000000000000c1" as Address;
const provider = "0x00000000000000000000000000000000000000a1" as Address;
const modelId = 7n;
const DEPOSIT = 1_000n;
const idOf = (salt: bigint) => channelIdOf(sender, provider, modelId, salt);

/**
 * A chain that holds PaymentChannels' state for one sender, as `getChannel` and `latest` block
 * answer it, and a funder that changes it as the contract would (open, topUp, withdraw).
 */
function fakeChain() {
  const channels = new Map<Hex, OnchainChannel>();
  let now = 1_700_000_000n;
  const deposits: ChannelDeposit[] = [];
  const withdrawn: Hex[] = [];
  const empty = (): OnchainChannel => ({ sender: zeroAddress, provider: zeroAddress, modelId: 0n, deposit: 0n, redeemed: 0n, royaltyBps: 0, feeBps: 0, epoch: 0n, closesAt: 0n });
  const get = (id: Hex) => channels.get(id) ?? empty();
  const publicClient = {
    readContract: async ({ functionName, args }: { functionName: string; args: [Hex] }) => {
      if (functionName !== "getChannel") throw new Error(`unexpected read ${functionName}`);
      return { ...get(args[0]) };
    },
    getBlock: async () => ({ timestamp: now }),
  };
  const funder: ChannelFunder = {
    sender,
    async deposit(request) {
      deposits.push(request);
      if (request.kind === "open") {
        const id = channelIdOf(sender, request.provider, request.modelId, request.salt);
        const before = get(id);
        if (before.deposit !== 0n) throw new Error(`ChannelAlreadyOpen(${id})`);
        channels.set(id, { ...before, sender, provider: request.provider, modelId: request.modelId, deposit: request.amount, redeemed: 0n, closesAt: 0n });
      } else {
        const c = get(request.channelId);
        if (c.closesAt !== 0n) throw new Error(`ChannelAlreadyClosing(${request.channelId})`);
        channels.set(request.channelId, { ...c, deposit: c.deposit + request.amount });
      }
    },
    async close(channelId) {
      channels.set(channelId, { ...get(channelId), closesAt: now + 3_600n });
      return { hash: "0x01" };
    },
    async withdraw(channelId) {
      const c = get(channelId);
      if (c.closesAt === 0n || now < c.closesAt) throw new Error(`cannot withdraw ${channelId}`);
      withdrawn.push(channelId);
      channels.set(channelId, { ...c, deposit: 0n, redeemed: 0n, closesAt: 0n, epoch: c.epoch + 1n });
      return { hash: "0x02", refund: c.deposit - c.redeemed };
    },
  };
  return {
    clients: { public: publicClient } as unknown as ChainClients,
    funder,
    deposits,
    withdrawn,
    get,
    /** Starts a close from outside the gateway (the CLI, the web app). */
    closeBehindTheGatewaysBack: (id: Hex) => channels.set(id, { ...get(id), closesAt: now + 3_600n }),
    advance: (seconds: bigint) => void (now += seconds),
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(path?: string) {
  if (!path) {
    const dir = mkdtempSync(join(tmpdir(), "gotong-channels-"));
    dirs.push(dir);
    path = join(dir, "gateway.db");
  }
  const chain = fakeChain();
  const store = createGatewayStore(path);
  const deployment = { chainId: 31337, paymentChannels: "0x00000000000000000000000000000000000000dd", token: { address: zeroAddress, decimals: 6, symbol: "gUSD" } } as unknown as Deployment;
  const manager = (c = chain, channelsPerPair?: number) =>
    createChannelManager({
      channelsPerPair,
      clients: c.clients,
      account: privateKeyToAccount(`0x${"11".repeat(32)}`),
      deployment,
      store,
      logger: createLogger({ level: "error" }),
      deposit: DEPOSIT,
      funder: c.funder,
    });
  return { chain, store, manager, path };
}

describe("createChannelManager", () => {
  it("moves a pair to a fresh channel (the next salt) when its channel is closing, and stays there", async () => {
    const { chain, store, manager } = setup();
    const channels = manager();
    expect(channels.channelIdFor(provider, modelId)).toBe(idOf(0n));
    const first = await channels.ensureChannel(provider, modelId, 100n);
    expect(first).toMatchObject({ channelId: idOf(0n), salt: 0n, deposit: DEPOSIT, spent: 0n });

    chain.closeBehindTheGatewaysBack(idOf(0n));
    channels.forget(idOf(0n)); // as after the provider refused it as closing
    const fresh = await channels.ensureChannel(provider, modelId, 100n);
    expect(fresh).toMatchObject({ channelId: idOf(1n), salt: 1n, epoch: 0n, deposit: DEPOSIT, spent: 0n });
    expect(chain.deposits).toEqual([
      { kind: "open", provider, modelId, salt: 0n, amount: DEPOSIT },
      { kind: "open", provider, modelId, salt: 1n, amount: DEPOSIT },
    ]);
    expect(channels.channelIdFor(provider, modelId)).toBe(idOf(1n));
    // The closing one is kept, with nothing left to spend on it (the provider redeems it meanwhile).
    expect(store.getChannel(idOf(0n))).toMatchObject({ salt: 0n, deposit: 0n, spent: 0n });
    expect(channels.closingUntil(idOf(0n))).toBe(chain.get(idOf(0n)).closesAt);
    expect(chain.withdrawn).toEqual([]);

    // Once the old channel is withdrawn, the pair stays on the fresh one: no second deposit is locked.
    chain.advance(3_600n);
    expect(await channels.withdraw(idOf(0n))).toBe(DEPOSIT);
    expect(await channels.ensureChannel(provider, modelId, 100n)).toMatchObject({ channelId: idOf(1n) });
    expect(chain.deposits).toHaveLength(2);
  });

  it("reopens a withdrawn salt before taking a new one, and skips every salt that is closing", async () => {
    const { chain, manager } = setup();
    const channels = manager();
    await channels.ensureChannel(provider, modelId, 1n);
    await channels.close(idOf(0n));
    await channels.ensureChannel(provider, modelId, 1n); // salt 1
    await channels.close(idOf(1n));
    expect((await channels.ensureChannel(provider, modelId, 1n)).salt).toBe(2n);

    // Salt 0's challenge period ends; then salt 2 closes: the pair goes back to salt 0, in epoch 1.
    chain.advance(3_600n);
    await channels.withdraw(idOf(0n));
    await channels.withdraw(idOf(1n));
    await channels.close(idOf(2n));
    const reopened = await channels.ensureChannel(provider, modelId, 1n);
    expect(reopened).toMatchObject({ channelId: idOf(0n), salt: 0n, epoch: 1n, deposit: DEPOSIT, spent: 0n });
    expect(chain.deposits.map((d) => (d.kind === "open" ? d.salt : -1n))).toEqual([0n, 1n, 2n, 0n]);
  });

  it("withdraws and reopens the current channel in a fresh epoch when its challenge period is already over", async () => {
    const { chain, manager } = setup();
    const channels = manager();
    await channels.ensureChannel(provider, modelId, 1n);
    chain.closeBehindTheGatewaysBack(idOf(0n));
    channels.forget(idOf(0n));
    chain.advance(3_600n);
    const record = await channels.ensureChannel(provider, modelId, 1n);
    expect(record).toMatchObject({ channelId: idOf(0n), salt: 0n, epoch: 1n, deposit: DEPOSIT });
    expect(chain.withdrawn).toEqual([idOf(0n)]);
  });

  it("after a restart, serves on the pair's most recently used channel", async () => {
    const { chain, store, manager, path } = setup();
    const channels = manager();
    await channels.ensureChannel(provider, modelId, 1n);
    await channels.close(idOf(0n));
    await channels.ensureChannel(provider, modelId, 1n);
    store.close();

    const again = setup(path);
    const restarted = again.manager(chain);
    expect(restarted.channelIdFor(provider, modelId)).toBe(idOf(1n));
    expect(await restarted.ensureChannel(provider, modelId, 1n)).toMatchObject({ channelId: idOf(1n), deposit: DEPOSIT });
    expect(chain.deposits).toHaveLength(2);
    again.store.close();
  });

  it("keeps one channel per lane: lanes start on distinct salts, a closing lane moves to a salt no other lane uses, and a restart finds them all", async () => {
    const { chain, store, manager, path } = setup();
    const channels = manager(chain, 3);
    expect(channels.channelsPerPair).toBe(3);
    expect([0, 1, 2].map((lane) => channels.channelIdFor(provider, modelId, lane))).toEqual([idOf(0n), idOf(1n), idOf(2n)]);
    for (const lane of [0, 1, 2]) expect((await channels.ensureChannel(provider, modelId, 1n, lane)).salt).toBe(BigInt(lane));
    expect(channels.laneOf(idOf(2n))).toBe(2);
    expect(channels.isOpen(idOf(1n))).toBe(true);
    expect(() => channels.channelIdFor(provider, modelId, 3)).toThrow(/lane 3/);

    // Lane 1's channel closes: it moves to salt 3, not onto lane 0's or lane 2's channel.
    await channels.close(idOf(1n));
    expect(channels.isOpen(idOf(1n))).toBe(false);
    expect(await channels.ensureChannel(provider, modelId, 1n, 1)).toMatchObject({ channelId: idOf(3n), salt: 3n });
    expect(channels.channelIdFor(provider, modelId, 1)).toBe(idOf(3n));
    expect(chain.deposits.map((d) => (d.kind === "open" ? d.salt : -1n))).toEqual([0n, 1n, 2n, 3n]);
    store.close();

    // After a restart the lanes start on the known channels; the one that turns out closing moves
    // to the open one no other lane holds: three distinct open channels, nothing new opened.
    const again = setup(path);
    const restarted = again.manager(chain, 3);
    for (const lane of [0, 1, 2]) restarted.channelIdFor(provider, modelId, lane);
    const ensured = [];
    for (const lane of [0, 1, 2]) ensured.push((await restarted.ensureChannel(provider, modelId, 1n, lane)).channelId);
    expect(new Set(ensured)).toEqual(new Set([idOf(0n), idOf(2n), idOf(3n)]));
    expect(chain.deposits).toHaveLength(4);
    again.store.close();
  });

  it("refuses a channel count below 1 or not whole", () => {
    const { manager, chain } = setup();
    expect(() => manager(chain, 0)).toThrow(/channelsPerPair/);
    expect(() => manager(chain, 1.5)).toThrow(/channelsPerPair/);
  });
});
