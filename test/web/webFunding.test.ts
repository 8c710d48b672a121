import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator } from "playwright-core";
import { getRoundStatus } from "../../src/funding/getRoundStatus.ts";
import { axe } from "./helpers/axe.ts";
import { browserSkipReason, launchBrowser, recordRequests, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** A locator's text, or "" while it is not there: for expect.poll, which asks again until it matches. */
const textOf = (locator: Locator) => locator.innerText({ timeout: 1_000 }).catch(() => "");

describe.skipIf(skip)("the web app's funding page, in headless Chromium", () => {
  let web: WebNetwork;
  let browser: Browser;
  let round: Awaited<ReturnType<WebNetwork["fundingRound"]>>;

  beforeAll(async () => {
    web = await startWebNetwork();
    round = await web.fundingRound();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it("donates from the page with the local key and the estimated match moves to what the reference maths says", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const requests = recordRequests(context);
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/funding`);
    const modelRow = page.locator(`tr[data-project="${round.modelProject}"]`);
    const labRow = page.locator(`tr[data-project="${round.labProject}"]`);
    // One donor so far: quadratic funding gives the model project no match yet; the lab (two donors) has it all.
    await expect.poll(() => textOf(modelRow.getByTestId("project-match")), { timeout: 30_000 }).toBe("0 gUSD");
    await expect.poll(() => textOf(labRow.getByTestId("project-match")), { timeout: 10_000 }).toBe("100 gUSD");
    const before = await getRoundStatus(web.client, web.deployment, round.roundId);

    const account = web.gateway.address;
    const balanceBefore = await web.balanceOf(account);
    await page.getByLabel("Project", { exact: true }).selectOption(String(round.modelProject));
    await page.getByLabel("Amount (gUSD)", { exact: true }).fill("2.5");
    await page.getByRole("button", { name: "Donate" }).click();
    await page.getByRole("status").filter({ hasText: "Donated 2.5 gUSD" }).waitFor({ timeout: 30_000 });

    const after = await getRoundStatus(web.client, web.deployment, round.roundId);
    const modelAfter = after.projects.find((p) => BigInt(p.projectId) === round.modelProject)!;
    expect(modelAfter.donated).toBe(before.projects.find((p) => BigInt(p.projectId) === round.modelProject)!.donated + 2_500_000n);
    expect(modelAfter.match).toBeGreaterThan(0n);
    expect(await web.balanceOf(account)).toBe(balanceBefore - 2_500_000n);
    // The page shows the new estimate, which is the reference maths' (6 decimals shown in full).
    const shown = await modelRow.getByTestId("project-match").innerText();
    const whole = modelAfter.match / 1_000_000n;
    const fraction = (modelAfter.match % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
    expect(shown).toBe(`${whole.toLocaleString("en-US")}${fraction ? `.${fraction}` : ""} gUSD`);
    expect(await page.getByRole("status").innerText()).toContain(`Estimated match 0 gUSD → ${shown}`);
    const origin = new URL(web.pageUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith("data:"))).toEqual([]);
    await screenshot(page, "funding-donated");
    await context.close();
  });

  it("a wallet that refuses to sign: a clear message, no tokens moved, the estimate unchanged", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const donor = "0x1111111111111111111111111111111111111111";
    // An injected EIP-1193 wallet that connects but declines every transaction, as a person would.
    await context.addInitScript(`window.ethereum = { request: async ({ method }) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return ["${donor}"];
      if (method === "eth_chainId") return "0x7a69";
      throw Object.assign(new Error("User rejected the request."), { code: 4001 });
    } };`);
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/funding`);
    const modelRow = page.locator(`tr[data-project="${round.modelProject}"]`);
    await modelRow.waitFor();
    const matchBefore = await modelRow.getByTestId("project-match").innerText();
    await page.getByLabel("Amount (gUSD)", { exact: true }).fill("1");
    await page.getByRole("button", { name: "Donate" }).click();
    const alert = page.getByRole("alert");
    await expect.poll(() => alert.innerText(), { timeout: 30_000 }).toContain("You declined the approval in your wallet.");
    expect(await alert.innerText()).toContain("Nothing was sent and no funds moved.");
    expect(await page.getByTestId("wallet").innerText()).toContain("browser wallet");
    await page.reload();
    await expect.poll(() => textOf(modelRow.getByTestId("project-match")), { timeout: 30_000 }).toBe(matchBefore);
    await screenshot(page, "funding-wallet-refused");
    await context.close();
  });

  it("the gateway is down: the page says once that it cannot load the rounds, never \"Loading…\" for ever, and Try again loads them", async () => {
    for (const mode of [{ name: "desktop", width: 1280, height: 900, dark: false }, { name: "phone-dark", width: 360, height: 740, dark: true }]) {
      const context = await browser.newContext({ viewport: { width: mode.width, height: mode.height }, colorScheme: mode.dark ? "dark" : "light", bypassCSP: true }); // bypassCSP only so axe can be injected
      await context.route("**/gotong/web/funding", (route) => route.abort("connectionrefused"));
      const page = await context.newPage();
      await page.goto(`${web.pageUrl}#/funding`);
      const failed = page.getByTestId("load-failed");
      await expect.poll(() => textOf(failed), { timeout: 30_000 }).toContain("Could not load the funding rounds");
      expect(await page.getByText("Loading…").count()).toBe(0);
      // Said once: not again in a banner above it.
      expect(await page.getByText("Cannot reach the gateway").count()).toBe(1);
      expect(await page.getByRole("alert").count()).toBe(0);
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(mode.width);
      await screenshot(page, `funding-gateway-down-${mode.name}`);
      expect(await axe(page)).toEqual([]);
      await context.unroute("**/gotong/web/funding");
      await failed.getByRole("button", { name: "Try again" }).click();
      await expect.poll(() => textOf(page.locator(`tr[data-project="${round.modelProject}"]`).getByTestId("project-match")), { timeout: 30_000 }).toMatch(/gUSD$/);
      expect(await failed.count()).toBe(0);
      await context.close();
    }
  });

  it("says commands as code, never with literal backticks: a network without rounds yet", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/gotong/web/funding", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ available: true, chainTime: "0", rounds: [] }) }));
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/funding`);
    await page.getByText("No funding rounds yet.").waitFor({ timeout: 30_000 });
    expect(await page.locator("main code", { hasText: "gotong fund round create" }).count()).toBe(1);
    expect(await page.locator("main").innerText()).not.toContain("`");
    await context.close();
  });

  it("refuses an amount that is not one before asking the wallet", async () => {
    const page = await browser.newPage();
    await page.goto(`${web.pageUrl}#/funding`);
    await page.getByLabel("Amount (gUSD)", { exact: true }).fill("0.0000001");
    await page.getByRole("button", { name: "Donate" }).click();
    await expect.poll(() => textOf(page.getByRole("alert")), { timeout: 10_000 }).toContain("At most 6 decimals.");
    await page.getByLabel("Amount (gUSD)", { exact: true }).fill("abc");
    await page.getByRole("button", { name: "Donate" }).click();
    // The first refusal stays shown until the second replaces it: wait for the second.
    await expect.poll(() => textOf(page.getByRole("alert")), { timeout: 10_000 }).toContain("Enter a number");
    await screenshot(page, "funding-bad-amount");
    await page.close();
  });
});
