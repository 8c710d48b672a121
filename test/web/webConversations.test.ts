import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { waitFor } from "../helpers/waitFor.ts";
import { axe } from "./helpers/axe.ts";
import { browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

// The export file's shape, written out here: the app's history module needs the browser's types
// (IndexedDB), which the Node-side typecheck does not load. The page itself must accept it.
type Conversation = { id: string; title: string; model: string; createdAt: number; updatedAt: number; messages: ({ receipt?: { cost: string } & Record<string, unknown> } & Record<string, unknown>)[] };
const exportHistory = (conversations: Conversation[]) =>
  JSON.stringify({ format: "gotong.chat-history/1", exportedAt: new Date().toISOString(), conversations }, null, 2);

const conversation = (id: string, title: string, question: string, answer: string, updatedAt: number): Conversation => ({
  id,
  title,
  model: "stories260K",
  createdAt: updatedAt - 1_000,
  updatedAt,
  messages: [
    { id: `${id}-q`, role: "user", content: question, createdAt: updatedAt - 1_000, status: "done" },
    {
      id: `${id}-a`,
      role: "assistant",
      content: answer,
      createdAt: updatedAt - 500,
      status: "done",
      model: "stories260K",
      receipt: { receiptId: `0x${"0".repeat(63)}1`, cost: "1234", inputTokens: 10, outputTokens: 4, provider: "0x0000000000000000000000000000000000000001" },
    },
  ],
});
const FILE = exportHistory([
  conversation("aa01", "Bedtime story", "Tell me about a dragon", "Once there was a dragon named Pip.", 1_700_000_300_000),
  conversation("aa02", "Shopping list", "What do I need for pancakes?", "Flour, eggs and milk.", 1_700_000_200_000),
]);

describe.skipIf(skip)("conversations (issue 18): rename, search, import and export, only in this browser", () => {
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

  const titles = async (page: Page) => (await page.locator(".conversation-list .conversation").allInnerTexts()).map((t) => t.trim());
  /** Waits until the list shows exactly `expected`: after a reload the page reads its history (IndexedDB) in the background. */
  const titlesBecome = (page: Page, expected: string[]) =>
    waitFor(async () => JSON.stringify(await titles(page)) === JSON.stringify(expected), {
      what: `the conversation list to read ${JSON.stringify(expected)}`,
      timeoutMs: 15_000,
      intervalMs: 100,
      describe: () => titles(page),
    });
  const importText = (page: Page, name: string, text: string) =>
    page.getByTestId("import-file").setInputFiles({ name, mimeType: "application/json", buffer: Buffer.from(text) });

  it("imports a history file, refuses a bad one whole with a message that says where, and loses nothing", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await page.goto(web.pageUrl);
    await offersLoaded(page);

    await importText(page, "notes.txt", "this is not a history");
    const alert = page.getByRole("alert");
    expect(await alert.innerText()).toContain("This file is not JSON: it is not a Gotong chat history export.");
    expect(await alert.innerText()).toContain("Nothing was imported; your conversations are as they were.");
    expect(await titles(page)).toEqual([]);

    await importText(page, "history.json", FILE);
    await page.getByRole("status").filter({ hasText: "Imported 2 conversations." }).waitFor();
    expect(await titles(page)).toEqual(["Bedtime story", "Shopping list"]);

    // One bad field in a file of three: nothing of it comes in, what is here stays.
    const bad = JSON.parse(exportHistory([conversation("bb01", "New one", "Hi", "Hello", 1_700_000_400_000), conversation("bb02", "Broken", "Hi", "Hello", 1_700_000_500_000)])) as {
      conversations: { messages: { role: string }[] }[];
    };
    bad.conversations[1]!.messages[1]!.role = "system";
    await importText(page, "bad.json", JSON.stringify(bad));
    expect(await page.getByRole("alert").innerText()).toContain('This history file cannot be imported: Conversation 2 ("Broken"), message 2: has role "system" (expected "user" or "assistant").');
    expect(await titles(page)).toEqual(["Bedtime story", "Shopping list"]);

    // Importing the same file again adds nothing twice.
    await importText(page, "history.json", FILE);
    await page.getByRole("status").filter({ hasText: "Imported 0 conversations (2 already here, skipped)." }).waitFor();
    await page.reload();
    await offersLoaded(page);
    await titlesBecome(page, ["Bedtime story", "Shopping list"]);
    // The imported answer shows with its cost, read from the file.
    await page.getByRole("button", { name: "Bedtime story", exact: true }).click();
    expect(await page.getByTestId("message-cost").innerText()).toBe("Cost 0.001234 gUSD");
    // Nothing of the history went to the gateway: no request carries it, none is a POST.
    expect(requests.filter((r) => r.startsWith("POST"))).toEqual([]);
    await screenshot(page, "conversations-imported");
    await context.close();
  });

  it("searches titles and messages, renames in place (Enter saves, Escape cancels), and exports what is kept", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true, acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(web.pageUrl);
    await offersLoaded(page);
    await importText(page, "history.json", FILE);
    await page.getByRole("status").filter({ hasText: "Imported" }).waitFor();

    const search = page.getByLabel("Search conversations");
    await search.fill("DRAGON");
    expect(await titles(page)).toEqual(["Bedtime story"]);
    expect(await page.locator("#conversation-search-count").innerText()).toBe("1 of 2 match.");
    await search.fill("eggs");
    expect(await titles(page)).toEqual(["Shopping list"]);
    await search.fill("unicorn");
    expect(await titles(page)).toEqual([]);
    expect(await page.locator("#conversation-search-count").innerText()).toBe("No conversation matches.");
    await search.fill("");
    expect(await titles(page)).toEqual(["Bedtime story", "Shopping list"]);

    await page.getByRole("button", { name: 'Rename conversation "Shopping list"' }).click();
    const input = page.getByLabel("New title");
    await input.fill("Ignored");
    await input.press("Escape");
    expect(await titles(page)).toEqual(["Bedtime story", "Shopping list"]);
    await page.getByRole("button", { name: 'Rename conversation "Shopping list"' }).click();
    await page.getByLabel("New title").fill("Pancakes");
    await page.getByLabel("New title").press("Enter");
    expect(await titles(page)).toEqual(["Bedtime story", "Pancakes"]);
    await page.reload();
    await offersLoaded(page);
    await titlesBecome(page, ["Bedtime story", "Pancakes"]);

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export history" }).click();
    const file = JSON.parse(readFileSync((await (await download).path())!, "utf8")) as { format: string; conversations: Conversation[] };
    expect(file.format).toBe("gotong.chat-history/1");
    expect(file.conversations.map((c) => c.title)).toEqual(["Bedtime story", "Pancakes"]);
    expect(file.conversations[1]!.messages[1]!.receipt!.cost).toBe("1234");

    for (const mode of [{ name: "desktop" }, { name: "phone", width: 390, height: 844 }, { name: "dark", dark: true }]) {
      const c2 = await browser.newContext({ viewport: { width: mode.width ?? 1280, height: mode.height ?? 800 }, colorScheme: mode.dark ? "dark" : "light", bypassCSP: true });
      const p2 = await c2.newPage();
      await p2.goto(web.pageUrl);
      await offersLoaded(p2);
      await importText(p2, "history.json", FILE);
      await p2.getByRole("status").filter({ hasText: "Imported" }).waitFor();
      await p2.getByLabel("Search conversations").fill("story");
      await p2.getByRole("button", { name: 'Rename conversation "Bedtime story"' }).click();
      await screenshot(p2, `conversations-${mode.name}`);
      expect(await axe(p2)).toEqual([]);
      await c2.close();
    }
    await context.close();
  });
});
