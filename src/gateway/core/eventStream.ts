/**
 * An async stream of `source`'s events that calls `onEnd` once, after its last event (or its
 * error). A consumer that stops early (`break`, `return()`) does not cut the provider: the rest is
 * read and counted unseen, as when a client hangs up, so the gateway and the provider count the
 * same tokens; `onEnd` then runs once that is done.
 */
export function eventStream<T>(source: AsyncIterator<T>, onEnd: () => void): AsyncIterable<T> {
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  const iterator: AsyncIterator<T> = {
    async next() {
      try {
        const result = await source.next();
        if (result.done) finish();
        return result;
      } catch (error) {
        finish();
        throw error;
      }
    },
    async return() {
      try {
        while (!ended && !(await source.next()).done);
      } finally {
        finish();
      }
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
