import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { donate } from "../../src/funding/donate.ts";
import { getRoundStatus } from "../../src/funding/getRoundStatus.ts";
import { readRound } from "../../src/funding/readRound.ts";
import { UNIT } from "../helpers/network.ts";
import { axe } from "./helpers/axe.ts";
import { browserSkipReason, launchBrowser, screenshot } from "./helpers/browser.ts";
import { injectKeyWallet } from "./helpers/injectKeyWallet.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** An amount as the page writes it (6 decimals, thousand separators, trailing zeros dropped). */
const tokens = (baseUnits: bigint) => {
  const whole = (baseUnits / 1_000_000n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (baseUnits % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} gUSD`;
};

describe.skipIf(skip)("the funding page runs a whole round (issue 18): create, apply a model, fund, finalize, claim", () => {
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

  /** The page as the gateway's local key (the operator here), or as the model's creator through an injected wallet. */
  async function open(as: "local" | "creator", viewport = { width: 1280, height: 1000 }, dark = false): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, colorScheme: dark ? "dark" : "light", bypassCSP: true });
    if (as === "creator") await injectKeyWallet(context, web.net.creator);
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/funding`);
    await page.locator(".lede").waitFor();
    return { context, page };
  }
  const status = (page: Page, text: string) => page.getByRole("status").filter({ hasText: text }).waitFor({ timeout: 30_000 });

  it("creates a round, applies the creator's model, adds to the pool, and after the window finalizes and pays the claim exactly", async () => {
    const operator = await open("local");
    await operator.page.getByText("No funding rounds yet.").waitFor();
    await operator.page.getByText("Create a round").click();
    // A bad window is refused in the page, nothing sent.
    await operator.page.getByLabel("Donation window (days)").fill("0");
    await operator.page.getByRole("button", { name: "Create round" }).click();
    expect(await operator.page.getByRole("alert").innerText()).toContain("Donation window: enter a whole number of days from 1 to 365.");
    await operator.page.getByLabel("Donation window (days)").fill("1");
    await operator.page.getByLabel("Cap per project (%)").fill("100");
    await operator.page.getByRole("button", { name: "Create round" }).click();
    await status(operator.page, "Created round 1: applications and donations are open for 1 day.");
    const round = await readRound(web.client, web.deployment, 1n);
    expect(round.operator).toBe(web.gateway.address);
    expect(round.donationEnd - round.donationStart).toBe(86_400n);
    expect(round.matchingCapBps).toBe(10_000);

    await operator.page.getByLabel("Pool amount (gUSD)").fill("10");
    await operator.page.getByRole("button", { name: "Add to pool" }).click();
    await status(operator.page, "Added 10 gUSD to round 1's matching pool.");
    expect(await operator.page.getByTestId("round-pool").innerText()).toBe("10 gUSD");
    await screenshot(operator.page, "funding-round-created");
    // Every form of an open round (apply, pool, donate) is visible here: axe checks them.
    expect(await axe(operator.page)).toEqual([]);

    // The creator applies their model from their own wallet.
    const creator = await open("creator");
    await creator.page.getByRole("button", { name: /Use local key|Connect wallet/ }).click();
    const project = creator.page.getByLabel("Project to apply");
    await project.waitFor();
    // The creator's models arrive after the wallet connects: wait for them, and for the choice.
    await expect.poll(() => project.locator("option").first().innerText(), { timeout: 20_000 }).toBe(`${web.model.name} #${web.model.modelId}`);
    await expect.poll(() => project.inputValue(), { timeout: 20_000 }).toBe(String(web.model.modelId));
    await creator.page.getByRole("button", { name: "Apply" }).click();
    await status(creator.page, `Applied ${web.model.name} #${web.model.modelId} to round 1`);
    await creator.page.locator('tr[data-project="1"]').waitFor();

    // Two donors (so quadratic funding gives a match), then the window ends.
    for (const amount of [1n * UNIT, 4n * UNIT]) {
      const key = generatePrivateKey();
      await fundOnDevnet(web.deployment, privateKeyToAccount(key).address, { tokens: 10n * UNIT });
      await donate(createClients({ rpcUrl: web.deployment.rpcUrl, chainId: web.deployment.chainId, account: privateKeyToAccount(key) }), web.deployment, { roundId: 1n, projectId: 1n, amount });
    }
    await web.advanceTime(86_400 + 60);

    await operator.page.reload();
    await operator.page.getByRole("button", { name: "Finalize round" }).click();
    await status(operator.page, "Round 1 is finalized");
    expect((await readRound(web.client, web.deployment, 1n)).finalized).toBe(true);
    const finalized = await getRoundStatus(web.client, web.deployment, 1n);
    const payout = finalized.projects[0]!.payout;
    expect(payout).toBe(5n * UNIT + finalized.projects[0]!.match);
    expect(finalized.projects[0]!.match).toBeGreaterThan(0n);

    // Someone else's claim is refused in the page, before anything is sent.
    const claimButton = (page: Page) => page.getByRole("button", { name: `Claim ${tokens(payout)} for ${web.model.name} #${web.model.modelId}` });
    const operatorBalance = await web.balanceOf(web.gateway.address);
    await claimButton(operator.page).click();
    expect(await operator.page.getByRole("alert").innerText()).toContain(`Only ${web.net.creator.account.address} can claim for ${web.model.name} #${web.model.modelId}`);
    expect(await web.balanceOf(web.gateway.address)).toBe(operatorBalance);
    await screenshot(operator.page, "funding-round-finalized");

    // The creator claims: the page states what the token moved, which is the payout, to the base unit.
    const before = await web.balanceOf(web.net.creator.account.address);
    await creator.page.reload();
    await creator.page.getByRole("button", { name: /Use local key|Connect wallet/ }).click();
    await claimButton(creator.page).click();
    await status(creator.page, `Claimed ${tokens(payout)} for ${web.model.name} #${web.model.modelId} (donations and match)`);
    expect(await web.balanceOf(web.net.creator.account.address)).toBe(before + payout);
    expect(await claimButton(creator.page).count()).toBe(0);
    await screenshot(creator.page, "funding-round-claimed");
    await operator.context.close();
    await creator.context.close();
  });

  for (const mode of [{ name: "desktop", width: 1280, height: 1000 }, { name: "phone", width: 360, height: 740 }, { name: "dark", width: 1280, height: 1000, dark: true }]) {
    it(`passes axe with the round forms open (${mode.name})`, async () => {
      const { context, page } = await open("local", { width: mode.width, height: mode.height }, mode.dark);
      await page.getByText("Create a round").click();
      await page.getByLabel("Donation window (days)").waitFor();
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(mode.width);
      await screenshot(page, `funding-forms-${mode.name}`);
      expect(await axe(page)).toEqual([]);
      await context.close();
    });
  }
});
