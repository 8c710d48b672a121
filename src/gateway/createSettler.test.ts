import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import { quietLogger } from "../../test/helpers/network.ts";
import type { ChannelRecord } from "./createGatewayStore.ts";
import { createSettler } from "./createSettler.ts";

const provider = "0x00000000000000000000000000000000000000aa" as Address;
const channelId = `0x${"11".repeat(32)}` as Hex;

describe("the gateway's settler", () => {
  let server: Server;
  let endpoint: string;
  let posted: string[];
  beforeEach(async () => {
    posted = [];
    server = createServer((req, res) => {
      posted.push(String(req.headers["x-gotong-voucher"]));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ accepted: true, owed: "0" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const settlerWith = (channel: { spent: bigint }) => {
    const record = (): ChannelRecord => ({ channelId, provider, modelId: 1n, salt: 0n, epoch: 0n, deposit: 1_000n, spent: channel.spent });
    return createSettler({
      store: { listChannels: () => [record()] } as never,
      channels: { voucherFor: async (c) => ({ channelId: c.channelId, epoch: c.epoch, cumulativeAmount: c.spent, signature: "0x00" as Hex }) },
      endpointOf: async () => endpoint,
      readChannel: async () => ({ sender: provider, provider, modelId: 1n, deposit: 1_000n, redeemed: 0n, epoch: 0n, closesAt: 0n }) as never,
      chainNow: async () => 1n,
      logger: quietLogger(),
    });
  };

  it("an idle round settles a channel only once its spending has stood still for a whole round", async () => {
    const channel = { spent: 10n };
    const settler = settlerWith(channel);
    expect(await settler.settleIdle()).toBe(0); // first sight of 10: maybe still in use
    channel.spent = 20n;
    expect(await settler.settleIdle()).toBe(0); // moved: in use, its next request carries the voucher
    expect(await settler.settleIdle()).toBe(1); // still 20 a round later: idle, settled
    expect(await settler.settleIdle()).toBe(0); // sent once per amount
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain(":20:");
  });

  it("settle() sends at once, whatever the channel's last round saw (on stop, or asked for)", async () => {
    const settler = settlerWith({ spent: 10n });
    expect(await settler.settle()).toBe(1);
    expect(posted).toHaveLength(1);
  });

  it("a timer round that finds the previous one still running waits for it instead of starting another", async () => {
    const settler = settlerWith({ spent: 10n });
    await settler.settleIdle();
    const [a, b] = [settler.settleIdle(), settler.settleIdle()];
    expect(a).toBe(b);
    expect(await a).toBe(1);
    expect(posted).toHaveLength(1);
  });
});
