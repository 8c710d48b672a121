import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { generatePrivateKey } from "viem/accounts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { webAppRoutes } from "../../src/web/server/webAppRoutes.ts";
import { quietLogger } from "../helpers/network.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** The views the oversized-prompt refusal runs in: desktop light, and a phone in dark mode. */
const VIEWS = [
  { name: "desktop", width: 1100, height: 900, dark: false },
  { name: "phone-dark", width: 390, height: 844, dark: true },
] as const;
/** A screenshot's name in a view: the desktop's as before, the phone's with its view. */
const shotName = (name: string, view: (typeof VIEWS)[number]) => (view.name === "desktop" ? name : `${name}-${view.name}`);

describe.skipIf(skip)("the web app under bad input and faults: a clear message, no history or funds lost", () => {
  let web: WebNetwork;
  let browser: Browser;
  let broke: RunningGateway | undefined;

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await broke?.stop();
    await web?.stop();
  });

  async function open(url = web.pageUrl, view: { width: number; height: number; dark: boolean } = { width: 1100, height: 900, dark: false }) {
    const context = await browser.newContext({ viewport: { width: view.width, height: view.height }, colorScheme: view.dark ? "dark" : "light" });
    const relayed: string[] = [];
    context.on("request", (r) => {
      if (r.url().includes("/gotong/relay/")) relayed.push(r.url());
    });
    const page = await context.newPage();
    await page.goto(url);
    await offersLoaded(page);
    return { context, page, relayed };
  }
  const alertText = async (page: Page) => {
    await page.getByRole("alert").first().waitFor({ timeout: 60_000 });
    return page.getByRole("alert").first().innerText();
  };

  for (const view of VIEWS) {
    it(`an empty or oversized prompt is refused in the page, before anything is sealed or sent (${view.name})`, async () => {
      const { context, page, relayed } = await open(web.pageUrl, view);
      await ask(page, "   ");
      expect(await alertText(page)).toContain("Write a message first.");
      const long = "a".repeat(16_001);
      await page.getByLabel("Message", { exact: true }).fill(long);
      expect(await page.locator("#prompt-count").innerText()).toBe("16,001 / 16,000 characters");
      await page.getByRole("button", { name: "Send" }).click();
      expect(await alertText(page)).toContain("Your message is 16,001 characters; the limit is 16,000.");
      expect(await page.getByLabel("Message", { exact: true }).inputValue()).toBe(long); // the draft is kept to shorten
      expect(relayed).toEqual([]);
      await screenshot(page, shotName("bad-input-oversized", view));
      await context.close();
    });
  }

  it("the network is down: a clear message, the question kept in history, and asking again works once it is back", async () => {
    const { context, page } = await open();
    await context.route("**/gotong/relay/**", (route) => route.abort("internetdisconnected"));
    await ask(page, "Once upon a time there was a network");
    expect(await alertText(page)).toContain("Cannot reach the gateway");
    expect(await page.locator(".message-assistant").last().getAttribute("data-status")).toBe("error");
    await screenshot(page, "bad-input-network-down");
    await page.reload();
    await page.locator(".message-user .message-text", { hasText: "Once upon a time there was a network" }).waitFor();
    await context.unroute("**/gotong/relay/**");
    await page.getByRole("button", { name: "Ask again" }).click();
    await page.locator(".message-assistant").last().locator("[data-testid=message-receipt]").waitFor({ timeout: 90_000 });
    expect(await page.locator(".message-user").count()).toBe(1);
    await context.close();
  });

  it("a provider that stops mid-stream: what arrived is kept and marked incomplete; it survives a reload", async () => {
    const { context, page } = await open();
    web.providerTap.cutAfter(4);
    try {
      await ask(page, "Once upon a time a long story");
      const problem = page.locator(".message-assistant").last().getByTestId("message-problem");
      await problem.waitFor({ timeout: 90_000 });
      expect(await problem.innerText()).toContain("The provider stopped in the middle of the answer.");
      expect(await problem.innerText()).toContain("charged only for the tokens you received");
      const partial = await page.locator(".message-assistant").last().locator(".message-text").innerText();
      expect(partial.length).toBeGreaterThan(0);
      expect(await page.locator(".message-assistant").last().getAttribute("data-status")).toBe("incomplete");
      await screenshot(page, "bad-input-provider-cut");
      await page.reload();
      await page.locator('.message-assistant[data-status="incomplete"]').waitFor();
      expect(await page.locator(".message-assistant").last().locator(".message-text").innerText()).toBe(partial);
    } finally {
      web.providerTap.cutAfter(undefined);
    }
    // The gateway recorded how much arrived, so the cut request is billed for no more than that.
    const pending = web.gateway.store.listChannels().flatMap((c) => web.gateway.store.listPending(c.channelId));
    expect(pending.length).toBe(1);
    expect(pending[0]!.observedOutputTokens).toBeLessThan(200n);
    await context.close();
  });

  it("a rejected payment (the gateway's account cannot fund a channel): a clear message, nothing charged, history kept", async () => {
    broke = await startGateway({ home: web.net.home, deployment: web.deployment, privateKey: generatePrivateKey(), port: 0, offersRefreshMs: 0, extraRoutes: webAppRoutes, logger: quietLogger() });
    const { context, page } = await open(`${broke.url}/`);
    await ask(page, "Will this be paid for?");
    const text = await alertText(page);
    expect(text).toMatch(/less than the \d+ needed for a channel deposit/);
    expect(text).toContain("Fund the gateway account");
    expect(broke.store.listReceipts(10)).toEqual([]);
    await page.reload();
    await page.locator(".message-user .message-text", { hasText: "Will this be paid for?" }).waitFor();
    await screenshot(page, "bad-input-payment-rejected");
    await context.close();
  });
});
