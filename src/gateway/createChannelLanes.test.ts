import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { isGotongError } from "../common/errors.ts";
import { createChannelLanes } from "./createChannelLanes.ts";

const A = `0x${"a".repeat(64)}` as Hex;
const B = `0x${"b".repeat(64)}` as Hex;
const never = () => new AbortController().signal;

describe("one request at a time per channel", () => {
  it("runs requests on one channel in arrival order, and other channels beside them", async () => {
    const lanes = createChannelLanes();
    const order: string[] = [];
    const first = await lanes.acquire(A, never());
    const second = lanes.acquire(A, never()).then((release) => (order.push("second"), release));
    const third = lanes.acquire(A, never()).then((release) => (order.push("third"), release));
    const other = await lanes.acquire(B, never()); // another channel is not held up
    expect(lanes.load(A)).toBe(3);
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    first();
    (await second)();
    (await third)();
    other();
    expect(order).toEqual(["second", "third"]);
    expect(lanes.load(A)).toBe(0);
  });

  it("refuses the excess at once with a retryable 429", async () => {
    const lanes = createChannelLanes({ maxWaiting: 2 });
    const held = await lanes.acquire(A, never());
    const waiting = [lanes.acquire(A, never()), lanes.acquire(A, never())];
    const refused = await lanes.acquire(A, never()).catch((e: unknown) => e);
    expect(isGotongError(refused, "too_many_requests") && refused.status === 429 && refused.retryable).toBe(true);
    expect(lanes.load(A)).toBe(3); // full: the one running and the two waiting
    held();
    for (const w of waiting) (await w)();
  });

  it("says a request will be refused before any work is done for it, exactly when acquire would refuse it", async () => {
    const lanes = createChannelLanes({ maxWaiting: 1 });
    lanes.refuseIfFull(A); // no lane yet: room
    const held = await lanes.acquire(A, never());
    lanes.refuseIfFull(A); // one running, none waiting: room for one waiter
    const waiting = lanes.acquire(A, never());
    const early = (() => {
      try {
        lanes.refuseIfFull(A);
      } catch (error) {
        return error;
      }
    })();
    const late = await lanes.acquire(A, never()).catch((e: unknown) => e);
    for (const refused of [early, late]) expect(isGotongError(refused, "too_many_requests") && refused.status === 429 && refused.retryable).toBe(true);
    expect((early as Error).message).toBe((late as Error).message);
    lanes.refuseIfFull(B); // another channel is not affected
    expect(lanes.load(A)).toBe(2); // asking changed nothing: the one running and the one waiting
    held();
    (await waiting)();
    lanes.refuseIfFull(A); // drained: room again
    expect(lanes.load(A)).toBe(0);
  });

  it("drops a waiter whose client left, at once, without giving it the lane", async () => {
    const lanes = createChannelLanes();
    const held = await lanes.acquire(A, never());
    const leaving = new AbortController();
    const gone = lanes.acquire(A, leaving.signal);
    const next = lanes.acquire(A, never());
    leaving.abort(new Error("client disconnected"));
    await expect(gone).rejects.toThrow("client disconnected");
    expect(lanes.load(A)).toBe(2);
    held();
    const release = await next;
    release();
    release(); // twice is harmless
    expect(lanes.load(A)).toBe(0);
  });
});
