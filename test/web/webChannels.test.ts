import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { ask, attributeBecomes, browserSkipReason, launchBrowser, offersLoaded, recordChainCalls, recordRequests, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

describe.skipIf(skip)("the web app's channels, in headless Chromium", () => {
  let web: WebNetwork;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  async function chat(page: Page, text: string) {
    await page.goto(`${web.pageUrl}#/chat`);
    await offersLoaded(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await ask(page, text);
    await page.locator(".message-assistant").last().locator("[data-testid=message-receipt]").waitFor({ timeout: 90_000 });
  }

  it("closing a channel from the page returns exactly the unspent deposit, and chat opens a new one afterwards", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const requests = recordRequests(context);
    const chainCalls = recordChainCalls(context, web.deployment.rpcUrl);
    const page = await context.newPage();
    await chat(page, "Once upon a time");
    await chat(page, "The little dog");
    const [channel] = web.gateway.store.listChannels();
    expect(channel!.spent).toBeGreaterThan(0n);
    await web.gateway.settle(); // the provider now holds a voucher for everything spent

    await page.goto(`${web.pageUrl}#/explorer`);
    const row = page.locator(`tr[data-channel="${channel!.channelId}"]`);
    await attributeBecomes(row, "data-state", "open");
    const account = web.gateway.address;
    const balanceBefore = await web.balanceOf(account);
    await row.getByRole("button", { name: /^Close the channel/ }).click();
    await page.getByRole("dialog", { name: "Close this channel?" }).getByRole("button", { name: "Close channel" }).click();
    await page.getByRole("status").filter({ hasText: "Closing started" }).waitFor({ timeout: 30_000 });
    // The notice shows as soon as the transaction is mined; the table refreshes after it.
    await attributeBecomes(row, "data-state", "closing");

    // Inside the challenge period the provider redeems its latest voucher; then the period ends.
    await web.provider.redeemer.redeemNow();
    await web.advanceTime(web.deployment.challengePeriod + 1);
    await page.getByRole("button", { name: "Refresh" }).click();
    await attributeBecomes(row, "data-state", "withdrawable");
    const onChain = await web.client.readContract({ address: web.deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "getChannel", args: [channel!.channelId] });
    expect(onChain.redeemed).toBe(channel!.spent); // the provider was paid exactly what the receipts say
    expect(await row.getByTestId("channel-unspent").innerText()).toContain(String(Number(onChain.deposit - onChain.redeemed) / 1e6));
    await screenshot(page, "channels-withdrawable");

    await row.getByRole("button", { name: /^Withdraw the unspent deposit/ }).click();
    await page.getByRole("dialog", { name: "Withdraw the rest of this channel?" }).getByRole("button", { name: /^Withdraw / }).click();
    await page.getByRole("status").filter({ hasText: "Withdrawn" }).waitFor({ timeout: 30_000 });
    expect(await web.balanceOf(account)).toBe(balanceBefore + (onChain.deposit - onChain.redeemed));
    await attributeBecomes(row, "data-state", "withdrawn");
    await screenshot(page, "channels-withdrawn");

    // The gateway noticed: its next chat opens the channel's next epoch instead of paying into a closed one.
    await chat(page, "After the close");
    const reopened = web.gateway.store.getChannel(channel!.channelId)!;
    expect(reopened.epoch).toBe(channel!.epoch + 1n);
    // Nothing left for another origin but the provider-key reads from the chain RPC (trust/checkProviderKey.ts).
    const origin = new URL(web.pageUrl).origin;
    const chainOrigin = new URL(web.deployment.rpcUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith(chainOrigin) && !url.startsWith("data:"))).toEqual([]);
    expect(chainCalls.length).toBeGreaterThan(0);
    for (const call of chainCalls) {
      expect(["eth_chainId", "eth_call"]).toContain(call.method);
      for (const prompt of ["Once upon a time", "The little dog", "After the close"]) expect(call.body).not.toContain(prompt);
    }
    await context.close();
  });

  it("the explorer shows models with owner, hash, licence and royalty, and providers with stake, prices and latency", async () => {
    await web.provider.redeemer.redeemNow().catch(() => undefined);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
    await page.goto(`${web.pageUrl}#/explorer`);
    const models = page.getByRole("region", { name: "Models" });
    // Rows fill in as their reads arrive: wait for each state, not for the row alone.
    const modelRow = () => models.locator("tbody tr").first().innerText();
    await expect.poll(modelRow, { timeout: 30_000 }).toContain(`${web.model.name} #${web.model.modelId}`);
    await expect.poll(modelRow, { timeout: 30_000 }).toContain("10%");
    const providers = () => page.getByRole("region", { name: "Providers" }).locator("tbody tr").first().innerText();
    await expect.poll(providers, { timeout: 30_000 }).toContain(`${web.model.name}: 1 gUSD in / 2 gUSD out per 1M tokens`);
    await expect.poll(providers, { timeout: 30_000 }).toMatch(/\d+ ms/);
    await expect.poll(providers, { timeout: 30_000 }).toMatch(/\d+ receipts checked, none refused/);
    // Its verification record on-chain (no challenge checked yet on this network).
    await expect.poll(providers, { timeout: 30_000 }).toContain("0 challenges passed, 0 failed");
    await page.locator(".chart canvas").first().waitFor();
    await screenshot(page, "explorer");
    await page.close();
  });
});
