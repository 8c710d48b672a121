/**
 * Preloaded into a server process by bench/burst.ts (`node --import`, into `gotong up` and into the
 * bare floor server): records, from inside the server, when each burst request reached its HTTP
 * handler and when its response was written, so a slow client and a slow server can be told apart.
 * It uses Node's built-in diagnostics channels (`http.server.request.start` is published just before
 * the server's 'request' handler runs, `http.server.response.finish` once the last byte is handed to
 * the socket), so the gateway's code is untouched. Only requests carrying
 * `x-gotong-bench-burst: <burst>:<index>` and `x-gotong-bench-size: <requests in that burst>` are
 * recorded. Times are absolute epoch milliseconds, comparable with the client process's. The event
 * loop's delay is sampled from a burst's first arrival until its last response. Everything goes to
 * $GOTONG_BURST_TIMINGS as JSON when the process exits.
 *
 * Plain JavaScript: it loads before tsx registers.
 */
import { subscribe } from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

const file = process.env.GOTONG_BURST_TIMINGS;
if (file) {
  const now = () => performance.timeOrigin + performance.now();
  const arrived = new WeakMap();
  const records = [];
  /** Per burst: requests finished, the delay histogram, utilization at its start, and the result. */
  const bursts = new Map();
  subscribe("http.server.request.start", ({ request }) => {
    const tag = request.headers["x-gotong-bench-burst"];
    if (typeof tag !== "string") return;
    const [burst, index] = tag.split(":");
    if (!bursts.has(burst)) {
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      bursts.set(burst, { size: Number(request.headers["x-gotong-bench-size"]), finished: 0, loop, elu: performance.eventLoopUtilization(), eventLoop: null });
    }
    arrived.set(request, { burst, index: Number(index), arrivedAt: now() });
  });
  const close = (b) => {
    if (b.eventLoop) return;
    b.loop.disable();
    const ms = (ns) => ns / 1e6;
    b.eventLoop = { delayP50Ms: ms(b.loop.percentile(50)), delayP99Ms: ms(b.loop.percentile(99)), delayMaxMs: ms(b.loop.max), utilization: performance.eventLoopUtilization(b.elu).utilization };
  };
  subscribe("http.server.response.finish", ({ request, response }) => {
    const at = arrived.get(request);
    if (!at) return;
    records.push({ ...at, finishedAt: now(), status: response.statusCode });
    const b = bursts.get(at.burst);
    if (++b.finished === b.size) close(b);
  });
  process.on("exit", () => {
    for (const b of bursts.values()) close(b);
    writeFileSync(file, JSON.stringify({ records, eventLoop: Object.fromEntries([...bursts].map(([k, b]) => [k, b.eventLoop])) }));
  });
}
