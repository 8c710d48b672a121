import { toErrorResponse } from "./http.ts";
import { GotongError } from "./errors.ts";

/** What one readiness check found: whether it passed, why not, and what it saw. */
export type CheckResult = { ok: boolean; error?: string } & Record<string, unknown>;

/** A service's readiness: ready when every check passed; `failing` names those that did not. */
export type ReadinessReport = { ok: boolean; failing: string[]; checks: Record<string, CheckResult> };

/**
 * One check: resolves with what it saw (shown in the report), throws when the service is not
 * ready for this reason. `cacheMs` is how long its outcome is reused (default 0: run on every
 * report), so a health poller cannot turn into a stream of RPC calls or disk writes.
 */
export type ReadinessCheck = { run: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void; cacheMs?: number };

export type ReadinessOptions = {
  /** The longest a check may take before it counts as failed. Default 2 s. */
  timeoutMs?: number;
  now?: () => number;
};

/**
 * Runs a service's readiness checks together and reports each, for `GET /health`. A check that
 * throws or takes longer than `timeoutMs` fails with its error's message; concurrent reports share
 * the checks in flight, and each check's outcome is reused for its `cacheMs`.
 *
 * @example
 * const readiness = createReadiness({ store: { run: () => store.checkWritable(), cacheMs: 1_000 } });
 * const report = await readiness.check(); // { ok: true, failing: [], checks: { store: { ok: true } } }
 */
export function createReadiness(checks: Record<string, ReadinessCheck>, options: ReadinessOptions = {}) {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const cache = new Map<string, { at: number; result: Promise<CheckResult> }>();

  const run = async (check: ReadinessCheck): Promise<CheckResult> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const seen = await Promise.race([Promise.resolve().then(check.run), timeout]);
      return { ok: true, ...(seen ?? {}) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  };

  const outcome = (name: string, check: ReadinessCheck): Promise<CheckResult> => {
    const hit = cache.get(name);
    if (hit && now() - hit.at < (check.cacheMs ?? 0)) return hit.result;
    const entry = { at: now(), result: run(check) };
    cache.set(name, entry);
    // Reused from when it settles, not from when it started: a slow check is not reused stale.
    void entry.result.then(() => (entry.at = now()));
    return entry.result;
  };

  return {
    /** Runs (or reuses) every check and reports them. */
    async check(): Promise<ReadinessReport> {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((name) => outcome(name, checks[name]!)));
      const report: ReadinessReport = { ok: true, failing: [], checks: {} };
      names.forEach((name, i) => {
        report.checks[name] = results[i]!;
        if (!results[i]!.ok) report.failing.push(name);
      });
      report.ok = report.failing.length === 0;
      return report;
    },
  };
}

export type Readiness = ReturnType<typeof createReadiness>;

/**
 * The `GET /health` answer for a report: 200 with every check's result when all passed; otherwise
 * 503 with the same, the failing checks named, and an OpenAI-shaped `error` saying which.
 */
export function readinessResponse(report: ReadinessReport): { status: number; body: Record<string, unknown>; headers: Record<string, string> } {
  if (report.ok) return { status: 200, body: { ...report }, headers: {} };
  const reasons = report.failing.map((name) => `${name} (${report.checks[name]?.error ?? "failed"})`);
  const { status, body, headers } = toErrorResponse(
    new GotongError(`Not ready: ${reasons.join("; ")}`, {
      code: "not_ready",
      status: 503,
      retryable: true,
      hint: "Each failing check is named in `failing`, with what it found in `checks`; ask again once it is fixed.",
    }),
  );
  return { status, body: { ...report, ...body }, headers };
}
