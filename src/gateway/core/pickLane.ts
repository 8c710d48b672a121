import type { Hex } from "viem";
import type { Offer } from "../discoverOffers.ts";
import type { CoreDeps } from "./types.ts";

/**
 * Where each pair's last lane was taken, per gateway: the next search starts after it, so requests
 * arriving together take idle lanes one after another instead of each scanning past all the busy
 * ones (with a thousand lanes that scan, a store read per lane, made a burst quadratic).
 */
const searchStarts = new WeakMap<CoreDeps["channels"], Map<string, number>>();

/**
 * The channel a request to `offer` goes through, of the pair's `channelsPerPair`: an idle open one,
 * else an idle one not open yet (opening costs a transaction, so only when every open one is busy),
 * else the one with the shortest queue. With one channel per pair, always that one. `take` marks
 * the choice as taken (the search after it starts at the next lane); a mere look does not.
 */
export function pickLane({ channels, lanes }: Pick<CoreDeps, "channels" | "lanes">, offer: Offer, take = true): { lane: number; channelId: Hex } {
  const width = channels.channelsPerPair;
  let starts = searchStarts.get(channels);
  if (!starts) searchStarts.set(channels, (starts = new Map()));
  const pair = `${offer.provider}:${offer.modelId}`;
  const start = starts.get(pair) ?? 0;
  let idle: { lane: number; channelId: Hex } | undefined;
  let shortest: { lane: number; channelId: Hex; load: number } | undefined;
  for (let i = 0; i < width; i++) {
    const lane = (start + i) % width;
    const channelId = channels.channelIdFor(offer.provider, offer.modelId, lane);
    const load = lanes.load(channelId);
    if (load === 0 && channels.isOpen(channelId)) {
      if (take) starts.set(pair, (lane + 1) % width);
      return { lane, channelId };
    }
    if (load === 0) idle ??= { lane, channelId };
    if (!shortest || load < shortest.load) shortest = { lane, channelId, load };
  }
  return idle ?? shortest!;
}
