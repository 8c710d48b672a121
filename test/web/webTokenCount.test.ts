import type { LlamaModel } from "node-llama-cpp";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** The page's allowance for the chat template (fitHistory.ts): 16 per prompt, 8 per message. */
const TEMPLATE = 16 + 8;
const ANSWER = 16;
const bytes = (text: string) => Buffer.byteLength(text, "utf8");
const n = (x: number) => x.toLocaleString("en-US");

describe.skipIf(skip)("the chat counts a new message's tokens with the model's own tokenizer, in headless Chromium", () => {
  let web: WebNetwork;
  let browser: Browser;
  let vocab: LlamaModel;
  let contextLength: number;
  const pageErrors: string[] = [];
  /** The model's own count (llama.cpp, in Node): what the page's count must equal. */
  const llamaTokens = (text: string) => vocab.tokenize(text).length;

  beforeAll(async () => {
    web = await startWebNetwork({ gatewayHasModel: true });
    await web.gateway.promptCounterReady;
    browser = await launchBrowser();
    const models = (await (await fetch(`${web.gateway.url}/v1/models`)).json()) as { data: { id: string; context_length: number | null }[] };
    contextLength = models.data.find((m) => m.id === web.model.name)!.context_length!;
    const { getLlama } = await import("node-llama-cpp");
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never, logger: () => {} });
    vocab = await llama.loadModel({ modelPath: web.model.path, vocabOnly: true });
  });
  afterAll(async () => {
    await vocab?.dispose();
    await browser?.close();
    await web?.stop();
  });

  /** A page with the chat open, recording every request that would carry a prompt to a provider. */
  async function open(setUp?: (context: BrowserContext) => Promise<unknown>) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true }); // bypassCSP only so axe can be injected
    await setUp?.(context);
    const relayed: string[] = [];
    context.on("request", (r) => {
      if (/\/gotong\/relay\/|\/v1\/chat\//.test(r.url())) relayed.push(r.url());
    });
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    await page.getByLabel("Longest answer (tokens)").fill(String(ANSWER));
    return { context, page, relayed };
  }
  const textOf = (locator: Locator) => locator.innerText({ timeout: 1_000 }).catch(() => "");
  const messageTokens = (page: Page) => page.getByTestId("message-tokens");
  const receiptCount = () => web.gateway.store.listReceipts(10_000).length;

  it("sends a message that the byte bound would refuse but whose counted tokens fit, and says it counted them", async () => {
    const budget = contextLength - ANSWER;
    // Common words: a token each (with the space before them) but four bytes each.
    const text = "the ".repeat(Math.floor((budget - TEMPLATE) / 2)).trim();
    const counted = llamaTokens(text);
    expect(TEMPLATE + bytes(text), "the byte bound refuses it").toBeGreaterThan(budget);
    expect(TEMPLATE + counted, "its counted tokens fit").toBeLessThanOrEqual(budget);

    const { context, page, relayed } = await open();
    await page.getByLabel("Message", { exact: true }).fill(text);
    await expect.poll(() => messageTokens(page).getAttribute("data-counted", { timeout: 1_000 }).catch(() => null), { timeout: 15_000 }).toBe("true");
    expect(await messageTokens(page).innerText()).toBe(` · ${n(counted)} tokens (counted)`);
    expect(await page.getByTestId("context-use").innerText()).toBe(` · at most ${n(TEMPLATE + counted)} + ${ANSWER} (answer) of ${n(contextLength)} tokens`);
    expect(await page.locator("#prompt-count").innerText()).not.toContain("too long");
    await screenshot(page, "chat-token-count-exact");
    expect(await axe(page)).toEqual([]);

    await page.getByRole("button", { name: "Send" }).click();
    const last = page.locator(".message-assistant").last();
    await last.getByTestId("message-receipt").waitFor({ timeout: 90_000 });
    expect(await last.getAttribute("data-status")).toBe("done");
    expect(relayed.length).toBeGreaterThan(0);
    // The provider's count of the prompt it evaluated is within what the page said it would take
    // at most: the message counted exactly, the template within its allowance.
    const inputTokens = Number(/([\d,]+) in \//.exec(await last.getByTestId("message-receipt").innerText())![1]!.replaceAll(",", ""));
    expect(inputTokens).toBeGreaterThanOrEqual(counted);
    expect(inputTokens).toBeLessThanOrEqual(TEMPLATE + counted);
    await context.close();
  });

  it("refuses before sending a message that does not fit even counted exactly, and shows its count", async () => {
    const text = "the ".repeat(contextLength).trim();
    const counted = llamaTokens(text);
    expect(TEMPLATE + counted).toBeGreaterThan(contextLength - ANSWER);
    const receipts = receiptCount();
    const { context, page, relayed } = await open();
    await page.getByLabel("Message", { exact: true }).fill(text);
    await expect.poll(() => textOf(messageTokens(page)), { timeout: 15_000 }).toBe(` · ${n(counted)} tokens (counted)`);
    expect(await page.locator("#prompt-count").innerText()).toContain("too long for this model's context");
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => textOf(page.getByRole("alert")), { timeout: 10_000 }).toContain(`it is ${n(counted)} tokens (counted with the model's tokenizer)`);
    expect(await page.getByRole("alert").innerText()).toContain(`leaves room for ${n(contextLength - ANSWER - TEMPLATE)} with a ${ANSWER}-token answer`);
    expect(relayed).toEqual([]);
    expect(receiptCount()).toBe(receipts);
    expect(await page.locator(".message-assistant").count()).toBe(0);
    await context.close();
  });

  it("counts a long draft once typing pauses, follows what is typed after it, and counts nothing past the character limit", async () => {
    // Past LONG_DRAFT_CHARS (4,000) the page counts when typing pauses, not on every keystroke.
    const text = "the ".repeat(1_500).trim();
    const { context, page } = await open();
    const box = page.getByLabel("Message", { exact: true });
    await box.fill(text);
    await expect.poll(() => textOf(messageTokens(page)), { timeout: 15_000 }).toBe(` · ${n(llamaTokens(text))} tokens (counted)`);
    await box.press("End");
    await page.keyboard.type(" cat sat");
    await expect.poll(() => textOf(messageTokens(page)), { timeout: 15_000 }).toBe(` · ${n(llamaTokens(`${text} cat sat`))} tokens (counted)`);
    // Over the 16,000-character limit the message is refused whatever its count: none is shown.
    await box.fill("a".repeat(16_001));
    await expect.poll(() => textOf(page.locator("#prompt-count")), { timeout: 15_000 }).toContain("16,001 / 16,000 characters");
    expect(await messageTokens(page).count()).toBe(0);
    await context.close();
  });

  it("bounds by bytes, and says so, when the gateway has no tokenizer for the model", async () => {
    const budget = contextLength - ANSWER;
    const text = "the ".repeat(Math.floor((budget - TEMPLATE) / 2)).trim();
    const { context, page, relayed } = await open((c) =>
      c.route("**/gotong/web/tokenizer/**", (route) =>
        route.fulfill({ status: 404, contentType: "application/json", body: JSON.stringify({ error: { message: "no GGUF", code: "not_found", type: "invalid_request_error" } }) }),
      ),
    );
    await page.getByLabel("Message", { exact: true }).fill(text);
    await expect.poll(() => textOf(messageTokens(page)), { timeout: 15_000 }).toBe(` · up to ${n(bytes(text))} tokens (bounded by bytes: the gateway has no tokenizer for this model)`);
    await ask(page, text);
    await expect.poll(() => textOf(page.getByRole("alert")), { timeout: 10_000 }).toContain(`it may take up to ${n(TEMPLATE + bytes(text))} tokens (bounded by its bytes)`);
    expect(relayed).toEqual([]);
    await context.close();
  });

  it("raised no page errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
