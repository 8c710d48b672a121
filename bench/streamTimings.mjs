/**
 * Records when each token of a bench stream is written by an HTTP server of this process:
 * preloaded into the gateway process by bench/manyStreams.ts (`node --import`), and imported by the
 * bench itself for its in-process provider. Bench tokens carry a marker `#S.I` (stream S, token I)
 * that the paced upstream puts in their text, so a token is recognised in any server's output in
 * the clear without touching the gateway's code: `ServerResponse.prototype.write` is wrapped, and
 * the first time a marker is written is kept, as absolute epoch milliseconds (comparable across
 * processes). Only responses from servers listening on a port in $GOTONG_STREAM_PORTS are watched.
 * In the gateway process everything goes to $GOTONG_STREAM_TIMINGS as JSON at exit; in the bench
 * process `globalThis.__gotongStreamTimings` holds the records.
 *
 * Plain JavaScript: it loads before tsx registers.
 */
import { ServerResponse } from "node:http";
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

// Read on each write (the bench process sets it after this module has loaded), parsed once per value.
let portsText;
let ports = new Set();
const watched = (port) => {
  const text = process.env.GOTONG_STREAM_PORTS ?? "";
  if (text !== portsText) {
    portsText = text;
    ports = new Set(text.split(",").filter(Boolean).map(Number));
  }
  return ports.has(port);
};
const records = new Map();
globalThis.__gotongStreamTimings = records;
const marker = /#(\d+)\.(\d+)/g;
const write = ServerResponse.prototype.write;
ServerResponse.prototype.write = function (chunk, ...rest) {
  const at = performance.timeOrigin + performance.now();
  try {
    if (chunk && watched(this.socket?.localPort)) {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("latin1");
      for (const m of text.matchAll(marker)) {
        const key = `${m[1]}.${m[2]}`;
        if (!records.has(key)) records.set(key, at);
      }
    }
  } catch {
    // never let the measurement break a response
  }
  return write.call(this, chunk, ...rest);
};
const file = process.env.GOTONG_STREAM_TIMINGS;
if (file) process.on("exit", () => writeFileSync(file, JSON.stringify(Object.fromEntries(records))));
