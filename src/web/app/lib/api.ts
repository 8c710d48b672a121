
/** An error the page shows: a short message, what to do about it, and a stable code. */
export class PageError extends Error {
  constructor(
    message: string,
    readonly options: { code: string; hint?: string; status?: number; cause?: unknown } = { code: "error" },
  ) {
    super(message, { cause: options.cause });
  }
  get code() {
    return this.options.code;
  }
  get hint() {
    return this.options.hint;
  }
}

/** The error for a gateway that cannot be reached at all (down, or the network is). */
export function gatewayUnreachable(cause: unknown): PageError {
  return new PageError(`Cannot reach the gateway at ${location.origin}.`, {
    code: "network_down",
    hint: "Check that `gotong up` (or your gateway) is running and that this device is online, then try again. Nothing was sent or charged.",
    cause,
  });
}

/** Turns a gateway's OpenAI-style error body into a PageError. */
export async function errorFromResponse(res: Response): Promise<PageError> {
  let body: { error?: { message?: string; code?: string; hint?: string } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON: fall through to the status
  }
  const e = body.error ?? {};
  return new PageError(e.message ?? `The gateway answered ${res.status}.`, { code: e.code ?? `http_${res.status}`, hint: e.hint, status: res.status });
}

/** `fetch`, with "cannot connect" turned into {@link gatewayUnreachable}. */
export async function request(path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw gatewayUnreachable(error);
  }
}

/** GET a JSON API of the gateway. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await request(path, { signal, headers: { accept: "application/json" } });
  if (!res.ok) throw await errorFromResponse(res);
  return (await res.json()) as T;
}

/** POST JSON to a JSON API of the gateway. */
export async function postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await request(path, { method: "POST", signal, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw await errorFromResponse(res);
  return (await res.json()) as T;
}

/** A message and hint for any error, for a status line. */
export function describeError(error: unknown): { message: string; hint?: string; code: string } {
  if (error instanceof PageError) return { message: error.message, hint: error.hint, code: error.code };
  const e = error as { message?: string; hint?: string; code?: string };
  return { message: e?.message ?? String(error), hint: e?.hint, code: typeof e?.code === "string" ? e.code : "error" };
}
