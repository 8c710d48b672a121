import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { PROTOCOL_VERSION_HEADERS } from "../../protocol/protocolVersion.ts";

export type ReachableWatchOptions = {
  /** First probe after this long without an answer. Default 3 s: most answers start sooner. */
  firstAfterMs?: number;
  /** Then every this long. Default 5 s. */
  everyMs?: number;
  /** A probe that takes longer failed. Default 2 s, as the health prober's. */
  probeTimeoutMs?: number;
};

/**
 * While a request waits for its provider's first answer, asks the provider's `/health` on a new
 * connection now and then, and calls `onUnreachable` the first time a probe gets no HTTP answer at
 * all. Why: a provider host that drops off the network (a cable, a route, a crashed VM) leaves the
 * request's keep-alive connection silently dead; without this the request would wait out the whole
 * answer timeout (30 s) before another provider is tried. A new connection answers within the probe
 * timeout or not at all. Any HTTP status counts as reachable: a busy provider that answers 503 is
 * alive and still working on this request. Returns the function that stops watching.
 */
export function watchReachable(endpoint: string, onUnreachable: (reason: string) => void, options: ReachableWatchOptions = {}): () => void {
  const everyMs = options.everyMs ?? 5_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  let stopped = false;
  let timer = setTimeout(function probe() {
    probeOnce(`${endpoint}/health`, probeTimeoutMs).then((failure) => {
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

/** GETs `url` on a connection of its own (never a pooled one): undefined when any HTTP answer came, else why not. */
function probeOnce(url: string, timeoutMs: number): Promise<string | undefined> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    // One deadline for the connect and the answer's head alike.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer to GET /health within ${timeoutMs} ms on a new connection`)), timeoutMs);
    const req = send(target, { method: "GET", headers: PROTOCOL_VERSION_HEADERS, agent: false }, (res) => {
      clearTimeout(deadline);
      res.resume();
      req.destroy();
      resolve(undefined);
    });
    req.on("error", (error) => {
      clearTimeout(deadline);
      resolve(error.message);
    });
    req.end();
  });
}
