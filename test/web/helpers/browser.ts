import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { waitFor } from "../../helpers/waitFor.ts";

/** Debian's Chromium; playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM_PATH = process.env.GOTONG_CHROMIUM ?? "/usr/bin/chromium";

/** Where every browser test saves its screenshots for review (kept out of git). */
export const SCREENSHOT_DIR = fileURLToPath(new URL("../screenshots", import.meta.url));

/** Why browser tests cannot run here, or undefined when they can (printed once when skipping). */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `no Chromium at ${CHROMIUM_PATH} (install it with \`apt-get install -y chromium\`, as .ci/run does): browser tests are skipped`;
  console.warn(`[skip] ${reason}`);
  return reason;
}

/** Starts headless Chromium with nothing of its own going out (no updates, sync or background fetches). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

/** Every request a page makes, to check none leaves for another origin. */
export function recordRequests(context: BrowserContext): string[] {
  const urls: string[] = [];
  context.on("request", (request) => urls.push(request.url()));
  return urls;
}

/**
 * The JSON-RPC calls a page makes to the chain RPC at `rpcUrl` (the one it checks providers' keys
 * through, trust/checkProviderKey.ts), with each request's body, to check what the page asked the
 * chain and that nothing else (a prompt) went there.
 */
export function recordChainCalls(context: BrowserContext, rpcUrl: string): { method: string; body: string }[] {
  const origin = new URL(rpcUrl).origin;
  const calls: { method: string; body: string }[] = [];
  context.on("request", (request) => {
    if (!request.url().startsWith(origin) || request.method() !== "POST") return;
    const body = request.postData() ?? "";
    let method = "(not JSON-RPC)";
    try {
      method = String((JSON.parse(body) as { method?: unknown }).method);
    } catch {
      // kept as "(not JSON-RPC)": the test's method list then fails and shows it
    }
    calls.push({ method, body });
  });
  return calls;
}

/** Saves a full-page screenshot under test/web/screenshots and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until the chat has loaded the models on offer: the model picker is enabled. */
export function offersLoaded(page: Page): Promise<void> {
  return page.getByLabel("Model").and(page.locator(":enabled")).waitFor();
}

/** Types `text` in the chat's message box and presses Send. */
export async function ask(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

/**
 * Waits until `locator`'s attribute `name` is `value`: the page updates it after asynchronous work
 * (a transaction, then a table refresh), so reading it once right after a notice races with that
 * refresh. Fails after `timeoutMs` with the value it last had.
 */
export async function attributeBecomes(locator: Locator, name: string, value: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await locator.getAttribute(name, { timeout: 1_000 })) === value, {
    what: `${locator} to have ${name}="${value}"`,
    timeoutMs,
    intervalMs: 100,
    describe: async () => `${name} is ${JSON.stringify(await locator.getAttribute(name, { timeout: 1_000 }).catch((e: Error) => `unreadable: ${e.message.split("\n")[0]}`))}`,
  });
}
