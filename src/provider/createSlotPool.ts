/**
 * A fixed set of engine slots (llama.cpp sequences or embedding contexts) handed out one request at
 * a time, first come first served. A request whose client leaves while it waits leaves the queue at
 * once and gets `undefined`, so a burst of vanished clients never holds a slot.
 */
export function createSlotPool<Slot>(slots: readonly Slot[]) {
  const free = [...slots];
  const waiters: ((slot: Slot) => void)[] = [];
  return {
    acquire(signal: AbortSignal): Promise<Slot | undefined> {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve(undefined);
        const slot = free.pop();
        if (slot !== undefined) return resolve(slot);
        const waiter = (next: Slot) => {
          signal.removeEventListener("abort", onAbort);
          resolve(next);
        };
        const onAbort = () => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          resolve(undefined);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    release(slot: Slot): void {
      const next = waiters.shift();
      if (next) next(slot);
      else free.push(slot);
    },
  };
}
