import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { keyFingerprint } from "../../src/web/app/trust/keyFingerprint.ts";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, recordChainCalls, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** A key no provider registered: what a malicious gateway would hand over to open the prompt itself. */
const GATEWAY_OWN_KEY = `0x${"5a".repeat(32)}` as Hex;

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
  async function open(options: { width?: number; height?: number; dark?: boolean; bypassCSP?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; csp: string }> {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.dark ? "dark" : "light", bypassCSP: options.bypassCSP ?? false });
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
    const toProvider = web.providerTap.sent().subarray(providerBefore).toString("latin1");
    expect(toProvider).not.toContain("POST ");
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
