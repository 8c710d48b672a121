import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Ports are handed out below the kernel's ephemeral range: a port from `listen(0)` is free when
 * asked but is also where every outgoing connection's local port comes from, so in a busy suite
 * some client socket took it before the test's server bound it (EADDRINUSE, seen in CI). Below
 * that range only servers that pick their port on purpose can collide, and each test worker walks
 * its own stretch of it, starting at a point set by its pid.
 */
const RANGE_START = 10_000;
const rangeEnd = ephemeralRangeStart();
const span = rangeEnd - RANGE_START;
let next = RANGE_START + ((process.pid * 7_919) % span);

/** A TCP port free on 127.0.0.1 right now, outside the range the kernel gives outgoing sockets. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const port = next;
    next = RANGE_START + ((next - RANGE_START + 1) % span);
    if (await canListen(port)) return port;
  }
  throw new Error(`freePort: no free port found in ${RANGE_START}–${rangeEnd - 1} after 200 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > RANGE_START + 1_000) return low;
  } catch {
    // not Linux: fall through to the IANA dynamic range's start
  }
  return 32_768;
}
