import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { webAppRoutes } from "../../src/web/server/webAppRoutes.ts";
import { quietLogger, UNIT } from "../helpers/network.ts";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** The views the bugs' tests run in: desktop light, and a phone in dark mode. */
const VIEWS = [
  { name: "desktop", width: 1280, height: 800, dark: false },
  { name: "phone-dark", width: 390, height: 844, dark: true },
] as const;
/** A screenshot's name in a view: the desktop's as before, the phone's with its view. */
const shotName = (name: string, view: (typeof VIEWS)[number]) => (view.name === "desktop" ? name : `${name}-${view.name}`);

/** "Cost 0.000123 gUSD" → 123n: the page's amounts back in base units (6 decimals), exactly. */
const baseUnitsOf = (text: string) => {
  const m = /Cost ([\d,]+)(?:\.(\d+))? gUSD/.exec(text);
  if (!m) throw new Error(`not a cost: ${JSON.stringify(text)}`);
  return BigInt(m[1]!.replaceAll(",", "")) * 1_000_000n + BigInt((m[2] ?? "").padEnd(6, "0"));
};

describe.skipIf(skip)("the chat is honest about what it sends and spends (issue 18's bugs), in headless Chromium", () => {
  let web: WebNetwork;
  let browser: Browser;
  let keyed: RunningGateway | undefined;
  const pageErrors: string[] = [];
  let contextLength: number;

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
    const models = (await (await fetch(`${web.gateway.url}/v1/models`)).json()) as { data: { id: string; context_length: number | null }[] };
    contextLength = models.data.find((m) => m.id === web.model.name)!.context_length!;
  });
  afterAll(async () => {
    await browser?.close();
    await keyed?.stop();
    await web?.stop();
  });

  async function open(options: { width?: number; height?: number; url?: string; dark?: boolean } = {}) {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.dark ? "dark" : "light", bypassCSP: true }); // bypassCSP only so axe can be injected (webAccessibility checks the policy)
    // These checks are of the byte bound, which the page keeps for a model whose tokenizer it does
    // not have: without the shared models the gateway has the generated model's GGUF and would hand
    // the page its vocabulary. Exact counting has its own file (webTokenCount.test.ts).
    await context.route("**/gotong/web/tokenizer/**", (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"error":{"message":"not in this test","code":"not_found"}}' }));
    const relayed: string[] = [];
    context.on("request", (r) => {
      if (/\/gotong\/relay\/0x/.test(r.url())) relayed.push(r.url());
    });
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(options.url ?? web.pageUrl);
    await offersLoaded(page);
    return { context, page, relayed };
  }
  const box = (page: Page) => page.getByLabel("Message", { exact: true });
  /** A locator's text, or "" while it is not there: for expect.poll, which asks again until it matches. */
  const textOf = (locator: Locator) => locator.innerText({ timeout: 1_000 }).catch(() => "");
  const last = (page: Page) => page.locator(".message-assistant").last();
  /** Waits until the last answer has some text streamed in (not just the placeholder). */
  const firstText = (page: Page) =>
    // Strings, not functions: these run in the page, whose globals Node's types do not describe.
    page.waitForFunction(`(() => { const t = document.querySelector(".message-assistant:last-child .message-text")?.textContent ?? ""; return t.length > 0 && t !== "…"; })()`, undefined, { timeout: 90_000 });
  const settled = (page: Page) => page.locator('.message-assistant[data-status="streaming"]').waitFor({ state: "detached", timeout: 90_000 });
  /** What the page says everything cost, in base units. */
  const costsShown = async (page: Page) => (await page.getByTestId("message-cost").allInnerTexts()).reduce((sum, t) => sum + baseUnitsOf(t), 0n);
  const receiptIds = () => new Set(web.gateway.store.listReceipts(10_000).map((r) => r.receipt.requestId));
  /** The gateway's receipts since `before`, summed in base units. */
  const paidSince = (before: Set<string>) =>
    web.gateway.store
      .listReceipts(10_000)
      .filter((r) => !before.has(r.receipt.requestId))
      .reduce((sum, r) => sum + r.receipt.cost, 0n);

  for (const view of VIEWS) {
    it(`Stop stops: the half-typed next question is not sent, an empty box raises nothing, and stopping before the first token says so plainly (${view.name})`, async () => {
      const before = receiptIds();
      const { context, page, relayed } = await open(view);
      await page.getByLabel("Longest answer (tokens)").fill(String(Math.min(400, contextLength - 64)));
      web.gatewayTap.slowDown(150);
      try {
        await ask(page, "Once upon a time");
        await firstText(page);
        await box(page).fill("a half-typed next question");
        await page.getByRole("button", { name: "Stop" }).click();
        await settled(page);
        expect(await page.locator(".message-user").count()).toBe(1);
        expect(await box(page).inputValue()).toBe("a half-typed next question");
        expect(relayed.length).toBe(1);
        expect(await last(page).getAttribute("data-status")).toBe("incomplete");
        expect(await last(page).getByTestId("message-problem").innerText()).toMatch(/^Stopped\./);
        // Tokens still on their way when Stop was pressed were paid for: the page says so rather than "only what you received".
        expect(await last(page).getByTestId("message-problem").innerText()).toContain("can be more than shows here");

        // The same with an empty box: nothing is sent and no "Write a message first.".
        await box(page).fill("Tell me about a cat");
        await page.getByRole("button", { name: "Send" }).click();
        await firstText(page);
        await page.getByRole("button", { name: "Stop" }).click();
        await settled(page);
        expect(relayed.length).toBe(2);
        expect(await page.getByRole("alert").count()).toBe(0);
        expect(await page.getByText("Write a message first.").count()).toBe(0);
      } finally {
        web.gatewayTap.slowDown(undefined);
      }

      // Stopped before the first token: the gateway's prepare is held until Stop has been pressed.
      let releasePrepare!: () => void;
      const prepareHeld = new Promise<void>((resolve) => (releasePrepare = resolve));
      await context.route("**/gotong/relay/prepare", async (route) => {
        await prepareHeld;
        await route.continue().catch(() => {}); // the page gave up on it: nothing to continue
      });
      try {
        await ask(page, "A question stopped at once");
        await page.getByRole("button", { name: "Stop" }).click();
        await settled(page);
      } finally {
        releasePrepare();
      }
      const problem = await last(page).getByTestId("message-problem").innerText();
      expect(problem).toMatch(/^Stopped before the answer began\./);
      expect(problem).not.toMatch(/signal|abort/i);
      expect(relayed.length).toBe(2);
      await context.unroute("**/gotong/relay/prepare");

      // A stopped answer was charged for what the provider did: its cost shows once the gateway has
      // settled it (with the next request on the channel), and the page's costs add up to what was paid.
      await ask(page, "One more, to the end");
      await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
      await page.waitForFunction(`document.querySelectorAll("[data-testid=message-cost]").length >= 3`, undefined, { timeout: 30_000 });
      expect(await costsShown(page)).toBe(paidSince(before));
      expect(paidSince(before)).toBeGreaterThan(0n);
      await page.getByRole("log").evaluate((el) => (el.scrollTop = 0));
      await screenshot(page, shotName("chat-stopped-costs", view));
      expect(await axe(page)).toEqual([]);
      expect(pageErrors).toEqual([]);
      await context.close();
    });
  }

  it("a reload mid-answer: the answer is marked interrupted with Ask again, its partial is kept with its cost, and Ask again keeps it", async () => {
    const before = receiptIds();
    // On a phone, in dark mode.
    const { context, page } = await open({ width: 390, height: 844, dark: true });
    await page.getByLabel("Longest answer (tokens)").fill(String(Math.min(400, contextLength - 64)));
    web.gatewayTap.slowDown(150);
    try {
      await ask(page, "Once upon a time there was a reload");
      await firstText(page);
      // Reloaded once the page has saved some of the answer (it saves as it streams): what was
      // shown and saved must come back; a reload before any save would have nothing to keep.
      await partialSaved(page);
      await page.reload();
      await offersLoaded(page);
    } finally {
      web.gatewayTap.slowDown(undefined);
    }
    const interrupted = last(page);
    await expect.poll(() => textOf(interrupted.getByTestId("message-problem")), { timeout: 30_000 }).toMatch(/^Interrupted\./);
    expect(await interrupted.getAttribute("data-status")).toBe("incomplete");
    expect(await page.getByText("Writing…").count()).toBe(0);
    const partial = await interrupted.locator(".message-text").innerText();
    expect(partial.length).toBeGreaterThan(0);

    // Ask again: a new answer below; the interrupted one stays (it was paid for), and is settled.
    await page.getByRole("button", { name: "Ask again" }).click();
    await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
    expect(await page.locator(".message-user").count()).toBe(1);
    expect(await page.locator(".message-assistant").count()).toBe(2);
    expect(await page.locator(".message-assistant").first().locator(".message-text").innerText()).toBe(partial);
    await page.locator(".message-assistant").first().getByTestId("message-cost").waitFor({ timeout: 30_000 });
    expect(await costsShown(page)).toBe(paidSince(before));
    await page.getByRole("log").evaluate((el) => (el.scrollTop = 0));
    await screenshot(page, "chat-reload-interrupted-phone-dark");
    expect(await axe(page)).toEqual([]);
    await context.close();
  });

  for (const view of VIEWS) {
    it(`the answer length follows the model's context: no snapping to 1, no more than the context, an over-long prompt refused before sending, history trimmed and said so (${view.name})`, async () => {
      const { context, page, relayed } = await open(view);
      const field = page.getByLabel("Longest answer (tokens)");
      await field.fill("");
      expect(await field.inputValue()).toBe("");
      await field.fill(String(contextLength + 1));
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      expect(await page.locator("#max-tokens-help").innerText()).toContain(`${contextLength.toLocaleString("en-US")}-token context`);
      await ask(page, "Hello");
      await expect.poll(() => textOf(page.getByRole("alert")), { timeout: 10_000 }).toContain("Longest answer");
      expect(relayed).toEqual([]);
      await field.fill("16");

      // A prompt that cannot fit the context with its answer, however short the history.
      await ask(page, "word ".repeat(Math.ceil(contextLength / 5) + 10));
      // (The alert of the refusal before is still there until this one replaces it: wait for this one.)
      await expect.poll(() => textOf(page.getByRole("alert")), { timeout: 10_000 }).toContain("too long for this model");
      const alert = await page.getByRole("alert").innerText();
      expect(alert).not.toContain("`");
      expect(relayed).toEqual([]);

      // Earlier turns are counted by their receipts, not guessed from their length: a second message
      // that fits beside the first turn as the provider counted it goes with it, although the first
      // turn's bytes (the page's bound for text no receipt has counted) would not have left room.
      const first = `First ${"and then ".repeat(Math.floor(contextLength / 16))}`.trim();
      await ask(page, first);
      await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
      // The receipt's counts, as the page shows them ("… · 123 in / 16 out tokens · …").
      const counts = /([\d,]+) in \/ ([\d,]+) out tokens/.exec(await last(page).getByTestId("message-receipt").innerText())!;
      const [inputTokens, outputTokens] = [counts[1], counts[2]].map((n) => Number(n!.replaceAll(",", "")));
      const firstAnswer = await last(page).locator(".message-text").innerText();
      const bytes = (text: string) => Buffer.byteLength(text, "utf8");
      // The page's rule (fitHistory.ts): 16 tokens per prompt and 8 per message of template, an answer's
      // output tokens with a tenth of slack, and nothing counted above its bytes.
      const counted = Math.min(bytes(first) + 8, inputTokens! + 8) + Math.min(bytes(firstAnswer) + 8, Math.ceil(outputTokens! * 1.1) + 8);
      const byBytes = bytes(first) + 8 + bytes(firstAnswer) + 8;
      expect(counted, "the provider counts fewer tokens than bytes in the first turn").toBeLessThan(byBytes);
      const budget = contextLength - 16;
      const message = (seed: string, size: number) => `${seed} ${"x".repeat(size - seed.length - 1)}`;
      const second = message("Second", budget - 24 - counted);
      expect(24 + bytes(second) + byBytes).toBeGreaterThan(budget); // the byte bound alone would have left the first turn out
      await box(page).fill(second);
      await expect.poll(() => textOf(page.locator("#prompt-count")), { timeout: 10_000 }).toContain("characters");
      expect(await page.locator("#prompt-count").innerText()).not.toContain("too long");
      expect(await page.getByTestId("context-trimmed").count()).toBe(0);
      // The composer says what the turn takes of the context, by the same count.
      const n = (x: number) => x.toLocaleString("en-US");
      expect(await page.getByTestId("context-use").innerText()).toBe(` · at most ${n(24 + bytes(second) + counted)} + 16 (answer) of ${n(contextLength)} tokens`);
      await page.getByRole("button", { name: "Send" }).click();
      await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
      expect(await last(page).getAttribute("data-status")).toBe("done");
      expect(await last(page).getByTestId("message-left-out").count()).toBe(0);

      // A third message that takes the whole room: both earlier turns are left out, the page says so
      // before sending, and the answer says what it was written without.
      await box(page).fill(message("Third", budget - 24));
      await expect.poll(() => textOf(page.getByTestId("context-trimmed")), { timeout: 10_000 }).toMatch(/4 earlier messages are left out/);
      await page.screenshot({ path: (await screenshot(page, shotName("chat-context-left-out", view))).replace(".png", "-viewport.png") });
      await page.getByRole("button", { name: "Send" }).click();
      await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
      expect(await last(page).getAttribute("data-status")).toBe("done");
      await expect.poll(() => textOf(last(page).getByTestId("message-left-out")), { timeout: 10_000 }).toMatch(/Written without the 4 earliest messages/);
      await screenshot(page, shotName("chat-context-trimmed", view));
      expect(await axe(page)).toEqual([]);
      await context.close();
    });
  }

  for (const view of VIEWS) {
    it(`errors are shown once, in plain words; a new chat clears stale banners; the Explorer says when it cannot load (${view.name})`, async () => {
      const { context, page } = await open(view);
      await context.route("**/gotong/relay/**", (route) => route.abort("internetdisconnected"));
      await ask(page, "Is anyone there?");
      await expect.poll(() => textOf(last(page).getByTestId("message-problem")), { timeout: 30_000 }).toContain("Cannot reach the gateway");
      expect(await page.getByText("Cannot reach the gateway").count()).toBe(1);
      await context.unroute("**/gotong/relay/**");

      // The gateway's and provider's own words, as they answer: reworded for a person chatting.
      const refuse = (status: number, code: string, message: string, hint: string) =>
        context.route("**/gotong/relay/prepare", (route) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify({ error: { message, type: "server_error", code, param: null, hint } }) }));
      await refuse(503, "provider_unavailable", "Provider 0xabc could not take the request", "Prepare again: another provider may be chosen.");
      await ask(page, "Anyone free?");
      // The last answer is the one before until this one is added: wait for this answer's own problem.
      await expect.poll(() => textOf(last(page).getByTestId("message-problem")), { timeout: 30_000 }).toContain("Ask again: another provider may answer.");
      await context.unroute("**/gotong/relay/prepare");
      await refuse(400, "context_length_exceeded", "max_tokens 900 plus the prompt's 20 tokens exceeds the model's context of 512", "Ask for at most 492 tokens, or leave max_tokens out to generate until the context ends.");
      await ask(page, "A long answer please");
      await expect.poll(() => textOf(last(page).getByTestId("message-problem")), { timeout: 30_000 }).toContain("too long for this model's context");
      await context.unroute("**/gotong/relay/prepare");
      const said = await page.locator("body").innerText();
      for (const internal of ["Prepare again", "max_tokens", "`"]) expect(said).not.toContain(internal);

      await ask(page, "   ");
      await page.getByText("Write a message first.").waitFor();
      await page.getByRole("button", { name: "New chat" }).click();
      expect(await page.getByRole("alert").count()).toBe(0);

      // The gateway goes down: the Explorer says it cannot load, with a way to try again.
      await context.route("**/gotong/web/**", (route) => (route.request().url().includes("/gotong/web/config") ? route.continue() : route.abort("connectionrefused")));
      await page.getByRole("link", { name: "Explorer" }).click();
      await page.getByText("Could not load").first().waitFor({ timeout: 15_000 });
      // Every section ends its loading (a section stuck on "Loading…" fails here).
      await page.getByText("Loading…").first().waitFor({ state: "detached", timeout: 15_000 });
      expect(await page.getByText("Loading…").count()).toBe(0);
      await screenshot(page, shotName("explorer-gateway-down", view));
      expect(await axe(page)).toEqual([]);
      await context.close();
    });
  }

  it("the model picker counts live providers and says when the gateway cannot be reached, also from the start, with Try again", async () => {
    const { context, page } = await open();
    expect(await page.getByLabel("Model").locator("option").first().innerText()).toMatch(/1 provider live/);
    await context.route("**/v1/models", (route) => route.abort("connectionrefused"));
    await context.route("**/gotong/**", (route) => route.abort("connectionrefused"));
    await ask(page, "Hello?");
    await last(page).getByTestId("message-problem").waitFor();
    await page.waitForFunction(`/unreachable/.test(document.querySelector("#model option")?.textContent ?? "")`, undefined, { timeout: 15_000 });
    expect(await page.getByLabel("Model").locator("option").first().innerText()).not.toMatch(/1 provider/);
    await expect.poll(() => textOf(page.locator(".chat-controls").getByTestId("load-failed")), { timeout: 15_000 }).toContain("Could not load the models on offer");
    await context.close();

    // Down from the start: the picker says so (never "Loading models…" for ever), once, with Try
    // again, which works once the gateway answers again.
    for (const view of VIEWS) {
      const down = await browser.newContext({ viewport: { width: view.width, height: view.height }, colorScheme: view.dark ? "dark" : "light", bypassCSP: true });
      await down.route("**/v1/models", (route) => route.abort("connectionrefused"));
      const page = await down.newPage();
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(web.pageUrl);
      const failed = page.getByTestId("load-failed");
      await expect.poll(() => textOf(failed), { timeout: 30_000 }).toContain("Could not load the models on offer: Cannot reach the gateway");
      expect(await page.getByLabel("Model").locator("option").allInnerTexts()).toEqual(["Models could not be loaded"]);
      expect(await page.getByText("Cannot reach the gateway").count()).toBe(1);
      expect(await page.getByText("Loading models…").count()).toBe(0);
      expect(await page.getByText(/provider(s)? live/).count()).toBe(0);
      const send = (await page.getByRole("button", { name: "Send" }).boundingBox())!;
      expect(send.y + send.height).toBeLessThanOrEqual(view.height);
      await screenshot(page, `chat-gateway-down-${view.name}`);
      expect(await axe(page)).toEqual([]);
      await down.unroute("**/v1/models");
      await failed.getByRole("button", { name: "Try again" }).click();
      await offersLoaded(page);
      expect(await page.getByLabel("Model").locator("option").first().innerText()).toMatch(/1 provider live/);
      expect(await failed.count()).toBe(0);
      await down.close();
    }
    expect(pageErrors).toEqual([]);
  });

  it("layout: the composer is on screen on a phone and at 1280×800 with a long log, and reading back is not yanked to the bottom while streaming", async () => {
    const inView = async (page: Page) => {
      const send = await page.getByRole("button", { name: /Send|Stop/ }).boundingBox();
      const viewport = page.viewportSize()!;
      return send !== null && send.y >= 0 && send.y + send.height <= viewport.height;
    };
    /** Whether Send is what a click on it reaches (nothing, such as the footer, lies over it). */
    const sendUncovered = (page: Page) =>
      page.evaluate(`(() => {
        const send = [...document.querySelectorAll(".composer button")].find((b) => b.textContent === "Send");
        const r = send.getBoundingClientRect();
        const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return at === send || send.contains(at);
      })()`);
    /** A long draft grows the message box to its most: Send must stay on screen and uncovered. */
    const longDraft = async (page: Page, name: string) => {
      await box(page).fill(Array.from({ length: 40 }, (_, i) => `line ${i} of a long draft`).join("\n"));
      await page.waitForFunction(`document.querySelector("#prompt").getBoundingClientRect().height > 200`, undefined, { timeout: 10_000 });
      await page.screenshot({ path: (await screenshot(page, name)).replace(".png", "-viewport.png") });
      expect(await inView(page)).toBe(true);
      expect(await sendUncovered(page)).toBe(true);
      await box(page).fill("");
    };
    const phone = await open({ width: 390, height: 844 });
    await phone.page.screenshot({ path: await screenshot(phone.page, "chat-phone").then((p) => p.replace("chat-phone", "chat-phone-viewport")) });
    expect(await inView(phone.page)).toBe(true);
    await longDraft(phone.page, "chat-phone-long-draft");
    await phone.context.close();

    const { context, page } = await open({ width: 1280, height: 800 });
    await seedLongConversation(page);
    expect(await page.locator(".message").count()).toBeGreaterThanOrEqual(30);
    await page.screenshot({ path: (await screenshot(page, "chat-long-log-1280x800")).replace(".png", "-viewport.png") });
    expect(await inView(page)).toBe(true);
    await longDraft(page, "chat-long-draft-1280x800");

    await page.getByLabel("Longest answer (tokens)").fill(String(Math.min(400, contextLength - 64)));
    web.gatewayTap.slowDown(150);
    try {
      await ask(page, "Once upon a time");
      await firstText(page);
      const log = page.getByRole("log");
      // The reader scrolls back to the top, and the page has seen that scroll (its handler ran).
      await waitFor(
        async () =>
          (await page.evaluate(`new Promise((resolve) => {
            const log = document.querySelector("[role=log]");
            if (log.scrollTop === 0) log.scrollTop = 1; // so that the scroll to the top is an event the page sees
            requestAnimationFrame(() => {
              log.addEventListener("scroll", () => requestAnimationFrame(() => resolve(log.scrollTop === 0)), { once: true });
              log.scrollTop = 0;
              setTimeout(() => resolve(false), 2000); // no scroll event came: try again
            });
          })`)) || undefined,
        { what: "the log to stay scrolled to the top", timeoutMs: 15_000 },
      );
      // More of the answer streams in meanwhile, and the log stays where the reader is.
      const shownLength = (await last(page).locator(".message-text").innerText()).length;
      await page.waitForFunction(`(document.querySelector(".message-assistant:last-child .message-text")?.textContent ?? "").length > ${shownLength}`, undefined, { timeout: 60_000 });
      expect(await log.evaluate((el) => el.scrollTop)).toBe(0);
      await page.getByRole("button", { name: "Stop" }).click();
      await settled(page);
    } finally {
      web.gatewayTap.slowDown(undefined);
    }
    await context.close();
  });

  it("closing the channel from the page does not stop chat: the next message goes through a fresh channel during the challenge period", async () => {
    const { context, page } = await open();
    await page.getByLabel("Longest answer (tokens)").fill("16");
    await ask(page, "Before the close");
    await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
    await page.goto(`${web.pageUrl}#/explorer`);
    const row = page.locator('tr[data-state="open"]').first();
    await row.waitFor({ timeout: 30_000 });
    const closed = (await row.getAttribute("data-channel"))!;
    await row.getByRole("button", { name: /^Close the channel/ }).click();
    await page.getByRole("dialog", { name: "Close this channel?" }).getByRole("button", { name: "Close channel" }).click();
    await page.getByRole("status").filter({ hasText: "Closing started" }).waitFor({ timeout: 30_000 });

    await page.goto(`${web.pageUrl}#/chat`);
    await offersLoaded(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByLabel("Longest answer (tokens)").fill("16");
    await ask(page, "While the channel closes");
    await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
    const [receipt] = web.gateway.store.listReceipts(1);
    expect(receipt!.receipt.channelId.toLowerCase()).not.toBe(closed.toLowerCase());
    await context.close();
  });

  for (const view of VIEWS) {
    it(`answers show as Markdown, sanitised: code blocks with a working copy button, raw HTML as text, no script, image or javascript: link (${view.name})`, async () => {
      const { context, page } = await open(view);
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(web.pageUrl).origin });
      const answer = [
        "Here is **bold**, *emphasis* and `inline code`.",
        "",
        "```js",
        "const x = 1 < 2;",
        "```",
        "",
        "- one",
        "- two",
        "",
        '<img src="x" onerror="window.__pwned = 1"> <script>window.__pwned = 2</script> <b onmouseover="x">raw</b>',
        "",
        "[a link](https://example.org/) and [a trap](javascript:window.__pwned=3)",
      ].join("\n");
      await seedConversation(page, [{ role: "user", content: "Show me **markdown** <i>as typed</i>" }, { role: "assistant", content: answer }]);
      const text = last(page).locator(".message-text");
      expect(await text.locator("strong").innerText()).toBe("bold");
      expect(await text.locator("em").innerText()).toBe("emphasis");
      expect(await text.locator("li").allInnerTexts()).toEqual(["one", "two"]);
      expect(await text.locator("pre code").innerText()).toBe("const x = 1 < 2;\n");
      // Raw HTML is shown as the text it is, and nothing of it runs or loads.
      expect(await text.innerText()).toContain('<img src="x" onerror="window.__pwned = 1">');
      expect(await text.innerText()).toContain("<script>window.__pwned = 2</script>");
      expect(await text.locator("img, script, b, [onerror], [onmouseover]").count()).toBe(0);
      expect(await text.getByRole("link", { name: "a link" }).getAttribute("href")).toBe("https://example.org/");
      expect(await text.getByRole("link", { name: "a link" }).getAttribute("rel")).toContain("noopener");
      expect(await text.locator('a[href^="javascript"]').count()).toBe(0);
      expect(await page.evaluate("window.__pwned")).toBeUndefined();
      // What the person wrote stays plain text.
      expect(await page.locator(".message-user .message-text").innerText()).toBe("Show me **markdown** <i>as typed</i>");

      await text.getByRole("button", { name: "Copy code" }).click();
      await text.getByRole("button", { name: "Copied" }).waitFor();
      expect(await page.evaluate("navigator.clipboard.readText()")).toBe("const x = 1 < 2;\n");
      await screenshot(page, shotName("chat-markdown", view));
      expect(await axe(page)).toEqual([]);
      await context.close();
    });
  }

  it("a gateway that requires API keys: the page asks for one, keeps it in this browser and chats with it", async () => {
    const key = generatePrivateKey();
    await fundOnDevnet(web.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    keyed = await startGateway({ home: web.net.home, deployment: web.deployment, privateKey: key, port: 0, offersRefreshMs: 0, requireKeys: true, extraRoutes: webAppRoutes, logger: quietLogger() });
    const { key: apiKey } = keyed.store.apiKeys.create({ budget: 10n * UNIT, periodSeconds: 86_400, rpm: 100 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${keyed.url}/`);
    const field = page.getByLabel("Gateway API key");
    await field.waitFor({ timeout: 30_000 });
    await screenshot(page, "chat-api-key");
    expect(await axe(page)).toEqual([]);
    await field.fill(apiKey);
    await page.getByRole("button", { name: "Save key" }).click();
    await offersLoaded(page);
    expect(await page.evaluate(`localStorage.getItem("gotong.apiKey")`)).toBe(apiKey);
    await page.getByLabel("Longest answer (tokens)").fill("16");
    await ask(page, "Once upon a time");
    await last(page).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
    const [receipt] = keyed.store.listReceipts(1);
    expect(receipt!.keyId).toBeDefined();
    expect(await costsShown(page)).toBe(receipt!.receipt.cost);
    // A reload keeps the key: the page loads straight into the chat.
    await page.reload();
    await offersLoaded(page);
    expect(await page.getByLabel("Gateway API key").count()).toBe(0);
    await context.close();
  });
});

/** A message as the page keeps it in its history. */
type SeedMessage = { role: "user" | "assistant"; content: string };

/** Puts a conversation into the page's history (IndexedDB), as the page would have saved it, and reloads to show it. */
async function seedConversation(page: Page, messages: SeedMessage[]): Promise<void> {
  await page.evaluate(`(async (seed) => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open("gotong-chat", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("conversations", { keyPath: "id" });
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const model = document.querySelector("#model").value;
    const stored = seed.map((m, i) => ({ ...m, id: "seed" + i, createdAt: Date.now() - 60000 + i, status: "done", model }));
    await new Promise((resolve, reject) => {
      const tx = db.transaction("conversations", "readwrite");
      tx.objectStore("conversations").put({ id: "seeded" + Date.now(), title: "Seeded", model, createdAt: Date.now(), updatedAt: Date.now() + 1000000, messages: stored });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  })(${JSON.stringify(messages)})`);
  await page.reload();
  await offersLoaded(page);
  await page.locator(".message").nth(messages.length - 1).waitFor();
}

/**
 * Waits until the page's history (IndexedDB) holds some text of the answer being written: the
 * state a reload must find to keep the partial answer.
 */
async function partialSaved(page: Page): Promise<void> {
  await page.waitForFunction(
    `(async () => {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open("gotong-chat");
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      try {
        const all = await new Promise((resolve, reject) => {
          const req = db.transaction("conversations", "readonly").objectStore("conversations").getAll();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        return all.some((c) => c.messages.some((m) => m.role === "assistant" && m.status === "streaming" && m.content.length > 0 && m.requestId));
      } finally {
        db.close();
      }
    })()`,
    undefined,
    { timeout: 30_000, polling: 100 },
  );
}

/** A 32-message conversation, long enough to scroll. */
const seedLongConversation = (page: Page) =>
  seedConversation(page, Array.from({ length: 32 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `Message ${i}: ${"a line of earlier conversation ".repeat(6)}` })));
