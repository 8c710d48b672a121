import { createServer, connect, type Server } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy that records every byte between a client and a server, and can tamper with the
 * server's answers: what an observer or attacker on the network between gateway and provider sees.
 */
export async function startTapProxy(target: { host: string; port: number }) {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  let tamper: ((chunk: Buffer) => Buffer) | undefined;
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    client.on("data", (b: Buffer) => {
      toServer.push(b);
      upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      const out = tamper ? tamper(b) : b;
      toClient.push(out);
      client.write(out);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => Buffer.concat(toServer),
    received: () => Buffer.concat(toClient),
    setTamper(fn: ((chunk: Buffer) => Buffer) | undefined) {
      tamper = fn;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
