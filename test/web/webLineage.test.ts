import { copyFile, mkdir, open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { parseEventLogs, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { publishDataset } from "../../src/data/publishDataset.ts";
import { publishModel } from "../../src/model/publishModel.ts";
import { readGgufHeader } from "../../src/model/readGgufHeader.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import type { WebLineage } from "../../src/web/server/readLineage.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { axe } from "./helpers/axe.ts";
import { browserSkipReason, launchBrowser, recordRequests, screenshot, SCREENSHOT_DIR } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** gUSD as the lineage writes an amount: all 6 decimals (trailing zeros dropped), thousands separated. */
function gusd(value: bigint): string {
  const whole = (value / 1_000_000n).toLocaleString("en-US");
  const fraction = (value % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} gUSD`;
}

/** Waits until an amount on the page is `value`: its text in gUSD and its base units both. */
async function amountBecomes(locator: Locator, value: bigint): Promise<void> {
  await waitFor(async () => (await locator.getAttribute("data-base-units", { timeout: 1_000 })) === `${value}` && (await locator.innerText({ timeout: 1_000 })).trim() === gusd(value), {
    what: `${locator} to show ${gusd(value)} (${value} base units)`,
    intervalMs: 100,
    describe: async () => `${await locator.innerText({ timeout: 1_000 }).catch((e: Error) => e.message)} / ${await locator.getAttribute("data-base-units", { timeout: 1_000 }).catch(() => "?")}`,
  });
}

/** A copy of `from` with the lowest mantissa bit of F32 weight number `which` flipped: the same model to the fingerprint, other bytes. */
async function nudgedCopy(from: string, to: string, which: number): Promise<void> {
  await copyFile(from, to);
  const header = await readGgufHeader(to);
  const f32 = header.tensors.find((t) => t.typeName === "F32" && t.elementCount > BigInt(which))!;
  const handle = await open(to, "r+");
  const at = Number(header.dataOffset + f32.offset) + 4 * which;
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  byte[0]! ^= 1;
  await handle.write(byte, 0, 1, at);
  await handle.close();
}

/**
 * Issue 19: the explorer shows a model's lineage tree and what each ancestor and dataset earned
 * from it. A base model (the web network's), a fine-tune of it paying it 30 % and a dataset 10 % of
 * its royalty, and a quantisation of the fine-tune (a third level); paid requests to the fine-tune,
 * redeemed; the tree in the page before and after its royalties flow, to the base unit against the
 * chain's events; its derivatives; axe on the view, light and dark, desktop and phone; and the
 * gateway or the chain down.
 */
describe.skipIf(skip)("the explorer shows a model's lineage and what each ancestor earned from it (issue 19)", () => {
  let web: WebNetwork;
  let browser: Browser;
  let baseId: bigint;
  let fineTuneId: bigint;
  let quantId: bigint;
  let datasetId: bigint;
  let provider: RunningProvider;
  /** The fine-tune's royalties credited by its redeems (`VoucherRedeemed.royalty`), all still pending. */
  let royalty: bigint;

  const keys = { fineTuner: generatePrivateKey(), quantiser: generatePrivateKey(), dataOwner: generatePrivateKey(), anyone: generatePrivateKey() };
  const address = (key: Hex) => privateKeyToAccount(key).address;
  const clientsOf = (key: Hex): ChainClients => createClients({ rpcUrl: web.deployment.rpcUrl, chainId: web.deployment.chainId, account: privateKeyToAccount(key) });
  const channels = () => ({ address: web.deployment.paymentChannels, abi: PaymentChannelsArtifact.abi }) as const;
  // Names from the chain are shown as text: markup in them must show as typed and never run.
  const DATASET_NAME = `stories <img src=x onerror="window.__lineageInjected=1">`;
  const QUANT_NAME = "fine-tune-q4 <b>bold</b>";

  beforeAll(async () => {
    web = await startWebNetwork();
    const { deployment } = web;
    const home = web.net.home;
    baseId = web.model.modelId;
    for (const key of Object.values(keys)) await fundOnDevnet(deployment, address(key), {});

    const corpus = join(home.root, "corpus");
    await mkdir(corpus, { recursive: true });
    await writeFile(join(corpus, "stories.jsonl"), '{"text":"once upon a time"}\n{"text":"the cat sat"}\n');
    datasetId = (await publishDataset(clientsOf(keys.dataOwner), deployment, { path: corpus, name: DATASET_NAME, license: "CC-BY-4.0", datasetsDir: join(home.root, "datasets") })).datasetId;

    const fineTunePath = join(home.models, "fine-tune.gguf");
    await nudgedCopy(web.model.path, fineTunePath, 0);
    fineTuneId = (
      await publishModel(clientsOf(keys.fineTuner), deployment, {
        path: fineTunePath,
        name: "fine-tune",
        royaltyBps: 1000,
        manifestsDir: home.manifests,
        parents: [{ modelId: `${baseId}`, relation: "fine-tune", shareBps: 3000 }],
        datasets: [{ datasetId: `${datasetId}`, shareBps: 1000 }],
      })
    ).modelId;
    const quantPath = join(home.models, "fine-tune-q4.gguf");
    await nudgedCopy(web.model.path, quantPath, 1);
    quantId = (
      await publishModel(clientsOf(keys.quantiser), deployment, {
        path: quantPath,
        name: QUANT_NAME,
        royaltyBps: 800,
        manifestsDir: home.manifests,
        parents: [{ modelId: `${fineTuneId}`, relation: "quantisation", shareBps: 2000 }],
      })
    ).modelId;

    // Paid requests to the fine-tune, at once, at a price that makes every share many base units.
    provider = await web.net.provider(fineTunePath, { modelId: fineTuneId, price: { pricePerMillionInput: 1_000_000_000n, pricePerMillionOutput: 2_000_000_000n } });
    const answers = await Promise.all(
      ["Once upon a time", "A cat sat", "The sun rose"].map(async (prompt) => {
        const res = await postChat(web.gateway.baseUrl, "fine-tune", prompt, { max_tokens: 6 });
        expect(res.status, await res.clone().text()).toBe(200);
        return readCost(res);
      }),
    );
    const costs = answers.reduce((sum, a) => sum + a.cost!, 0n);
    await web.gateway.settle();
    const redeem = await provider.redeemer.redeemNow();
    expect(redeem.amount).toBe(costs);
    // The royalty the redeems credited the fine-tune, from the chain's own events.
    royalty = 0n;
    for (const hash of redeem.transactionHashes) {
      const receipt = await web.client.getTransactionReceipt({ hash });
      for (const log of parseEventLogs({ abi: PaymentChannelsArtifact.abi, eventName: "VoucherRedeemed", logs: receipt.logs })) if (log.args.modelId === fineTuneId) royalty += log.args.royalty;
    }
    expect(royalty).toBeGreaterThan(0n);
    expect(await web.client.readContract({ ...channels(), functionName: "pendingRoyalties", args: [fineTuneId] })).toBe(royalty);
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  /** The explorer with `modelId`'s lineage opened from its row. */
  async function openLineage(page: Page, modelId: bigint): Promise<Locator> {
    await page.goto(`${web.pageUrl}#/explorer`);
    const row = page.locator(`tr[data-model="${modelId}"]`);
    // The explorer reads the whole network first: on a loaded machine that takes a while.
    await row.waitFor({ timeout: 60_000 });
    await row.getByRole("button", { name: /^Lineage of / }).click();
    const view = page.locator(`section.lineage[data-lineage-of="${modelId}"]`);
    await view.locator("[data-lineage-root]").waitFor({ timeout: 30_000 });
    return view;
  }

  const baseItem = (view: Locator) => view.locator(`li[data-lineage-model="${baseId}"][data-lineage-child="${fineTuneId}"]`);
  const datasetItem = (view: Locator) => view.locator(`li[data-lineage-dataset="${datasetId}"][data-lineage-child="${fineTuneId}"]`);
  /** An item's own line, not its descendants'. */
  const line = (item: Locator) => item.locator(":scope > .lineage-node");

  it("answers the lineage as JSON with the CLI's tree and the derivatives, and refuses a bad id", async () => {
    const res = await fetch(`${web.gateway.url}/gotong/web/lineage?model=${fineTuneId}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as WebLineage;
    expect(body.maxDepth).toBe(5);
    expect(body.lineage).toMatchObject({ modelId: `${fineTuneId}`, name: "fine-tune", depth: 1, royaltyBps: 1000, kept: "0", pending: `${royalty}` });
    expect(body.lineage.parents).toMatchObject([{ relation: "fine-tune", shareBps: 3000, earnedFromChild: "0", pendingFromChild: `${(royalty * 3000n) / 10_000n}`, model: { modelId: `${baseId}`, depth: 0, parents: [], datasets: [] } }]);
    expect(body.lineage.datasets).toEqual([{ datasetId: `${datasetId}`, name: DATASET_NAME, owner: address(keys.dataOwner), shareBps: 1000, earnedFromChild: "0", pendingFromChild: `${(royalty * 1000n) / 10_000n}` }]);
    expect(body.derivatives).toEqual([{ modelId: `${quantId}`, name: QUANT_NAME, owner: address(keys.quantiser), relation: "quantisation", shareBps: 2000, paidToParent: "0", pendingToParent: "0" }]);
    expect((await fetch(`${web.gateway.url}/gotong/web/lineage?model=abc`)).status).toBe(400);
    const missing = await fetch(`${web.gateway.url}/gotong/web/lineage?model=999`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
  });

  it("shows the fine-tune's tree: the base at 30 % and the dataset at 10 %, owed their exact shares until they flow, then what the chain paid them", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const requests = recordRequests(context);
    const page = await context.newPage();
    const view = await openLineage(page, fineTuneId);
    expect(await view.getByRole("heading", { level: 3 }).innerText()).toBe(`Lineage of fine-tune #${fineTuneId}`);
    // Opening it takes the keyboard to it.
    expect(await page.evaluate("document.activeElement?.id")).toBe("lineage-title");
    expect(await page.locator(`tr[data-model="${fineTuneId}"] .lineage-toggle`).getAttribute("aria-expanded")).toBe("true");

    // Before any flow: nothing earned yet; each is owed its share of the pending royalty, rounded down.
    expect(await line(baseItem(view)).innerText()).toContain(`fine-tune of ${web.model.name} #${baseId}: 30% of #${fineTuneId}'s royalty; earned 0 gUSD from #${fineTuneId}`);
    await amountBecomes(line(baseItem(view)).getByTestId("lineage-pending").locator(".amount"), (royalty * 3000n) / 10_000n);
    await amountBecomes(line(datasetItem(view)).getByTestId("lineage-pending").locator(".amount"), (royalty * 1000n) / 10_000n);
    await amountBecomes(view.getByTestId("lineage-root-pending").locator(".amount"), royalty);
    await screenshot(page, "lineage-pending");

    // Anyone flows the fine-tune's royalties; the chain's events say what each got.
    const { hash } = await writeAndWait(clientsOf(keys.anyone), { ...channels(), functionName: "flowRoyalties", args: [fineTuneId] });
    const logs = (await web.client.getTransactionReceipt({ hash })).logs;
    const toBase = parseEventLogs({ abi: PaymentChannelsArtifact.abi, eventName: "ParentShareFlowed", logs });
    const toDataset = parseEventLogs({ abi: PaymentChannelsArtifact.abi, eventName: "DatasetShareFlowed", logs });
    const flowed = parseEventLogs({ abi: PaymentChannelsArtifact.abi, eventName: "RoyaltiesFlowed", logs });
    expect(toBase.map((l) => [l.args.modelId, l.args.parentId])).toEqual([[fineTuneId, baseId]]);
    expect(toDataset.map((l) => [l.args.modelId, l.args.datasetId])).toEqual([[fineTuneId, datasetId]]);
    const paidBase = toBase[0]!.args.amount;
    const paidDataset = toDataset[0]!.args.amount;
    const kept = flowed[0]!.args.kept;
    // Every unit of the royalty ended at exactly one party, each share rounded down.
    expect(paidBase).toBe((royalty * 3000n) / 10_000n);
    expect(paidDataset).toBe((royalty * 1000n) / 10_000n);
    expect(kept + paidBase + paidDataset).toBe(royalty);

    await view.getByRole("button", { name: "Refresh" }).click();
    await amountBecomes(line(baseItem(view)).getByTestId("lineage-earned"), paidBase);
    await amountBecomes(line(datasetItem(view)).getByTestId("lineage-earned"), paidDataset);
    await amountBecomes(view.getByTestId("lineage-kept"), kept);
    // Flowed: nothing is owed any more.
    expect(await view.getByTestId("lineage-pending").count()).toBe(0);
    expect(await view.getByTestId("lineage-root-pending").count()).toBe(0);
    expect(await line(baseItem(view)).innerText()).toContain(`earned ${gusd(paidBase)} from #${fineTuneId}; owned by`);
    // The dataset's name is text: the markup in it shows as typed and nothing ran.
    expect(await line(datasetItem(view)).innerText()).toContain(`dataset ${DATASET_NAME} #${datasetId}: 10% of #${fineTuneId}'s royalty; earned ${gusd(paidDataset)}`);
    expect(await view.locator("img").count()).toBe(0);
    expect(await page.evaluate("window.__lineageInjected")).toBeUndefined();
    // The derivative, a level below.
    const quant = view.locator(`li[data-lineage-derivative="${quantId}"]`);
    expect(await quant.innerText()).toContain(`${QUANT_NAME} #${quantId}, a quantisation of it: pays it 20% of its royalty; paid 0 gUSD so far`);
    expect(await view.locator("b").count()).toBe(0);
    const origin = new URL(web.pageUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith("data:"))).toEqual([]);
    await screenshot(page, "lineage-flowed");
    await context.close();
  });

  it("opens the base model's derivatives and the quantisation's three levels from the tree, by keyboard", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const view = await openLineage(page, quantId);
    // quantisation → fine-tune → (dataset, base): nested lists, one level in each.
    const fineTune = view.locator(`li[data-lineage-model="${fineTuneId}"][data-lineage-child="${quantId}"]`);
    expect(await fineTune.getAttribute("data-relation")).toBe("quantisation");
    expect(await fineTune.locator(`:scope > ul > li[data-lineage-model="${baseId}"]`).count()).toBe(1);
    expect(await fineTune.locator(`:scope > ul > li[data-lineage-dataset="${datasetId}"]`).count()).toBe(1);
    expect(await view.locator("[data-lineage-root] > .lineage-node").innerText()).toContain(`${QUANT_NAME} #${quantId} (this model): royalty 8%, depth 2 of at most 5`);
    expect(await view.getByRole("heading", { level: 3 }).innerText()).toBe(`Lineage of ${QUANT_NAME} #${quantId}`);
    const paidBase = (royalty * 3000n) / 10_000n;
    await amountBecomes(line(view.locator(`li[data-lineage-model="${baseId}"][data-lineage-child="${fineTuneId}"]`)).getByTestId("lineage-earned"), paidBase);

    // From the keyboard: the base model's button in the tree opens its lineage, and focus follows.
    const baseButton = view.getByRole("button", { name: `${web.model.name} #${baseId}` });
    await baseButton.focus();
    await page.keyboard.press("Enter");
    const baseView = page.locator(`section.lineage[data-lineage-of="${baseId}"]`);
    await baseView.locator("[data-lineage-root]").waitFor();
    expect(await page.evaluate("document.activeElement?.id")).toBe("lineage-title");
    expect(await baseView.locator("[data-lineage-root]").innerText()).toContain(`${web.model.name} #${baseId} (this model)`);
    expect(await baseView.innerText()).toContain("An original model: it names no parent model and no dataset.");
    const child = baseView.locator(`li[data-lineage-derivative="${fineTuneId}"]`);
    expect(await child.getAttribute("data-relation")).toBe("fine-tune");
    await amountBecomes(child.getByTestId("lineage-paid"), paidBase);
    expect(await child.innerText()).toContain(`fine-tune #${fineTuneId}, a fine-tune of it: pays it 30% of its royalty; paid ${gusd(paidBase)} so far`);

    // Close: the view goes and focus returns to the row it was opened from.
    await baseView.getByRole("button", { name: "Close the lineage" }).press("Enter");
    await baseView.waitFor({ state: "detached" });
    expect(await page.evaluate("document.activeElement?.getAttribute('aria-label')")).toBe(`Lineage of ${web.model.name} #${baseId}`);
    // The row's button opens it again from the keyboard.
    await page.keyboard.press("Enter");
    await baseView.locator("[data-lineage-root]").waitFor();
    await page.close();
  });

  for (const viewport of [{ name: "desktop", width: 1280, height: 900 }, { name: "phone", width: 360, height: 740 }]) {
    it(`the lineage view passes axe's WCAG 2.1 AA checks, light and dark, ${viewport.name}${viewport.name === "phone" ? ", nothing wider than the screen" : ""}`, async () => {
      // bypassCSP only so axe itself can be injected.
      const context = await browser.newContext({ viewport, bypassCSP: true, isMobile: viewport.name === "phone", hasTouch: viewport.name === "phone" });
      for (const colorScheme of ["light", "dark"] as const) {
        const page = await context.newPage();
        await page.emulateMedia({ colorScheme });
        const view = await openLineage(page, quantId);
        await amountBecomes(line(view.locator(`li[data-lineage-model="${baseId}"]`)).getByTestId("lineage-earned"), (royalty * 3000n) / 10_000n);
        await waitFor(async () => (await page.getByText("Loading…", { exact: true }).count()) === 0, { what: "every section of the explorer to load", timeoutMs: 60_000 });
        expect(await axe(page), `lineage ${viewport.name} ${colorScheme}`).toEqual([]);
        if (viewport.name === "phone") {
          const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
          expect(overflow, "the explorer with a lineage open is wider than the phone").toBeLessThanOrEqual(0);
        }
        await screenshot(page, `lineage-${viewport.name}-${colorScheme}`);
        // The view alone too, at its size, for review.
        await view.screenshot({ path: join(SCREENSHOT_DIR, `lineage-view-${viewport.name}-${colorScheme}.png`) });
        await page.close();
      }
      await context.close();
    });
  }

  it("the gateway down: the lineage says it could not load, with Try again, never Loading… for ever", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/explorer`);
    await page.locator(`tr[data-model="${fineTuneId}"]`).waitFor({ timeout: 60_000 });
    await context.route("**/gotong/web/lineage**", (route) => route.abort("connectionrefused"));
    await page.locator(`tr[data-model="${fineTuneId}"]`).getByRole("button", { name: /^Lineage of / }).click();
    const failed = page.locator("section.lineage").getByTestId("load-failed");
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.innerText()).toContain("Could not load the lineage: Cannot reach the gateway");
    // Back up: Try again loads it.
    await context.unroute("**/gotong/web/lineage**");
    await failed.getByRole("button", { name: "Try again" }).click();
    await page.locator(`section.lineage[data-lineage-of="${fineTuneId}"] [data-lineage-root]`).waitFor({ timeout: 30_000 });
    await context.close();
  });

  // Last: it stops the chain.
  it("the chain down: the lineage shows the gateway's error, keeps what it read before, and never says Loading… for ever", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const view = await openLineage(page, fineTuneId);
    await web.net.devnet.stop();
    await view.getByRole("button", { name: "Refresh" }).click();
    const failed = view.getByTestId("load-failed");
    await failed.waitFor({ timeout: 60_000 });
    expect(await failed.innerText()).toContain(`Could not load the lineage again: Cannot reach the chain's RPC for reading the lineage of model #${fineTuneId}`);
    // What it showed before stays, marked by the failure above it, not replaced by "Loading…".
    expect(await view.locator("[data-lineage-root]").count()).toBe(1);
    expect(await view.getByText("Loading…", { exact: true }).count()).toBe(0);
    // Another model's lineage, never read: the error in place of the tree.
    await page.locator(`tr[data-model="${baseId}"]`).getByRole("button", { name: /^Lineage of / }).click();
    const other = page.locator(`section.lineage[data-lineage-of="${baseId}"]`);
    await other.getByTestId("load-failed").waitFor({ timeout: 60_000 });
    expect(await other.locator("[data-lineage-root]").count()).toBe(0);
    await screenshot(page, "lineage-chain-down");
    await page.close();
  });
});
