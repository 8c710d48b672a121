import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { axe } from "./helpers/axe.ts";
import { browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

describe.skipIf(skip)("the first visit (issue 18): what Gotong is and who is paid, dismissable and remembered", () => {
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

  it("explains on a first visit, keeps the composer on screen, and stays dismissed after a reload", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    const welcome = page.getByTestId("welcome");
    const text = await welcome.innerText();
    expect(text).toContain("Welcome to Gotong");
    expect(text).toContain("The provider that ran the model");
    expect(text).toContain("The model's creator, a royalty share set by the model's licence terms");
    expect(text).toContain("a small protocol fee goes to a funding pool");
    expect(text).toContain("in gUSD, from the gateway's paying account");
    // It is read from its start (the empty log is not scrolled to its end).
    expect(await page.locator(".messages").evaluate((el) => el.scrollTop)).toBe(0);
    // The explanation sits in the empty conversation: Send is still within the first screen.
    const send = await page.getByRole("button", { name: "Send" }).boundingBox();
    expect(send!.y + send!.height).toBeLessThanOrEqual(800);
    await page.getByRole("button", { name: "Got it" }).click();
    await welcome.waitFor({ state: "detached" });
    await page.reload();
    await offersLoaded(page);
    expect(await page.getByTestId("welcome").count()).toBe(0);
    await context.close();
  });

  for (const mode of [{ name: "desktop" }, { name: "phone", width: 390, height: 844 }, { name: "dark", dark: true }]) {
    it(`reads well and passes axe (${mode.name})`, async () => {
      const context = await browser.newContext({ viewport: { width: mode.width ?? 1280, height: mode.height ?? 800 }, colorScheme: mode.dark ? "dark" : "light", bypassCSP: true });
      const page = await context.newPage();
      await page.goto(web.pageUrl);
      await offersLoaded(page);
      await page.getByTestId("welcome").waitFor();
      // The page's lines still arriving (balance, picker) may move things: wait for Send's place, not its first one.
      await expect.poll(async () => { const send = await page.getByRole("button", { name: "Send" }).boundingBox(); return send ? send.y + send.height : Infinity; }, { timeout: 10_000 }).toBeLessThanOrEqual(mode.height ?? 800);
      await screenshot(page, `welcome-${mode.name}`);
      expect(await axe(page)).toEqual([]);
      await context.close();
    });
  }
});
