import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Address } from "viem";
import type { Browser, Page } from "playwright-core";
import { axe } from "./helpers/axe.ts";
import { ask, browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** "1,234.5 gUSD" → 1234500000n: an amount the page shows, back in base units (6 decimals), exactly. */
const baseUnitsOf = (text: string) => {
  const m = /([\d,]+)(?:\.(\d+))? gUSD/.exec(text);
  if (!m) throw new Error(`not an amount: ${JSON.stringify(text)}`);
  return BigInt(m[1]!.replaceAll(",", "")) * 1_000_000n + BigInt((m[2] ?? "").padEnd(6, "0"));
};
/** An amount as the page writes it: thousand separators, trailing zeros dropped. */
const tokens = (baseUnits: bigint) => {
  const whole = (baseUnits / 1_000_000n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (baseUnits % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} gUSD`;
};

/**
 * Records, in the page, each request body the chat seals (the JSON with its messages) just before
 * it is encrypted: the only place the plaintext request exists outside the provider.
 */
const RECORD_SEALED_BODIES = `(() => {
  window.__sealedBodies = [];
  const encode = TextEncoder.prototype.encode;
  TextEncoder.prototype.encode = function (text) {
    if (typeof text === "string" && text.startsWith("{") && text.includes('"messages"')) window.__sealedBodies.push(text);
    return encode.call(this, text);
  };
})()`;

type SealedBody = { messages: { role: string; content: string }[]; temperature?: number; top_p?: number; max_tokens: number };

describe.skipIf(skip)("the chat's everyday features (issue 18): settings per conversation, speed, cost and balance, keyboard, numbers", () => {
  let web: WebNetwork;
  let browser: Browser;
  let gatewayAccount: Address;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
    gatewayAccount = ((await (await fetch(`${web.gateway.url}/gotong/web/config`)).json()) as { gatewayAccount: Address }).gatewayAccount;
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  async function open(options: { width?: number; height?: number; dark?: boolean } = {}) {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.dark ? "dark" : "light", bypassCSP: true }); // bypassCSP only so axe can be injected
    await context.addInitScript(RECORD_SEALED_BODIES);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    return { context, page };
  }
  /** The messages of the conversation the page saved last (IndexedDB), in order. */
  const storedMessages = async (page: Page) =>
    (await page.evaluate(`(async () => {
      const db = await new Promise((ok, no) => { const r = indexedDB.open("gotong-chat"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      const all = await new Promise((ok) => { const r = db.transaction("conversations").objectStore("conversations").getAll(); r.onsuccess = () => ok(r.result); });
      db.close();
      return all.sort((a, b) => b.updatedAt - a.updatedAt)[0]?.messages ?? [];
    })()`)) as { role: string; content: string; replaced?: true }[];
  const sealedBodies = async (page: Page) => ((await page.evaluate("window.__sealedBodies")) as string[]).map((b) => JSON.parse(b) as SealedBody);
  const answered = (page: Page, n: number) => page.locator("[data-testid=message-receipt]").nth(n - 1).waitFor({ timeout: 90_000 });
  const settingsPanel = async (page: Page) => {
    if (!(await page.locator("details.chat-settings").evaluate((d) => (d as unknown as { open: boolean }).open))) await page.getByText("Conversation settings").click();
  };

  it("keeps a system prompt, temperature and top-p with each conversation, sends them sealed with every turn, and a new chat starts from the defaults", async () => {
    const { context, page } = await open();
    await settingsPanel(page);
    await page.getByLabel("System prompt").fill("You are a storyteller. Keep it short.");
    await page.getByLabel("Temperature (0–2)").fill("0.3");
    await page.getByLabel("Top-p (0–1)").fill("0.9");
    expect((await page.getByTestId("settings-summary").innerText()).trim()).toBe("(system prompt, temperature 0.3, top-p 0.9)");
    await page.getByLabel("Longest answer (tokens)").fill("24");
    await ask(page, "Once upon a time");
    await answered(page, 1);

    // A reload reads them back with the conversation, and the next turn sends them again.
    await page.reload();
    await offersLoaded(page);
    await settingsPanel(page);
    await expect.poll(() => page.getByLabel("System prompt").inputValue()).toBe("You are a storyteller. Keep it short.");
    expect(await page.getByLabel("Temperature (0–2)").inputValue()).toBe("0.3");
    await page.getByLabel("Top-p (0–1)").fill("0.5"); // changed mid-conversation: kept at once, used from the next turn
    await page.getByLabel("Longest answer (tokens)").fill("24");
    await ask(page, "And then?");
    await answered(page, 2);
    const second = (await sealedBodies(page)).at(-1); // the page's record starts again with the reload
    expect(second!.messages[0]).toEqual({ role: "system", content: "You are a storyteller. Keep it short." });
    expect(second!.messages.at(-1)).toEqual({ role: "user", content: "And then?" });
    expect(second!.messages.filter((m) => m.role === "system")).toHaveLength(1);
    expect([second!.temperature, second!.top_p, second!.max_tokens]).toEqual([0.3, 0.5, 24]);

    // A new chat starts with the provider's defaults: nothing of the other conversation's settings is sent.
    await page.getByRole("button", { name: "New chat" }).click();
    await expect.poll(() => page.getByLabel("System prompt").inputValue()).toBe("");
    expect((await page.getByTestId("settings-summary").innerText()).trim()).toBe("(provider defaults)");
    await ask(page, "Hello");
    await answered(page, 1);
    const third = (await sealedBodies(page)).at(-1)!;
    expect(third.messages).toEqual([{ role: "user", content: "Hello" }]);
    expect("temperature" in third || "top_p" in third).toBe(false);

    // Back in the first conversation, its settings are shown again.
    await page.getByRole("button", { name: "Once upon a time", exact: true }).click();
    await expect.poll(() => page.getByLabel("Top-p (0–1)").inputValue()).toBe("0.5");

    // Out of range: refused before anything is sent, naming the field.
    const sent = (await sealedBodies(page)).length;
    await page.getByLabel("Temperature (0–2)").fill("3");
    await ask(page, "Too hot");
    await page.getByText("Temperature: enter a number from 0 to 2").first().waitFor();
    expect((await sealedBodies(page)).length).toBe(sent);
    expect(await page.getByLabel("Temperature (0–2)").getAttribute("aria-invalid")).toBe("true");
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it("keeps a setting changed while an answer streams, once the answer ends", async () => {
    const { context, page } = await open();
    await page.getByLabel("Longest answer (tokens)").fill("200");
    await settingsPanel(page);
    web.gatewayTap.slowDown(150);
    try {
      await ask(page, "Once upon a time");
      await page.locator('.message-assistant[data-status="streaming"]').waitFor();
      await page.getByLabel("Top-p (0–1)").fill("0.7");
      await page.locator('.message-assistant[data-status="streaming"]').waitFor({ state: "detached", timeout: 90_000 });
    } finally {
      web.gatewayTap.slowDown(undefined);
    }
    await page.reload();
    await offersLoaded(page);
    await expect.poll(() => page.getByLabel("Top-p (0–1)").inputValue()).toBe("0.7");
    await context.close();
  });

  it("shows each answer's time to first token and tokens/s, the conversation's running cost, and the paying account's balance, exactly", async () => {
    const { context, page } = await open();
    await page.getByLabel("Longest answer (tokens)").fill("32");
    await ask(page, "Once upon a time");
    await answered(page, 1);
    await ask(page, "The end");
    await answered(page, 2);
    const speeds = await page.getByTestId("message-speed").allInnerTexts();
    expect(speeds).toHaveLength(2);
    for (const s of speeds) expect(s).toMatch(/^first token \d+\.\d\d s · \d+\.\d tokens\/s$/);

    // The running cost is the sum of this conversation's receipts, as the gateway checked them.
    const costs = (await page.getByTestId("message-cost").allInnerTexts()).map(baseUnitsOf);
    const requestIds = new Set(await page.evaluate(`(async () => {
      const db = await new Promise((ok, no) => { const r = indexedDB.open("gotong-chat"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      const all = await new Promise((ok) => { const r = db.transaction("conversations").objectStore("conversations").getAll(); r.onsuccess = () => ok(r.result); });
      return all.flatMap((c) => c.messages.map((m) => m.requestId).filter(Boolean));
    })()`) as string[]);
    const paid = web.gateway.store.listReceipts(10_000).filter((r) => requestIds.has(r.receipt.requestId)).reduce((sum, r) => sum + r.receipt.cost, 0n);
    expect(requestIds.size).toBe(2);
    expect(paid).toBeGreaterThan(0n);
    expect(costs.reduce((a, b) => a + b, 0n)).toBe(paid);
    expect(await page.getByTestId("conversation-cost").innerText()).toBe(`This conversation: ${tokens(paid)}`);

    // The balance is the gateway account's token balance on-chain, to the last base unit.
    const onChain = await web.balanceOf(gatewayAccount);
    await expect.poll(async () => baseUnitsOf(await page.getByTestId("wallet-balance").innerText()), { timeout: 10_000 }).toBe(onChain);
    expect(await page.getByTestId("wallet-balance").innerText()).toBe(tokens(onChain));
    await screenshot(page, "chat-features-desktop");
    await context.close();
  });

  it("edits a question and regenerates an answer: earlier versions stay with their costs, which add up to what was paid, and are never sent again", async () => {
    const { context, page } = await open();
    await page.getByLabel("Longest answer (tokens)").fill("16");
    await ask(page, "Once upon a time");
    await answered(page, 1);
    await ask(page, "There was a cat");
    await answered(page, 2);
    /** The answers' texts as the page keeps them in its history (exact, where innerText would reflow the Markdown). */
    const answers = async () => (await storedMessages(page)).filter((m) => m.role === "assistant").map((m) => m.content);
    const lastSent = async () => (await sealedBodies(page)).at(-1)!.messages;
    const [firstAnswer] = await answers();

    // Regenerate the last answer: a new answer below, the old one kept (it was paid) and not sent again.
    expect(await page.getByRole("button", { name: "Regenerate this answer" }).count()).toBe(1);
    await page.getByRole("button", { name: "Regenerate this answer" }).click();
    await answered(page, 3);
    expect(await lastSent()).toEqual([
      { role: "user", content: "Once upon a time" },
      { role: "assistant", content: firstAnswer },
      { role: "user", content: "There was a cat" },
    ]);
    expect(await page.locator(".message-user").count()).toBe(2);
    expect(await page.getByTestId("message-regenerated").count()).toBe(1);

    // Edit the first question, with a half-typed draft in the message box: the edit goes (the
    // draft stays), alone, and what it replaced stays on the page, marked, with its costs.
    await page.getByLabel("Message", { exact: true }).fill("a draft that must not be sent");
    await page.getByRole("button", { name: "Edit this message" }).first().click();
    const editor = page.getByLabel("Edit your message");
    await expect.poll(() => page.evaluate("document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.labels?.[0]?.textContent")).toBe("Edit your message");
    expect(await editor.inputValue()).toBe("Once upon a time");
    await screenshot(page, "chat-edit-open-desktop");
    expect(await axe(page)).toEqual([]);
    await editor.fill("Once upon a time, a dog");
    await editor.press("Enter");
    await answered(page, 4);
    expect(await lastSent()).toEqual([{ role: "user", content: "Once upon a time, a dog" }]);
    expect(await page.getByLabel("Message", { exact: true }).inputValue()).toBe("a draft that must not be sent");
    expect(await page.locator(".message[data-replaced=true]").count()).toBe(5);
    expect(await page.getByTestId("message-replaced").count()).toBe(5);
    // The next turn carries the edited question and its answer, nothing of what was replaced.
    await page.getByLabel("Message", { exact: true }).fill("");
    await ask(page, "What did the dog do?");
    await answered(page, 5);
    const lastAnswers = await answers();
    expect(await lastSent()).toEqual([
      { role: "user", content: "Once upon a time, a dog" },
      { role: "assistant", content: lastAnswers.at(-2) },
      { role: "user", content: "What did the dog do?" },
    ]);

    // Cancelling an edit (Escape, or the button) changes nothing and sends nothing.
    const sent = (await sealedBodies(page)).length;
    await page.getByRole("button", { name: "Edit this message" }).last().click();
    await editor.fill("something else");
    await editor.press("Escape");
    await editor.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Edit this message" }).last().click();
    await page.getByRole("button", { name: "Cancel" }).click();
    await editor.waitFor({ state: "detached" });
    expect(await page.locator(".message-user .message-text").last().innerText()).toBe("What did the dog do?");
    expect((await sealedBodies(page)).length).toBe(sent);

    // Every answer shows its cost, and they add up to what the gateway paid for this conversation.
    const requestIds = new Set(await page.evaluate(`(async () => {
      const db = await new Promise((ok, no) => { const r = indexedDB.open("gotong-chat"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      const all = await new Promise((ok) => { const r = db.transaction("conversations").objectStore("conversations").getAll(); r.onsuccess = () => ok(r.result); });
      return all.flatMap((c) => c.messages.map((m) => m.requestId).filter(Boolean));
    })()`) as string[]);
    expect(requestIds.size).toBe(5);
    const paid = web.gateway.store.listReceipts(10_000).filter((r) => requestIds.has(r.receipt.requestId)).reduce((sum, r) => sum + r.receipt.cost, 0n);
    const costs = (await page.getByTestId("message-cost").allInnerTexts()).map(baseUnitsOf);
    expect(costs).toHaveLength(5);
    expect(costs.reduce((a, b) => a + b, 0n)).toBe(paid);
    expect(await page.getByTestId("conversation-cost").innerText()).toBe(`This conversation: ${tokens(paid)}`);

    // A reload keeps what was replaced, marked.
    await page.reload();
    await offersLoaded(page);
    await page.locator(".message").nth(8).waitFor(); // 9 messages: 5 replaced, the edit and its answer, one more turn
    expect(await page.locator(".message[data-replaced=true]").count()).toBe(5);
    await page.getByRole("log").evaluate((el) => (el.scrollTop = 0));
    await screenshot(page, "chat-edited-desktop");
    expect(await axe(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();

    // On a phone, in dark mode: the editor fits, Send stays on screen, axe is clean.
    const phone = await open({ width: 360, height: 740, dark: true });
    await phone.page.getByLabel("Longest answer (tokens)").fill("16");
    await ask(phone.page, "Once upon a time");
    await answered(phone.page, 1);
    await phone.page.getByRole("button", { name: "Edit this message" }).click();
    await phone.page.getByLabel("Edit your message").fill("Once upon a time, on a phone");
    expect(await phone.page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(360);
    await screenshot(phone.page, "chat-edit-open-phone-dark");
    expect(await axe(phone.page)).toEqual([]);
    await phone.page.getByRole("button", { name: "Send edit" }).click();
    await answered(phone.page, 2);
    const send = (await phone.page.getByRole("button", { name: "Send" }).boundingBox())!;
    expect(send.y + send.height).toBeLessThanOrEqual(740);
    // What the conversation cost and what the paying account holds are on screen, not clipped by
    // the scrolling controls: the point at the middle of each is that element itself.
    for (const id of ["conversation-cost", "wallet-balance"]) {
      const shown = phone.page.getByTestId(id);
      await shown.waitFor();
      const box = (await shown.boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(740);
      expect(box.x + box.width).toBeLessThanOrEqual(360);
      const topmost = await phone.page.evaluate(`document.elementFromPoint(${box.x + box.width / 2}, ${box.y + box.height / 2})?.closest("[data-testid]")?.getAttribute("data-testid")`);
      expect(topmost).toBe(id);
    }
    await phone.page.screenshot({ path: (await screenshot(phone.page, "chat-edited-phone-dark")).replace(".png", "-viewport.png") });
    expect(await axe(phone.page)).toEqual([]);
    await phone.context.close();
  });

  it("never sends an interrupted answer as context: neither one stopped nor one cut by a reload, only the questions' complete turns", async () => {
    const { context, page } = await open();
    const field = page.getByLabel("Longest answer (tokens)");
    const lastSent = async () => (await sealedBodies(page)).at(-1)!.messages;
    const streamed = () => page.waitForFunction(`(() => { const t = document.querySelector(".message-assistant:last-child .message-text")?.textContent ?? ""; return t.length > 0 && t !== "…"; })()`, undefined, { timeout: 90_000 });
    const settled = () => page.locator('.message-assistant[data-status="streaming"]').waitFor({ state: "detached", timeout: 90_000 });
    // The n-th answer's receipt: a stopped answer's own receipt can arrive later, so a count of receipts would not tell.
    const answeredAt = (n: number) => page.locator(".message-assistant").nth(n - 1).getByTestId("message-receipt").waitFor({ timeout: 90_000 });
    const assistants = async () => (await storedMessages(page)).filter((m) => m.role === "assistant") as { content: string; status?: string }[];
    await field.fill("16");
    await ask(page, "Once upon a time");
    await answeredAt(1);
    const [complete] = await assistants();

    // Stopped after some text.
    await field.fill("400");
    web.gatewayTap.slowDown(150);
    try {
      await ask(page, "Tell a long story");
      await streamed();
      await page.getByRole("button", { name: "Stop" }).click();
      await settled();
    } finally {
      web.gatewayTap.slowDown(undefined);
    }
    const stopped = (await assistants()).at(-1)!;
    expect(stopped.status).toBe("incomplete");
    expect(stopped.content.length).toBeGreaterThan(0);
    await field.fill("16");
    await ask(page, "And then?");
    await answeredAt(3);
    expect(await lastSent()).toEqual([
      { role: "user", content: "Once upon a time" },
      { role: "assistant", content: complete!.content },
      { role: "user", content: "And then?" },
    ]);

    // Cut by a reload once some of the answer was saved: marked interrupted after the reload.
    await field.fill("400");
    web.gatewayTap.slowDown(150);
    try {
      await ask(page, "Another long story");
      await streamed();
      await page.waitForFunction(`(async () => {
        const db = await new Promise((ok, no) => { const r = indexedDB.open("gotong-chat"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
        const all = await new Promise((ok) => { const r = db.transaction("conversations").objectStore("conversations").getAll(); r.onsuccess = () => ok(r.result); });
        db.close();
        const m = all.sort((a, b) => b.updatedAt - a.updatedAt)[0]?.messages.at(-1);
        return m?.role === "assistant" && m.content.length > 0;
      })()`, undefined, { timeout: 30_000, polling: 100 });
      await page.reload();
      await offersLoaded(page);
    } finally {
      web.gatewayTap.slowDown(undefined);
    }
    await expect.poll(async () => (await assistants()).at(-1)?.status, { timeout: 30_000 }).toBe("incomplete");
    const cut = (await assistants()).at(-1)!;
    expect(cut.content.length).toBeGreaterThan(0);
    const secondComplete = (await assistants()).at(-2)!;
    await field.fill("16");
    await ask(page, "What happened last?");
    await answeredAt(5);
    const sent = await lastSent();
    expect(sent).toEqual([
      { role: "user", content: "Once upon a time" },
      { role: "assistant", content: complete!.content },
      { role: "user", content: "And then?" },
      { role: "assistant", content: secondComplete.content },
      { role: "user", content: "What happened last?" },
    ]);
    // Neither partial answer went as a message of the request.
    for (const partial of [stopped.content, cut.content]) expect(sent.map((m) => m.content)).not.toContain(partial);
    await context.close();
  });

  it("Esc stops the answer from anywhere on the page, not only from the message box", async () => {
    const { context, page } = await open();
    await page.getByLabel("Longest answer (tokens)").fill("400");
    web.gatewayTap.slowDown(150);
    try {
      await ask(page, "Once upon a time");
      await page.waitForFunction(`(() => { const t = document.querySelector(".message-assistant:last-child .message-text")?.textContent ?? ""; return t.length > 0 && t !== "…"; })()`, undefined, { timeout: 90_000 });
      // Focus elsewhere: on the conversation log, as after scrolling it.
      await page.getByRole("log", { name: "Conversation" }).focus();
      await page.keyboard.press("Escape");
      await page.locator('.message-assistant[data-status="streaming"]').waitFor({ state: "detached", timeout: 30_000 });
    } finally {
      web.gatewayTap.slowDown(undefined);
    }
    const answer = page.locator(".message-assistant").last();
    expect(await answer.getAttribute("data-status")).toBe("incomplete");
    expect(await answer.getByTestId("message-problem").innerText()).toMatch(/^Stopped\./);
    expect(await page.getByRole("button", { name: "Send" }).count()).toBe(1);
    await context.close();
  });

  it("opens a new chat with Ctrl+Shift+O from anywhere on the page, and the message box grows with its text up to a limit", async () => {
    const { context, page } = await open({ width: 1280, height: 800 });
    await page.getByLabel("Longest answer (tokens)").fill("16");
    await ask(page, "Once upon a time");
    await answered(page, 1);
    await page.getByRole("log", { name: "Conversation" }).focus();
    await page.keyboard.press("Control+Shift+O");
    await page.locator(".message-list .empty").waitFor();
    expect(await page.locator(".conversation[aria-current=true]").count()).toBe(0);
    await expect.poll(() => page.evaluate("document.activeElement?.id"), { timeout: 10_000 }).toBe("prompt");
    await page.keyboard.press("Meta+Shift+O"); // the Mac form does the same, and nothing breaks when already new
    await page.locator(".message-list .empty").waitFor();

    const box = page.getByLabel("Message", { exact: true });
    const height = async () => (await box.boundingBox())!.height;
    await box.fill("one line");
    const one = await height();
    await box.fill(Array.from({ length: 5 }, (_, i) => `line ${i + 1}`).join("\n"));
    const five = await height();
    expect(five).toBeGreaterThan(one + 40);
    // No scrollbar while it fits: the whole text shows.
    expect(await box.evaluate((el) => (el as unknown as { scrollHeight: number; clientHeight: number }).scrollHeight - (el as unknown as { clientHeight: number }).clientHeight)).toBeLessThanOrEqual(1);
    await box.fill(Array.from({ length: 200 }, (_, i) => `line ${i + 1}`).join("\n"));
    const most = await height();
    expect(most).toBeLessThanOrEqual(800 * 0.35 + 1);
    expect(most).toBeGreaterThan(five);
    // Beyond the limit it scrolls inside, and Send stays on screen.
    expect(await box.evaluate((el) => (el as unknown as { scrollHeight: number; clientHeight: number }).scrollHeight > (el as unknown as { clientHeight: number }).clientHeight)).toBe(true);
    const send = (await page.getByRole("button", { name: "Send" }).boundingBox())!;
    expect(send.y + send.height).toBeLessThanOrEqual(800);
    await box.fill("");
    expect(await height()).toBeLessThanOrEqual(one + 1);
    await context.close();
  });

  it("says offers, context and capabilities in the picker with thousand separators, and stays clean under axe on desktop and phone, light and dark", async () => {
    const models = (await (await fetch(`${web.gateway.url}/v1/models`)).json()) as {
      data: { id: string; context_length: number | null; gotong?: { capabilities: string[]; pricePerMillionInput: string; pricePerMillionOutput: string } }[];
    };
    const listed = models.data.find((m) => m.id === web.model.name)!;
    const context = listed.context_length!.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    expect(listed.context_length).toBeGreaterThanOrEqual(1000);
    const capabilities = listed.gotong!.capabilities.join(", ");
    expect(capabilities).toContain("chat");
    const price = `From ${tokens(BigInt(listed.gotong!.pricePerMillionInput))} in / ${tokens(BigInt(listed.gotong!.pricePerMillionOutput))} out per 1M tokens`;

    for (const view of [
      { name: "desktop", width: 1280, height: 800, dark: false },
      { name: "phone", width: 360, height: 740, dark: false },
      { name: "phone-dark", width: 360, height: 740, dark: true },
    ]) {
      const { context: browserContext, page } = await open(view);
      expect(await page.locator("#model-price").innerText()).toBe(`${price} · ${context}-token context · ${capabilities}`);
      expect(await page.locator(`#model option[value="${web.model.name}"]`).innerText()).toBe(`${web.model.name} (${context}-token context · ${capabilities} · 1 provider live)`);
      await screenshot(page, `chat-features-${view.name}-start`);
      await settingsPanel(page);
      await screenshot(page, `chat-features-${view.name}-settings`);
      await page.getByLabel("Longest answer (tokens)").fill("16");
      await ask(page, "Once upon a time");
      await answered(page, 1);
      const receipt = await page.getByTestId("message-receipt").innerText();
      expect(receipt).toMatch(/· [\d,]+ in \/ [\d,]+ out tokens ·/);
      expect(await axe(page)).toEqual([]);
      if (view.name !== "desktop") {
        // On a phone the composer and Send stay on the first screen, settings panel open or not.
        const send = (await page.getByRole("button", { name: "Send" }).boundingBox())!;
        expect(send.y + send.height).toBeLessThanOrEqual(view.height);
        expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(view.width);
      }
      await screenshot(page, `chat-features-${view.name}`);
      await browserContext.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
