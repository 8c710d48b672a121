/**
 * The chain RPC this browser checks providers' keys through, chosen by the person (Trust settings)
 * or, when they chose none, the gateway's local devnet. The full URL (it may carry an API key) stays
 * in this browser's localStorage; only its origin goes to the gateway, in a cookie, because the
 * gateway builds the page's content security policy and must allow exactly that origin.
 */
const STORAGE_KEY = "gotong.chainRpc";
const COOKIE = "gotong_chain_rpc";

/** The RPC URL the person saved, or undefined. */
export function savedChainRpc(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) || undefined;
  } catch {
    return undefined;
  }
}

/** The RPC the page uses: the one saved here, else the gateway's devnet default, else none. */
export function chainRpcUrl(defaultRpc: string | null): string | undefined {
  return savedChainRpc() ?? defaultRpc ?? undefined;
}

/** An http(s) URL's text checked, or why it is not one. */
export function parseChainRpc(text: string): { ok: true; url: string; origin: string } | { ok: false; error: string } {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { ok: false, error: "Chain RPC: enter a URL such as http://127.0.0.1:8545 or https://rpc.example.org." };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, error: "Chain RPC: only http:// and https:// URLs are allowed." };
  return { ok: true, url: url.href, origin: url.origin };
}

/**
 * Saves the RPC (an empty one goes back to the default) and tells the gateway its origin for the
 * page's policy. The policy is read when the page loads, so the caller reloads the page after.
 */
export function saveChainRpc(url: string | undefined): void {
  try {
    if (url) localStorage.setItem(STORAGE_KEY, url);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage blocked: the cookie below still carries the choice for this session
  }
  document.cookie = url
    ? `${COOKIE}=${encodeURIComponent(new URL(url).origin)}; path=/; max-age=31536000; samesite=strict`
    : `${COOKIE}=; path=/; max-age=0; samesite=strict`;
}

/** Makes sure the gateway knows the saved RPC's origin (a cookie lost or cleared while localStorage kept the URL). @returns whether a reload is needed for the policy to allow it */
export function syncChainRpcCookie(): boolean {
  const saved = savedChainRpc();
  if (!saved) return false;
  const origin = encodeURIComponent(new URL(saved).origin);
  if (document.cookie.split(/;\s*/).includes(`${COOKIE}=${origin}`)) return false;
  document.cookie = `${COOKIE}=${origin}; path=/; max-age=31536000; samesite=strict`;
  // Only when the cookie took (cookies allowed): a reload without it would only reload again.
  return document.cookie.split(/;\s*/).includes(`${COOKIE}=${origin}`);
}
