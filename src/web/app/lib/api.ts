import { GotongError } from "../../../common/errors.ts";
import { gotongErrorCodeOf } from "../../../protocol/errorCodes.ts";
import { apiKeyHeaders } from "./apiKey.ts";

/**
 * An error the page shows: a short message, what to do about it, and a stable code. It is the
 * library's own GotongError (plain code, no Node API), so the page, the gateway and the SDK share
 * one error type and one list of codes (src/protocol/errorCodes.ts) that `tsc` checks.
 */
export { GotongError as PageError };

/** The error for a gateway that cannot be reached at all (down, or the network is). */
export function gatewayUnreachable(cause: unknown): GotongError {
  return new GotongError(`Cannot reach the gateway at ${location.origin}.`, {
    code: "network_down",
    hint: "Check that `gotong up` (or your gateway) is running and that this device is online, then try again. Nothing was sent or charged.",
    cause,
  });
}

/** Turns a gateway's OpenAI-style error body into a GotongError (a code it does not know becomes `http_<status>`). */
export async function errorFromResponse(res: Response): Promise<GotongError> {
  let body: { error?: { message?: string; code?: string; hint?: string } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON: fall through to the status
  }
  const e = body.error ?? {};
  return new GotongError(e.message ?? `The gateway answered ${res.status}.`, { code: gotongErrorCodeOf(e.code, `http_${res.status}`), hint: e.hint, status: res.status });
}

/** `fetch`, with the saved API key (see apiKey.ts) and "cannot connect" turned into {@link gatewayUnreachable}. */
export async function request(path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, headers: { ...apiKeyHeaders(), ...(init?.headers as Record<string, string> | undefined) } });
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
  if (error instanceof GotongError) return { message: error.message, hint: error.hint, code: error.code };
  const e = error as { message?: string; hint?: string; code?: string };
  return { message: e?.message ?? String(error), hint: e?.hint, code: typeof e?.code === "string" ? e.code : "error" };
}
