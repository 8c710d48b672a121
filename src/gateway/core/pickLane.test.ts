import { describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import { createChannelLanes } from "../createChannelLanes.ts";
import type { Offer } from "../discoverOffers.ts";
import { pickLane } from "./pickLane.ts";

const offer = { provider: "0x00000000000000000000000000000000000000aa" as Address, modelId: 1n } as Offer;
const idOf = (lane: number) => `0x${lane.toString(16).padStart(64, "0")}` as Hex;

/** A pair with `width` lanes, those in `open` open, counting the channel lookups a search makes. */
function pairOf(width: number, open: (lane: number) => boolean) {
  const looked = { count: 0 };
  const channels = {
    channelsPerPair: width,
    channelIdFor: (_p: Address, _m: bigint, lane: number) => {
      looked.count++;
      return idOf(lane);
    },
    isOpen: (id: Hex) => open(Number(BigInt(id))),
  } as never;
  return { deps: { channels, lanes: createChannelLanes() }, looked };
}

describe("pickLane", () => {
  it("a burst takes the idle open lanes one after another, looking at each about once (not a scan past every busy one)", async () => {
    const { deps, looked } = pairOf(1_000, () => true);
    const taken: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const { lane, channelId } = pickLane(deps, offer);
      taken.push(lane);
      await deps.lanes.acquire(channelId, new AbortController().signal); // busy from now on
    }
    expect(taken).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(looked.count).toBe(1_000);
  });

  it("prefers an idle open lane to opening one, and opens one only when every open lane is busy", async () => {
    const { deps } = pairOf(3, (lane) => lane === 1);
    const first = pickLane(deps, offer);
    expect(first.lane).toBe(1);
    const release = await deps.lanes.acquire(first.channelId, new AbortController().signal);
    // Lane 1 busy: the next idle lane (not open yet) is chosen, to be opened.
    expect(pickLane(deps, offer).lane).toBe(2);
    release();
    expect(pickLane(deps, offer).lane).toBe(1);
  });

  it("a look (take = false) leaves the next search where it was", () => {
    const { deps } = pairOf(4, () => true);
    expect(pickLane(deps, offer, false).lane).toBe(0);
    expect(pickLane(deps, offer, false).lane).toBe(0);
    expect(pickLane(deps, offer).lane).toBe(0);
    expect(pickLane(deps, offer).lane).toBe(1);
  });

  it("with every lane busy, the one with the shortest queue", async () => {
    const { deps } = pairOf(2, () => true);
    const signal = new AbortController().signal;
    await deps.lanes.acquire(idOf(0), signal);
    await deps.lanes.acquire(idOf(1), signal);
    void deps.lanes.acquire(idOf(0), signal); // lane 0 has one waiting
    expect(pickLane(deps, offer).lane).toBe(1);
  });
});
