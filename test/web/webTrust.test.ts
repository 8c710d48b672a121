import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatHex, encodeFunctionResult, numberToHex, size, type Address, type Hex } from "viem";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { keyFingerprint } from "../../src/web/app/trust/keyFingerprint.ts";
import { getProviderAbi } from "../../src/web/app/trust/providerRegistryAbi.ts";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, recordChainCalls, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** A key no provider registered: what a malicious gateway would hand over to open the prompt itself. */
const GATEWAY_OWN_KEY = `0x${"5a".repeat(32)}` as Hex;

/** The views each trust test below runs in: desktop light, and a phone in dark mode. */
const VIEWS = [
  { name: "desktop", width: 1280, height: 800, dark: false },
  { name: "phone-dark", width: 390, height: 844, dark: true },
] as const;

/**
 * Runtime code that answers any call with `result`: a "registry" a malicious gateway could deploy
 * and name in its config, which says the provider's key is the gateway's own. (CODECOPY the data
 * after this 14-byte header to memory, RETURN it.)
 */
function constantReturnCode(result: Hex): Hex {
  const length = numberToHex(size(result), { size: 2 });
  return concatHex([`0x61${length.slice(2)}600e600039`, `0x61${length.slice(2)}6000f3`, result]);
}

/** A JSON-RPC endpoint for another chain (id 1), reachable from the page (CORS), to point the check at. */
function startOtherChainRpc(): Promise<{ server: Server; url: string; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "content-type", "access-control-allow-methods": "POST" };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const call = JSON.parse(body) as { id: number; method: string };
      calls.push(call.method);
      res.writeHead(200, { ...cors, "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: call.method === "eth_chainId" ? "0x1" : "0x" }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls })));
}

describe.skipIf(skip)("trust you can check (issue 18): the provider's key is checked against the chain from the browser", () => {
  /**
   * The POSTs the provider received since `from` bytes of its tap, but the gateway's own settlement
   * (`POST /gotong/vouchers`: the idle settler delivering an earlier request's last voucher, at a
   * moment of its own): a request the page sent would be one of these.
   */
  const requestsToProvider = (from: number) =>
    [...web.providerTap.sent().subarray(from).toString("latin1").matchAll(/^POST (\S+) HTTP/gm)].map((m) => m[1]!).filter((path) => path !== "/gotong/vouchers");
  let web: WebNetwork;
  let browser: Browser;
  let provider: Address;
  let chainKey: Hex;
  let devnetOrigin: string;

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
    provider = web.provider.address as Address;
    const record = await web.client.readContract({ address: web.deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "getProvider", args: [provider] });
    chainKey = record.hpkePublicKey;
    devnetOrigin = new URL(web.deployment.rpcUrl).origin;
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  /** A page under the real policy (no bypass): the check must work with what the CSP allows. */
  async function open(options: { width?: number; height?: number; dark?: boolean; bypassCSP?: boolean; routes?: (context: BrowserContext) => Promise<void> } = {}): Promise<{ context: BrowserContext; page: Page; csp: string }> {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.dark ? "dark" : "light", bypassCSP: options.bypassCSP ?? false });
    await options.routes?.(context);
    const page = await context.newPage();
    const response = await page.goto(web.pageUrl);
    await offersLoaded(page);
    return { context, page, csp: response!.headers()["content-security-policy"]! };
  }
  const trustOpen = async (page: Page) => {
    if (!(await page.getByTestId("trust").evaluate((d) => (d as unknown as { open: boolean }).open))) await page.locator("[data-testid=trust] > summary").click();
  };

  it("allows exactly the devnet RPC in the policy, checks the key the page seals to, shows its fingerprint and where it was read", async () => {
    const { context, page, csp } = await open();
    const chainCalls = recordChainCalls(context, web.deployment.rpcUrl);
    expect(csp).toContain(`connect-src 'self' ${devnetOrigin};`);
    await page.getByLabel("Longest answer (tokens)").fill("8");
    await ask(page, "Hello there");
    await page.locator("[data-testid=message-receipt]").first().waitFor({ timeout: 90_000 });
    // The chain was asked once for this provider's key, and a second message reuses that answer
    // (keyCheckCache.ts) instead of waiting for the chain again.
    expect(chainCalls.map((c) => c.method)).toEqual(["eth_chainId", "eth_call"]);
    await ask(page, "And again");
    await page.locator("[data-testid=message-receipt]").nth(1).waitFor({ timeout: 90_000 });
    expect(chainCalls.map((c) => c.method)).toEqual(["eth_chainId", "eth_call"]);
    await trustOpen(page);
    expect(await page.getByTestId("trust-status").innerText()).toContain("matches the chain");
    expect(await page.getByTestId("gateway-key").innerText()).toBe(keyFingerprint(chainKey));
    expect(await page.getByTestId("chain-key").innerText()).toBe(keyFingerprint(chainKey));
    expect(await page.getByTestId("gateway-key").getAttribute("title")).toBe(chainKey);
    const body = await page.getByTestId("trust").innerText();
    expect(body).toContain(`read from the gateway (${new URL(web.pageUrl).origin})`);
    expect(body).toContain(`through ${devnetOrigin}`);
    expect(body).toContain("message's length");
    expect(body).toContain("timing of each token");
    await screenshot(page, "trust-checked");
    expect(await axe(await withAxe(page))).toEqual([]);
    await context.close();
  });

  it("detects a key a malicious gateway hands over, blocks the message, and sends nothing to the gateway's relay or the provider", async () => {
    const { context, page } = await open();
    // First an honest turn, so the page has confirmed this provider's real key (keyCheckCache.ts):
    // a key swapped in afterwards must still be caught, not waved through as already checked.
    await page.getByLabel("Longest answer (tokens)").fill("8");
    await ask(page, "An honest question first");
    await page.locator("[data-testid=message-receipt]").first().waitFor({ timeout: 90_000 });
    // The "malicious gateway": its prepare answer names the real provider with the gateway's own key.
    await page.route("**/gotong/relay/prepare", async (route) => {
      const response = await route.fetch();
      const prepared = (await response.json()) as { hpkePublicKey: string };
      await route.fulfill({ response, json: { ...prepared, hpkePublicKey: GATEWAY_OWN_KEY } });
    });
    const relayPosts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && /\/gotong\/relay\/0x/.test(r.url())) relayPosts.push(r.url());
    });
    const providerBefore = web.providerTap.sent().length;
    await ask(page, "My secret question");
    const problem = page.getByTestId("message-problem");
    await problem.waitFor({ timeout: 30_000 });
    expect(await problem.innerText()).toContain("not the one the chain holds");
    expect(await problem.innerText()).toContain("Nothing was sent.");
    await trustOpen(page);
    expect(await page.getByTestId("trust-status").innerText()).toContain("DOES NOT match the chain");
    expect(await page.getByTestId("gateway-key").innerText()).toBe(keyFingerprint(GATEWAY_OWN_KEY));
    expect(await page.getByTestId("chain-key").innerText()).toBe(keyFingerprint(chainKey));
    expect(keyFingerprint(GATEWAY_OWN_KEY)).not.toBe(keyFingerprint(chainKey));
    // Nothing was posted to the gateway's relay or forwarded to the provider: the turn is over (Send
    // is back), and it ended at the key check, before any post.
    await page.getByRole("button", { name: "Send" }).waitFor();
    expect(relayPosts).toEqual([]);
    expect(requestsToProvider(providerBefore)).toEqual([]);
    // The answer is marked "not answered", with no request id: nothing to pay, nothing to settle.
    expect(await page.getByTestId("cost-pending").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Ask again" }).count()).toBe(1);
    await screenshot(page, "trust-mismatch");
    await context.close();
    for (const mode of [{ width: 390, height: 844 }, { dark: true }]) {
      const { context: c2, page: p2 } = await open({ ...mode, bypassCSP: true });
      await p2.route("**/gotong/relay/prepare", async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, json: { ...((await response.json()) as object), hpkePublicKey: GATEWAY_OWN_KEY } });
      });
      await ask(p2, "Another secret");
      await p2.getByTestId("trust-problem").waitFor({ timeout: 30_000 });
      await screenshot(p2, `trust-mismatch-${"dark" in mode ? "dark" : "phone"}`);
      expect(await axe(p2)).toEqual([]);
      await c2.close();
    }
  });

  for (const view of VIEWS) {
    it(`catches a gateway that names a fake registry holding its own key once the person pins the real one, and a pinned chain the RPC does not serve (${view.name})`, async () => {
      // The "malicious gateway": its config names a registry of its own, which holds the gateway's
      // key for the real provider, and its prepare answer hands that key over.
      const fakeRegistry = `0x${(view.dark ? "fa" : "fb").repeat(20)}` as Address;
      const record = await web.client.readContract({ address: web.deployment.providerRegistry, abi: getProviderAbi, functionName: "getProvider", args: [provider] });
      const forged = encodeFunctionResult({ abi: getProviderAbi, functionName: "getProvider", result: { ...record, hpkePublicKey: GATEWAY_OWN_KEY } });
      await web.client.request({ method: "anvil_setCode", params: [fakeRegistry, constantReturnCode(forged)] } as never);
      const relayPosts: string[] = [];
      const { context, page } = await open({
        ...view,
        routes: async (c) => {
          await c.route("**/gotong/web/config", async (route) => {
            const response = await route.fetch();
            const config = (await response.json()) as { contracts: Record<string, string> };
            await route.fulfill({ response, json: { ...config, contracts: { ...config.contracts, providerRegistry: fakeRegistry } } });
          });
          await c.route("**/gotong/relay/prepare", async (route) => {
            const response = await route.fetch();
            await route.fulfill({ response, json: { ...((await response.json()) as object), hpkePublicKey: GATEWAY_OWN_KEY } });
          });
          // What the page posts to the relay is sealed to the gateway's own key: recorded, and
          // stopped here so it never reaches the provider (which could not open it anyway).
          await c.route(/\/gotong\/relay\/0x/, async (route) => {
            if (route.request().method() !== "POST") return route.continue();
            relayPosts.push(route.request().url());
            await route.abort();
          });
        },
      });
      const providerBefore = web.providerTap.sent().length;
      // The next problem shown (a reload brings back the conversation, with the problems before).
      const nextProblem = async () => {
        const problems = page.getByTestId("message-problem");
        const before = await problems.count();
        return async () => {
          await problems.nth(before).waitFor({ timeout: 30_000 });
          return problems.nth(before).innerText();
        };
      };

      // With the gateway's values the check passes: the fake registry agrees with the fake key, and
      // the message goes out sealed to a key the gateway holds. The panel says where the values came from.
      let problem = await nextProblem();
      await ask(page, "A secret the fake registry lets through");
      await problem();
      await trustOpen(page);
      expect(await page.getByTestId("trust-status").innerText()).toContain("matches the chain");
      expect(await page.getByTestId("chain-key").innerText()).toBe(keyFingerprint(GATEWAY_OWN_KEY));
      expect(await page.getByTestId("trust-registry").innerText()).toBe(fakeRegistry);
      expect(await page.getByTestId("trust-target").innerText()).toContain(`(from the gateway) on chain ${web.deployment.chainId} (from the gateway)`);
      expect(await page.getByTestId("trust").innerText()).toContain("This page's code comes from the gateway");
      expect(relayPosts).toHaveLength(1);

      // Pinned to the real registry, the same gateway is caught: blocked, nothing relayed.
      await page.getByLabel("ProviderRegistry address to check against").fill("not an address");
      await page.getByRole("button", { name: "Pin" }).click();
      expect(await page.locator("#trust-pin-help").innerText()).toContain("enter a contract address");
      await page.getByLabel("ProviderRegistry address to check against").fill(web.deployment.providerRegistry);
      const reloaded = page.waitForEvent("load");
      await page.getByRole("button", { name: "Pin" }).click();
      await reloaded;
      await offersLoaded(page);
      await trustOpen(page);
      expect(await page.getByTestId("trust-registry").innerText()).toBe(web.deployment.providerRegistry);
      expect(await page.getByTestId("trust-target").innerText()).toContain("(pinned by you) on chain");
      problem = await nextProblem();
      await ask(page, "A secret the pinned registry protects");
      const caught = await problem();
      expect(caught).toContain("not the one the chain holds");
      expect(caught).toContain("Nothing was sent.");
      expect(await page.getByTestId("trust-status").innerText()).toContain("DOES NOT match the chain");
      expect(await page.getByTestId("gateway-key").innerText()).toBe(keyFingerprint(GATEWAY_OWN_KEY));
      expect(await page.getByTestId("chain-key").innerText()).toBe(keyFingerprint(chainKey));
      await page.getByRole("button", { name: "Send" }).waitFor();
      expect(relayPosts).toHaveLength(1);
      await screenshot(page, `trust-pinned-registry-${view.name}`);

      // A pinned chain id the RPC does not serve blocks too (the wrong-chain check, with the pin).
      await page.getByLabel("Chain id").fill("1");
      const again = page.waitForEvent("load");
      await page.getByRole("button", { name: "Pin" }).click();
      await again;
      await offersLoaded(page);
      problem = await nextProblem();
      await ask(page, "A secret on the wrong chain");
      expect(await problem()).toContain(`serves chain ${web.deployment.chainId}, and the chain you pinned is chain 1`);
      await page.getByRole("button", { name: "Send" }).waitFor();
      expect(relayPosts).toHaveLength(1);
      expect(requestsToProvider(providerBefore)).toEqual([]);
      if (view.dark) expect(await axe(await withAxe(page))).toEqual([]);
      await context.close();
    });
  }

  it("uses the chain RPC the person sets: the policy then allows that origin only, and an RPC of another chain blocks sending", async () => {
    const other = await startOtherChainRpc();
    try {
      const { context, page } = await open();
      await trustOpen(page);
      await page.getByLabel("Chain RPC for the check").fill("not a url");
      await page.getByRole("button", { name: "Save RPC" }).click();
      expect(await page.locator("#chain-rpc-help").innerText()).toContain("enter a URL");
      await page.getByLabel("Chain RPC for the check").fill(other.url);
      const reloaded = page.waitForEvent("load");
      await page.getByRole("button", { name: "Save RPC" }).click();
      await reloaded;
      const response = await page.reload();
      const csp = response!.headers()["content-security-policy"]!;
      expect(csp).toContain(`connect-src 'self' ${other.url};`);
      expect(csp).not.toContain(devnetOrigin);
      await offersLoaded(page);
      await ask(page, "Which chain?");
      const problem = page.getByTestId("message-problem");
      await problem.waitFor({ timeout: 30_000 });
      expect(await problem.innerText()).toContain(`serves chain 1, and this gateway's network is chain ${web.deployment.chainId}`);
      expect(other.calls).toContain("eth_chainId");
      // Back to the default: the devnet's origin is allowed again.
      await trustOpen(page);
      await page.getByLabel("Chain RPC for the check").fill("");
      const back = page.waitForEvent("load");
      await page.getByRole("button", { name: "Save RPC" }).click();
      await back;
      expect((await page.reload())!.headers()["content-security-policy"]).toContain(`connect-src 'self' ${devnetOrigin};`);
      await context.close();
    } finally {
      other.server.close();
    }
  });
});

/** axe is injected as an inline script, which the real policy forbids: the same page state, in a context that bypasses it. */
async function withAxe(page: Page): Promise<Page> {
  const context = await page.context().browser()!.newContext({ bypassCSP: true, viewport: page.viewportSize() ?? undefined });
  const copy = await context.newPage();
  await copy.goto(page.url());
  await offersLoaded(copy);
  await copy.locator("[data-testid=trust] > summary").click();
  return copy;
}
