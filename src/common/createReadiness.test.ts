import { describe, expect, it } from "vitest";
import { createReadiness, readinessResponse } from "./createReadiness.ts";

describe("createReadiness", () => {
  it("reports every check, ready when all pass: 200 with what each saw", async () => {
    const readiness = createReadiness({ chain: { run: async () => ({ blockNumber: 7n }) }, store: { run: () => {} } });
    const report = await readiness.check();
    expect(report).toEqual({ ok: true, failing: [], checks: { chain: { ok: true, blockNumber: 7n }, store: { ok: true } } });
    expect(readinessResponse(report)).toEqual({ status: 200, body: report, headers: {} });
  });

  it("names the failing check with its error: 503, an OpenAI-shaped error and every check's result", async () => {
    const readiness = createReadiness({
      chain: { run: async () => ({ blockNumber: 7n }) },
      store: {
        run: () => {
          throw new Error("attempt to write a readonly database");
        },
      },
    });
    const report = await readiness.check();
    expect(report.ok).toBe(false);
    expect(report.failing).toEqual(["store"]);
    expect(report.checks.store).toEqual({ ok: false, error: "attempt to write a readonly database" });
    const { status, body, headers } = readinessResponse(report);
    expect(status).toBe(503);
    expect(headers["retry-after"]).toBe("1");
    expect(body).toMatchObject({
      ok: false,
      failing: ["store"],
      checks: { chain: { ok: true }, store: { ok: false } },
      error: { code: "not_ready", type: "server_error", message: "Not ready: store (attempt to write a readonly database)" },
    });
  });

  it("fails a check that does not answer within the timeout", async () => {
    const readiness = createReadiness({ chain: { run: () => new Promise(() => {}) } }, { timeoutMs: 20 });
    const report = await readiness.check();
    expect(report.failing).toEqual(["chain"]);
    expect(report.checks.chain!.error).toBe("no answer within 20 ms");
  });

  it("reuses a check's outcome for its cacheMs, shares one run between concurrent reports, and runs again after", async () => {
    let time = 0;
    let chainRuns = 0;
    let storeRuns = 0;
    let chainUp = true;
    const readiness = createReadiness(
      {
        chain: {
          cacheMs: 2_000,
          run: async () => {
            chainRuns++;
            if (!chainUp) throw new Error("connection refused");
          },
        },
        store: { run: () => void storeRuns++ },
      },
      { now: () => time },
    );
    await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
    expect(chainRuns).toBe(1);
    expect(storeRuns).toBe(3); // no cacheMs: every report runs it
    chainUp = false;
    time += 1_999;
    expect((await readiness.check()).ok).toBe(true); // still the outcome of the first run
    expect(chainRuns).toBe(1);
    time += 1;
    const report = await readiness.check();
    expect(chainRuns).toBe(2);
    expect(report.failing).toEqual(["chain"]);
    expect(report.checks.chain!.error).toBe("connection refused");
  });
});
