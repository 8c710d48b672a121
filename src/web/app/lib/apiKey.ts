/**
 * The gateway API key this browser sends, for a gateway started with `--keys` (it answers 401
 * without one). Kept in this browser's localStorage only, under one name, and sent as
 * `Authorization: Bearer` to the page's own origin; never put in a URL or in history.
 */
const STORAGE_KEY = "gotong.apiKey";

/** The key saved in this browser, or undefined. */
export function readApiKey(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) || undefined;
  } catch {
    return undefined; // storage blocked (private mode, policy): no key
  }
}

/** Saves the key in this browser (an empty one forgets it). @returns whether it could be stored */
export function saveApiKey(key: string): boolean {
  try {
    if (key.trim()) localStorage.setItem(STORAGE_KEY, key.trim());
    else localStorage.removeItem(STORAGE_KEY);
    return true;
  } catch {
    return false;
  }
}

/** The headers that carry the saved key, if there is one. */
export function apiKeyHeaders(): Record<string, string> {
  const key = readApiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Whether a gateway error means "an API key is needed, or this one is wrong". */
export function needsApiKey(error: unknown): boolean {
  const e = error as { code?: string; status?: number } | undefined;
  return e?.code === "missing_api_key" || e?.code === "invalid_api_key" || e?.code === "api_key_not_found" || e?.status === 401;
}
