import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { getRoundStatus } from "../../src/funding/getRoundStatus.ts";
import { browserSkipReason, launchBrowser, recordRequests, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

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
    await modelRow.waitFor();
    // One donor so far: quadratic funding gives the model project no match yet; the lab (two donors) has it all.
    expect(await modelRow.getByTestId("project-match").innerText()).toBe("0 gUSD");
    expect(await labRow.getByTestId("project-match").innerText()).toBe("100 gUSD");
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
    await alert.waitFor();
    expect(await alert.innerText()).toContain("You declined the approval in your wallet.");
    expect(await alert.innerText()).toContain("Nothing was sent and no funds moved.");
    expect(await page.getByTestId("wallet").innerText()).toContain("browser wallet");
    await page.reload();
    await modelRow.waitFor();
    expect(await modelRow.getByTestId("project-match").innerText()).toBe(matchBefore);
    await screenshot(page, "funding-wallet-refused");
    await context.close();
  });

  it("refuses an amount that is not one before asking the wallet", async () => {
    const page = await browser.newPage();
    await page.goto(`${web.pageUrl}#/funding`);
    await page.getByLabel("Amount (gUSD)", { exact: true }).fill("0.0000001");
    await page.getByRole("button", { name: "Donate" }).click();
    expect(await page.getByRole("alert").innerText()).toContain("At most 6 decimals.");
    await page.getByLabel("Amount (gUSD)", { exact: true }).fill("abc");
    await page.getByRole("button", { name: "Donate" }).click();
    expect(await page.getByRole("alert").innerText()).toContain("Enter a number");
    await screenshot(page, "funding-bad-amount");
    await page.close();
  });
});
