import { connect } from "node:net";

export type ReachableWatchOptions = {
  /** First probe after this long without an answer. Default 3 s: most answers start sooner. */
  firstAfterMs?: number;
  /** Then every this long. Default 5 s. */
  everyMs?: number;
  /** A handshake that takes longer failed. Default 2 s, as the health prober's. */
  probeTimeoutMs?: number;
  /** A host that accepted a probe this recently counts as reachable without another. Default 1 s. */
  freshMs?: number;
};

/**
 * While a request waits for its provider's first answer, opens a new TCP connection to the
 * provider's host now and then, and calls `onUnreachable` the first time one is neither accepted nor
 * refused within the probe timeout, or is refused. Why: a provider host that drops off the network
 * (a cable, a route, a crashed VM) leaves the request's keep-alive connection silently dead; without
 * this the request would wait out the whole answer timeout (30 s) before another provider is tried.
 *
 * Only the handshake is asked for, not an HTTP answer: the host's kernel completes it whatever the
 * provider's process is doing, so a provider busy with a burst (1,000 requests arriving at once kept
 * its event loop from answering `/health` within 2 s, and every request was failed over) is not
 * taken for a host gone. A process that hangs while its host stays up is left to the answer timeout.
 * Returns the function that stops watching.
 */
export function watchReachable(endpoint: string, onUnreachable: (reason: string) => void, options: ReachableWatchOptions = {}): () => void {
  const everyMs = options.everyMs ?? 5_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  const freshMs = options.freshMs ?? 1_000;
  const target = new URL(endpoint);
  const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1"); // an IPv6 literal without its brackets
  let stopped = false;
  let timer = setTimeout(function probe() {
    sharedProbe(host, port, probeTimeoutMs, freshMs).then((failure) => {
      if (stopped) return;
      if (failure) {
        stopped = true;
        onUnreachable(failure);
      } else timer = setTimeout(probe, everyMs);
    });
  }, options.firstAfterMs ?? 3_000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Probes in flight, by host and port: the requests waiting on one provider share one handshake. */
const probing = new Map<string, Promise<string | undefined>>();
/** When each host last accepted a probe. */
const lastAnswered = new Map<string, number>();

/**
 * One probe of `host:port` for every watcher that asks while it runs: a thousand requests waiting
 * on a busy provider would otherwise each open a connection to it at the same moment.
 */
function sharedProbe(host: string, port: number, timeoutMs: number, freshMs: number): Promise<string | undefined> {
  const key = `${host}|${port}`;
  const answered = lastAnswered.get(key);
  if (answered !== undefined && performance.now() - answered < freshMs) return Promise.resolve(undefined);
  let probe = probing.get(key);
  if (!probe) {
    probe = probeOnce(host, port, timeoutMs).then((failure) => {
      probing.delete(key);
      if (failure) lastAnswered.delete(key);
      else lastAnswered.set(key, performance.now());
      return failure;
    });
    probing.set(key, probe);
  }
  return probe;
}

/** Opens (and at once closes) a TCP connection to `host:port`: undefined when it was accepted, else why not. */
function probeOnce(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const deadline = setTimeout(() => socket.destroy(new Error(`no TCP handshake with ${host}:${port} within ${timeoutMs} ms on a new connection`)), timeoutMs);
    socket.once("connect", () => {
      clearTimeout(deadline);
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (error) => {
      clearTimeout(deadline);
      resolve(error.message);
    });
  });
}
