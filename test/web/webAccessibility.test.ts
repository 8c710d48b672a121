import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, recordRequests, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";
import { waitFor } from "../helpers/waitFor.ts";

const skip = browserSkipReason();

describe.skipIf(skip)("the web app is accessible and fits a phone, and runs only its own code", () => {
  let web: WebNetwork;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebNetwork();
    await web.fundingRound();
    browser = await launchBrowser();
    // Something in the history, the explorer and the charts.
    const page = await browser.newPage();
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    await ask(page, "Once upon a time");
    await page.locator("[data-testid=message-receipt]").waitFor({ timeout: 90_000 });
    await page.close();
    await web.gateway.settle();
    await web.provider.redeemer.redeemNow();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  const pages = [
    { hash: "#/chat", ready: "[data-testid=message-receipt]" },
    { hash: "#/explorer", ready: ".chart canvas" },
    { hash: "#/funding", ready: "[data-testid=project-match]" },
  ];

  for (const viewport of [{ name: "desktop", width: 1280, height: 900 }, { name: "phone", width: 360, height: 740 }]) {
    it(`passes axe's WCAG 2.1 AA checks (labels, contrast, names) on every page, ${viewport.name}${viewport.name === "phone" ? ", with nothing wider than the screen" : ""}`, async () => {
      // bypassCSP only so axe itself can be injected; the page's own policy is checked below.
      const context = await browser.newContext({ viewport, bypassCSP: true, isMobile: viewport.name === "phone", hasTouch: viewport.name === "phone" });
      let chatted = false;
      for (const colorScheme of ["light", "dark"] as const) {
        const page = await context.newPage();
        await page.emulateMedia({ colorScheme });
        for (const { hash, ready } of pages) {
          await page.goto(`${web.pageUrl}${hash}`);
          if (hash === "#/chat" && !chatted) {
            // Each context has its own IndexedDB: give this one a conversation to check (once: the
            // next page of this context loads it from its history, which takes a moment).
            await offersLoaded(page);
            await ask(page, "Once upon a time");
            chatted = true;
          }
          await page.locator(ready).first().waitFor({ timeout: 60_000 });
          // Every section has loaded (each fetches on its own), so axe checks the whole page every run.
          await waitFor(async () => (await page.getByText("Loading…", { exact: true }).count()) === 0, { what: `${hash} to finish loading every section`, timeoutMs: 60_000 });
          expect(await axe(page), `${hash} ${viewport.name} ${colorScheme}`).toEqual([]);
          if (viewport.name === "phone") {
            const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
            expect(overflow, `${hash} is wider than the phone`).toBeLessThanOrEqual(0);
          }
          await screenshot(page, `a11y-${viewport.name}-${colorScheme}-${hash.slice(2)}`);
        }
        await page.close();
      }
      await context.close();
    });
  }

  it("works from the keyboard alone: skip link, navigation, focus moves to the new page, chat sends with Enter", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Skip to content");
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("Tab");
      names.push((await page.evaluate("document.activeElement?.textContent ?? ''")) as string);
    }
    expect(names.slice(0, 4)).toEqual(["Gotong", "Chat", "Explorer", "Funding"]);
    // Enter on "Funding" opens it and moves focus to the page's content.
    await page.getByRole("link", { name: "Funding" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Funding", level: 1 }).waitFor();
    expect(await page.evaluate("document.activeElement?.id")).toBe("main");
    // Focus is always visible.
    await page.keyboard.press("Tab");
    const outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle");
    expect(outline).not.toBe("none");
    await screenshot(page, "keyboard-focus");
    await page.close();
  });

  it("runs only the project's own built modules under a policy that lets nothing reach another origin but the chain RPC that checks providers' keys", async () => {
    const context = await browser.newContext();
    const requests = recordRequests(context);
    const page = await context.newPage();
    const response = await page.goto(web.pageUrl);
    const csp = response!.headers()["content-security-policy"]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    // The page may connect to its gateway and to the chain RPC it checks providers' keys through
    // (the local devnet by default; trust/chainRpc.ts), nowhere else.
    expect(csp).toContain(`connect-src 'self' ${new URL(web.deployment.rpcUrl).origin};`);
    await offersLoaded(page);
    const scripts = (await page.evaluate("[...document.scripts].map((s) => ({ src: s.src, type: s.type, inline: s.textContent.trim().length }))")) as { src: string; type: string; inline: number }[];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s.type).toBe("module");
      expect(s.inline).toBe(0);
      expect(new URL(s.src).origin).toBe(new URL(web.pageUrl).origin);
      expect(new URL(s.src).pathname).toMatch(/^\/assets\/index-[\w-]+\.js$/);
    }
    // The policy holds even if some code tried: a fetch to another host is blocked in the browser.
    const blocked = await page.evaluate(`fetch("http://127.0.0.2:9/").then(() => "sent", (e) => e.name)`);
    expect(blocked).toBe("TypeError");
    for (const hash of ["#/explorer", "#/funding", "#/chat"]) {
      await page.goto(`${web.pageUrl}${hash}`);
      await page.waitForLoadState("networkidle");
    }
    const origin = new URL(web.pageUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith("data:"))).toEqual([]);
    await screenshot(page, "own-origin-only");
    await context.close();
  });
});
