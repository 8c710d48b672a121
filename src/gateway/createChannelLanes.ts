import type { Hex } from "viem";
import { GotongError } from "../common/errors.ts";

/** Gives the lane back; call once, when the request's receipt has been dealt with. */
export type LaneRelease = () => void;

export type ChannelLanes = {
  /**
   * Waits for the channel's lane: resolves once no other request of this gateway is in flight on
   * the channel. Refuses at once (429) when `maxWaiting` requests already wait for it, and drops a
   * waiter as soon as `signal` aborts (its client left).
   */
  acquire(channelId: Hex, signal: AbortSignal): Promise<LaneRelease>;
  /**
   * Throws the same 429 as `acquire` when the channel's queue is already full, and does nothing
   * otherwise: a request that would be refused learns it before any work is done for it (its
   * terms, a prompt count, a context-size lookup), which keeps refusals cheap under overload.
   */
  refuseIfFull(channelId: Hex): void;
  /** Requests in flight or waiting on a channel. */
  load(channelId: Hex): number;
};

type Waiter = { resolve(release: LaneRelease): void; reject(error: unknown): void; signal: AbortSignal; onAbort(): void };
type Lane = { busy: boolean; waiting: Waiter[] };

/** The refusal of a request whose channel already has a full queue. */
function queueFull(lane: Lane): GotongError {
  return new GotongError(`The gateway already has ${lane.waiting.length + 1} requests for this provider and model in flight or waiting`, {
    code: "too_many_requests",
    status: 429,
    retryable: true,
    hint: "Retry after a second, or send fewer requests at once.",
  });
}

/**
 * One request at a time per payment channel. A provider serves one unpaid request per channel (the
 * most a vanished client can cost it), and each request's voucher must pay for every receipt before
 * it; so requests on one channel follow each other, and the voucher each one carries is exact.
 * Requests on different channels (other providers, other models) run side by side.
 */
export function createChannelLanes(options: { maxWaiting?: number } = {}): ChannelLanes {
  const maxWaiting = options.maxWaiting ?? 64;
  const lanes = new Map<Hex, Lane>();

  const releaseOf = (channelId: Hex, lane: Lane): LaneRelease => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = lane.waiting.shift();
      if (next) {
        next.signal.removeEventListener("abort", next.onAbort);
        next.resolve(releaseOf(channelId, lane));
        return;
      }
      lane.busy = false;
      lanes.delete(channelId);
    };
  };

  return {
    refuseIfFull(channelId) {
      const lane = lanes.get(channelId);
      if (lane?.busy && lane.waiting.length >= maxWaiting) throw queueFull(lane);
    },
    acquire(channelId, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      let lane = lanes.get(channelId);
      if (!lane) {
        lane = { busy: false, waiting: [] };
        lanes.set(channelId, lane);
      }
      if (!lane.busy) {
        lane.busy = true;
        return Promise.resolve(releaseOf(channelId, lane));
      }
      if (lane.waiting.length >= maxWaiting) return Promise.reject(queueFull(lane));
      const current = lane;
      return new Promise<LaneRelease>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const at = current.waiting.indexOf(waiter);
            if (at >= 0) current.waiting.splice(at, 1);
            reject(signal.reason);
          },
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
        current.waiting.push(waiter);
      });
    },
    load(channelId) {
      const lane = lanes.get(channelId);
      return lane ? (lane.busy ? 1 : 0) + lane.waiting.length : 0;
    },
  };
}
