/**
 * Test helper: waits until `condition` holds, instead of sleeping a fixed time and hoping the
 * background work (a settler, a redeemer, a table refresh, event polling) is done by then.
 *
 * `condition` is called every `intervalMs` until it returns something other than `undefined`,
 * `null` or `false` (that value is returned). A throw counts as "not yet" and is kept for the
 * message. After `timeoutMs` it fails with what it was waiting for, how long it waited, and the
 * last value or error seen, so a test that can never pass still fails, and says why.
 *
 * @example const redeemed = await waitFor(async () => (await readChannel(...)).redeemed || undefined, { what: "the redeemer's transaction" });
 */
export async function waitFor<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { what: string; timeoutMs?: number; intervalMs?: number; describe?: () => unknown | Promise<unknown> },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const started = Date.now();
  let last: { value?: unknown; error?: unknown } = {};
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() - started >= timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  let seen = "error" in last && last.error !== undefined ? `last error: ${(last.error as Error)?.message ?? String(last.error)}` : `last value: ${show(last.value)}`;
  if (options.describe) {
    try {
      seen += `; ${show(await options.describe())}`;
    } catch (error) {
      seen += `; (describe failed: ${(error as Error).message})`;
    }
  }
  throw new Error(`Timed out after ${Date.now() - started} ms waiting for ${options.what} (${seen})`);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
