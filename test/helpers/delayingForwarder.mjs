// A far-away host, played on a test host: forwards TCP from LISTEN_HOST:PORT to TARGET_HOST:PORT
// and holds every chunk, both ways, for DELAY_MS first (network latency, where the kernel has no
// netem). Chunks keep their order: timers of equal delay fire in the order they were set.
//   node delayingForwarder.mjs LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
import { connect, createServer } from "node:net";

const [listenHost, listenPort, targetHost, targetPort, delayMs] = process.argv.slice(2);
const delay = Number(delayMs);
const pipeDelayed = (from, to) => {
  from.on("data", (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delay));
  from.on("end", () => setTimeout(() => to.end(), delay));
  from.on("error", () => setTimeout(() => to.destroy(), delay));
  from.on("close", () => setTimeout(() => to.destroy(), delay + 1));
};
createServer((client) => {
  const upstream = connect(Number(targetPort), targetHost);
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
}).listen(Number(listenPort), listenHost, () => process.stdout.write(`forwarding ${listenHost}:${listenPort} -> ${targetHost}:${targetPort} with ${delay} ms\n`));
