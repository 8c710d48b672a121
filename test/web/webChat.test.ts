import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { browserSkipReason, launchBrowser, offersLoaded, recordChainCalls, recordRequests, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** The page's token amounts, as the page formats them (6 decimals, trailing zeros dropped). */
const tokens = (baseUnits: bigint) => {
  const whole = baseUnits / 1_000_000n;
  const fraction = (baseUnits % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} gUSD`;
};

describe.skipIf(skip)("the web app's private chat, in headless Chromium", () => {
  let web: WebNetwork;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  async function open(options: { width?: number; height?: number } = {}) {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
    const requests = recordRequests(context);
    const chainCalls = recordChainCalls(context, web.deployment.rpcUrl);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    return { context, page, requests, chainCalls };
  }

  const assistant = (page: Page) => page.locator(".message-assistant").last();

  it("streams an answer from a real model, sealed in the browser: the gateway relays only ciphertext; price and receipt shown", async () => {
    const { page, requests, chainCalls } = await open();
    const canary = `canary${randomBytes(6).toString("hex")}`;
    const sentBefore = web.gatewayTap.sent().length;
    const receivedBefore = web.gatewayTap.received().length;
    const providerSentBefore = web.providerTap.sent().length;
    // Keyboard only: focus the message box, type, Enter sends.
    await page.getByLabel("Message", { exact: true }).focus();
    await page.keyboard.type(`Once upon a time ${canary} went to the forest.`);
    await page.keyboard.press("Enter");
    await assistant(page).locator("[data-testid=message-receipt]").waitFor({ timeout: 90_000 });
    const answer = await assistant(page).locator(".message-text").innerText();
    expect(answer.trim().length).toBeGreaterThan(0);

    // The price and receipt shown are the gateway's checked receipt.
    const [receipt] = web.gateway.store.listReceipts(1);
    expect(await assistant(page).getByTestId("message-cost").innerText()).toBe(`Cost ${tokens(receipt!.receipt.cost)}`);
    expect(await assistant(page).getByTestId("message-receipt").innerText()).toContain(`${receipt!.receipt.outputTokens} out tokens`);

    // Browser → gateway: the prompt left the browser sealed; gateway → provider: still sealed.
    const browserToGateway = web.gatewayTap.sent().subarray(sentBefore);
    const gatewayToBrowser = web.gatewayTap.received().subarray(receivedBefore);
    const gatewayToProvider = web.providerTap.sent().subarray(providerSentBefore);
    expect(browserToGateway.includes("application/gotong-sealed")).toBe(true);
    for (const wire of [browserToGateway, gatewayToProvider]) {
      expect(wire.includes(canary)).toBe(false);
      expect(wire.includes("Once upon a time")).toBe(false);
      expect(wire.includes('"messages"')).toBe(false);
    }
    // The answer came back as many sealed frames (streamed), none of them readable on the way.
    const frames = gatewayToBrowser.toString("latin1").match(/\ndata: [A-Za-z0-9_-]{20,}/g) ?? [];
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(gatewayToBrowser.includes('"choices"')).toBe(false);
    expect(gatewayToBrowser.includes('"content"')).toBe(false);
    // No long word of the answer in the clear, except words the gateway said before it saw this
    // prompt (its own JSON and headers: "balance", "created", "stories"… are a story's words too).
    const saidBefore = web.gatewayTap.received().subarray(0, receivedBefore);
    const answerWords = answer.split(/\W+/).filter((w) => w.length >= 7 && !saidBefore.includes(w));
    for (const word of answerWords) expect(gatewayToBrowser.includes(word), `"${word}" of the answer crossed the gateway in the clear`).toBe(false);

    // Every request went to the page's own origin, but the chain RPC the provider's key was
    // checked through: there the page only read the provider's record, nothing of the prompt.
    const origin = new URL(web.pageUrl).origin;
    const chainOrigin = new URL(web.deployment.rpcUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith(chainOrigin) && !url.startsWith("data:") && !url.startsWith("blob:"))).toEqual([]);
    expect(chainCalls.map((c) => c.method)).toEqual(["eth_chainId", "eth_call"]);
    for (const call of chainCalls) {
      expect(call.body).not.toContain(canary);
      expect(call.body).not.toContain("Once upon a time");
    }
    await screenshot(page, "chat-streamed");

    // History lives in the browser: a reload shows it again.
    await page.reload();
    await page.locator(".message-user .message-text", { hasText: canary }).waitFor();
    expect(await assistant(page).locator(".message-text").innerText()).toBe(answer);
    expect(pageErrors).toEqual([]);
  });
});
