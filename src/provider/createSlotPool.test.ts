import { describe, expect, it } from "vitest";
import { createSlotPool } from "./createSlotPool.ts";

describe("createSlotPool", () => {
  it("hands each slot to one request at a time, then to waiters in arrival order", async () => {
    const pool = createSlotPool(["a"]);
    const signal = new AbortController().signal;
    const first = await pool.acquire(signal);
    const second = pool.acquire(signal);
    const third = pool.acquire(signal);
    pool.release(first!);
    expect(await second).toBe("a");
    pool.release("a");
    expect(await third).toBe("a");
  });

  it("drops a waiter whose client left, and never gives it the slot", async () => {
    const pool = createSlotPool(["a"]);
    const held = await pool.acquire(new AbortController().signal);
    const leaving = new AbortController();
    const gone = pool.acquire(leaving.signal);
    const staying = pool.acquire(new AbortController().signal);
    leaving.abort();
    expect(await gone).toBeUndefined();
    pool.release(held!);
    expect(await staying).toBe("a");
  });

  it("gives nothing to a request that left before asking", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await createSlotPool(["a"]).acquire(controller.signal)).toBeUndefined();
  });
});
