import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { EarningsSeries } from "../../src/web/server/readEarnings.ts";
import { registerModel } from "../../src/model/registerModel.ts";
import { sharedModelPath } from "../fixtures/model/sharedModels.ts";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** An amount as the page writes it (6 decimals, thousand separators, trailing zeros dropped). */
const tokens = (baseUnits: bigint) => {
  const whole = (baseUnits / 1_000_000n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (baseUnits % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} gUSD`;
};

describe.skipIf(skip)("the explorer (issue 18): charts from a bundled charting library with axes, hover values and phone-readable labels; licences by name", () => {
  let web: WebNetwork;
  let browser: Browser;
  let earnings: { creators: EarningsSeries[]; providers: EarningsSeries[] };

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
    // Two paid answers, redeemed on-chain: the charts have steps to draw.
    const page = await browser.newPage();
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    await page.getByLabel("Longest answer (tokens)").fill("16");
    for (const [i, text] of ["Once upon a time", "The cat"].entries()) {
      await ask(page, text);
      await page.locator("[data-testid=message-receipt]").nth(i).waitFor({ timeout: 90_000 });
    }
    await page.close();
    await web.gateway.settle();
    await web.provider.redeemer.redeemNow();
    earnings = (await (await fetch(`${web.gateway.url}/gotong/web/earnings`)).json()) as typeof earnings;
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  /** Moves the pointer over a chart's plot at a share of its width, and reads the legend's values under it. */
  async function hover(page: Page, chart: number, share: number): Promise<string[]> {
    const over = page.locator(".chart-plot .u-over").nth(chart);
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + Math.max(1, Math.min(box.width - 1, box.width * share)), box.y + box.height / 2, { steps: 4 });
    // uPlot updates its legend on the next animation frame after the pointer moves.
    await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
    return (await page.locator(".chart-plot").nth(chart).locator(".u-legend .u-series .u-value").allInnerTexts()).map((t) => t.trim());
  }

  /** The tick labels each chart drew, and its axis font and unit (EarningsChart.ts writes them on the chart's element). */
  async function ticksOf(page: Page, chart: number) {
    const plot = page.locator(".chart-plot").nth(chart);
    await plot.and(page.locator("[data-x-ticks]")).waitFor();
    const read = async (name: string) => (await plot.getAttribute(name))!;
    type Tick = { label: string; from: number; to: number };
    return {
      x: JSON.parse(await read("data-x-ticks")) as Tick[],
      y: JSON.parse(await read("data-y-ticks")) as Tick[],
      font: await read("data-axis-font"),
      unit: await read("data-y-unit"),
      width: (await plot.locator("canvas").boundingBox())!.width,
    };
  }
  /** Whether labels along one axis leave a gap between each and the next. */
  const apart = (ticks: { from: number; to: number }[]) => [...ticks].sort((a, b) => a.from - b.from).every((t, i, all) => i === 0 || all[i - 1]!.to < t.from);

  it("draws each series with uPlot and shows, under the pointer, each total exact to the base unit", async () => {
    expect(earnings.providers.length).toBe(1);
    expect(earnings.creators.length).toBe(1);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${web.pageUrl}#/explorer`);
    // Both charts (creators', providers') drawn, and no third.
    await page.locator(".chart canvas").nth(1).waitFor();
    expect(await page.locator(".chart canvas").count()).toBe(2);
    // No hand-drawn SVG is left.
    expect(await page.locator(".chart svg").count()).toBe(0);
    const providerTotal = BigInt(earnings.providers[0]!.points.at(-1)!.total);
    const creatorTotal = BigInt(earnings.creators[0]!.points.at(-1)!.total);
    expect(providerTotal).toBeGreaterThan(0n);
    // At the far left (before the first redeem) everyone has earned nothing; at the right, the chain's totals.
    const [startTime, creatorStart] = await hover(page, 0, 0);
    expect(startTime).not.toBe("latest");
    expect(creatorStart).toBe("0 gUSD");
    const [creatorTime, creatorEnd] = await hover(page, 0, 1);
    expect(creatorTime).not.toBe("latest");
    expect(creatorEnd).toBe(tokens(creatorTotal));
    const [, providerEnd] = await hover(page, 1, 1);
    expect(providerEnd).toBe(tokens(providerTotal));
    // The figures table says the same, for screen readers.
    await page.getByText("Show the figures").nth(1).click();
    expect(await page.locator(".chart").nth(1).locator("tbody tr").last().innerText()).toContain(tokens(providerTotal));
    // Each axis has ticks a person can read: times along x, amounts in gUSD along y.
    for (const chart of [0, 1]) {
      const ticks = await ticksOf(page, chart);
      expect(ticks.x.length).toBeGreaterThanOrEqual(2);
      // uPlot's time labels: the first states the date and time ("12/7/26 2:52pm" under its
      // seconds), the others the seconds, minutes or hours since (":05", "2:53pm").
      expect(ticks.x[0]!.label).toMatch(/\b\d{1,2}\/\d{1,2}\/\d{2} \d{1,2}:\d{2}(am|pm)$/);
      for (const t of ticks.x) expect(t.label).toMatch(/^(:\d{2}|\d{1,2}:\d{2}(am|pm)|\d{1,2}(am|pm)|\d{1,2}\/\d{1,2})(\n|$)/);
      expect(ticks.y.length).toBeGreaterThanOrEqual(2);
      expect(ticks.unit).toBe("gUSD");
      for (const t of ticks.y) expect(t.label).toMatch(/^\d{1,3}(,\d{3})*(\.\d{1,6})?$/);
      expect(apart(ticks.x) && apart(ticks.y)).toBe(true);
    }
    await hover(page, 1, 0.7);
    await screenshot(page, "charts-desktop");
    await page.close();
  });

  it("names each model's licence (the SPDX expression of its signed manifest) instead of its raw id", async () => {
    const { modelId } = await registerModel(web.net.creator, web.deployment, {
      path: sharedModelPath("tinyRandom"),
      name: "tiny-llama",
      royaltyBps: 500,
      license: "MIT OR Apache-2.0",
      manifestsDir: web.net.home.manifests,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${web.pageUrl}#/explorer`);
    const licence = (id: bigint) => page.locator(`tr[data-model="${id}"]`).getByTestId("model-licence");
    await expect.poll(() => licence(modelId).innerText(), { timeout: 30_000 }).toBe("MIT License or Apache License 2.0");
    await expect.poll(() => licence(modelId).locator("span").getAttribute("title"), { timeout: 30_000 }).toBe("SPDX: MIT OR Apache-2.0");
    // The test network's first model was published without a licence: "not stated", not "NOASSERTION".
    await expect.poll(() => licence(BigInt(web.model.modelId)).innerText(), { timeout: 30_000 }).toBe("not stated");
    await page.close();
  });

  for (const mode of [{ name: "phone", width: 360, height: 740 }, { name: "dark", width: 1280, height: 900, dark: true }]) {
    it(`fits and passes axe (${mode.name})`, async () => {
      const context = await browser.newContext({ viewport: { width: mode.width, height: mode.height }, colorScheme: mode.dark ? "dark" : "light", bypassCSP: true, isMobile: mode.name === "phone", hasTouch: mode.name === "phone" });
      const page = await context.newPage();
      await page.goto(`${web.pageUrl}#/explorer`);
      await page.locator(".chart canvas").first().waitFor();
      // The chart is as wide as its card, never wider than the screen.
      for (const canvas of await page.locator(".chart canvas").all()) {
        const box = (await canvas.boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(mode.width);
      }
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(mode.width);
      // The labels are readable: the axis font is at least 11 px, and no two labels on an axis
      // overlap or leave the chart, however narrow the screen (uPlot spaces its ticks by width).
      for (const chart of [0, 1]) {
        const ticks = await ticksOf(page, chart);
        expect(Number(/^(\d+(?:\.\d+)?)px/.exec(ticks.font)![1])).toBeGreaterThanOrEqual(11);
        expect(ticks.x.length).toBeGreaterThanOrEqual(2);
        expect(ticks.y.length).toBeGreaterThanOrEqual(2);
        expect(ticks.x.length).toBeLessThanOrEqual(Math.floor(ticks.width / 60) + 1);
        expect(apart(ticks.x), JSON.stringify(ticks.x)).toBe(true);
        expect(apart(ticks.y), JSON.stringify(ticks.y)).toBe(true);
        for (const t of ticks.x) {
          expect(t.from).toBeGreaterThanOrEqual(0);
          expect(t.to).toBeLessThanOrEqual(ticks.width);
        }
      }
      await page.locator(".chart").first().scrollIntoViewIfNeeded();
      await screenshot(page, `charts-${mode.name}`);
      expect(await axe(page)).toEqual([]);
      await context.close();
    });
  }
});
