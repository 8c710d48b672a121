import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { formatDuration, formatExact } from "../../src/web/app/lib/format.ts";
import { encodeCall } from "../../src/web/app/wallet/encodeCall.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { ask, attributeBecomes, browserSkipReason, launchBrowser, offersLoaded, screenshot } from "./helpers/browser.ts";
import { injectKeyWallet } from "./helpers/injectKeyWallet.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

const skip = browserSkipReason();

/** gUSD as the page writes an amount: 6 decimals at most, trailing zeros dropped, thousands separated. */
function gusd(value: bigint): string {
  const whole = (value / 1_000_000n).toLocaleString("en-US");
  const fraction = (value % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} gUSD`;
}

/** The exact amount a confirmation or notice states: "1.5 gUSD (1500000 base units)" → 1500000n, checking both agree. */
function statedAmount(text: string): bigint {
  const m = /([\d,]+(?:\.\d+)?) gUSD \((\d+) base units\)/.exec(text);
  if (!m) throw new Error(`no exact amount in ${JSON.stringify(text)}`);
  const base = BigInt(m[2]!);
  expect(`${m[1]} gUSD`).toBe(gusd(base));
  return base;
}

/** Waits until a cell's text is `text` (the page refreshes its table after a transaction). */
function textBecomes(locator: Locator, text: string): Promise<unknown> {
  return waitFor(async () => (await locator.innerText({ timeout: 1_000 })).trim() === text, {
    what: `${locator} to read ${JSON.stringify(text)}`,
    intervalMs: 100,
    describe: () => locator.innerText({ timeout: 1_000 }).catch((e: Error) => e.message),
  });
}

describe.skipIf(skip)("withdrawing from the web app's explorer, in headless Chromium", () => {
  let web: WebNetwork;
  let browser: Browser;

  const pc = () => ({ address: web.deployment.paymentChannels, abi: PaymentChannelsArtifact.abi }) as const;
  const royaltiesOnChain = () => web.client.readContract({ ...pc(), functionName: "modelEarnings", args: [web.model.modelId] });

  /** Every token Transfer a mined transaction made. */
  async function transfersOf(hash: Hex) {
    const receipt = await web.client.getTransactionReceipt({ hash });
    const logs = receipt.logs.filter((log) => log.address.toLowerCase() === web.deployment.token.address.toLowerCase());
    return parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs }).map((log) => ({ from: log.args.from, to: log.args.to, value: log.args.value }));
  }

  async function chat(page: Page, text: string) {
    await page.goto(`${web.pageUrl}#/chat`);
    await offersLoaded(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await ask(page, text);
    await page.locator(".message-assistant").last().locator("[data-testid=message-receipt]").waitFor({ timeout: 90_000 });
  }

  beforeAll(async () => {
    web = await startWebNetwork();
    browser = await launchBrowser();
    // Paid requests, redeemed: the model has royalties and the provider earnings to withdraw.
    const page = await browser.newPage();
    await chat(page, "Once upon a time");
    await chat(page, "The little dog");
    await page.close();
    await web.gateway.settle();
    await web.provider.redeemer.redeemNow();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it("the owner's confirmation can be cancelled (button or Escape): nothing is sent, the royalties stay", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const wallet = await injectKeyWallet(context, web.net.creator);
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/explorer`);
    const row = page.locator(`tr[data-model="${web.model.modelId}"]`);
    const royalties = await royaltiesOnChain();
    expect(royalties).toBeGreaterThan(0n);
    await textBecomes(row.getByTestId("model-to-withdraw"), gusd(royalties));
    // Before a wallet is connected the page does not know who withdraws; the owner connects theirs.
    expect(await row.innerText()).toContain("connect the owner's wallet to withdraw");
    await page.getByTestId("wallet").click();
    const button = row.getByRole("button", { name: /^Withdraw the royalties/ });
    await button.waitFor();
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain("(you)");

    await button.click();
    const dialog = page.getByRole("dialog", { name: "Withdraw royalties?" });
    await dialog.waitFor();
    expect(statedAmount(await dialog.getByTestId("confirm-amount").innerText())).toBe(royalties);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("status").filter({ hasText: "Cancelled: nothing was sent." }).waitFor();

    await button.click();
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });

    expect(wallet.sent).toEqual([]);
    expect(wallet.requests).not.toContain("eth_sendTransaction");
    expect(await royaltiesOnChain()).toBe(royalties);
    expect(await row.getByTestId("model-to-withdraw").innerText()).toBe(gusd(royalties));
    await context.close();
  });

  it("the model's owner withdraws its royalties: the confirmation, the notice and the ERC-20 Transfer agree to the base unit, and the row shows 0 to withdraw", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const wallet = await injectKeyWallet(context, web.net.creator);
    const owner = wallet.address;
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/explorer`);
    await page.getByTestId("wallet").click();
    const row = page.locator(`tr[data-model="${web.model.modelId}"]`);
    const royalties = await royaltiesOnChain();
    const balanceBefore = await web.balanceOf(owner);

    await row.getByRole("button", { name: /^Withdraw the royalties/ }).click();
    const dialog = page.getByRole("dialog", { name: "Withdraw royalties?" });
    await dialog.waitFor();
    const confirmed = statedAmount(await dialog.getByTestId("confirm-amount").innerText());
    expect(await dialog.innerText()).toContain(owner);
    await screenshot(page, "withdraw-royalties-confirm");
    await dialog.getByRole("button", { name: `Withdraw ${gusd(confirmed)}` }).click();
    const notice = page.getByRole("status").filter({ hasText: "Withdrew" });
    await notice.waitFor({ timeout: 30_000 });
    const noticed = statedAmount(await notice.innerText());

    expect(wallet.sent).toHaveLength(1);
    const transfers = await transfersOf(wallet.sent[0]!.hash);
    expect(transfers).toEqual([{ from: getAddress(web.deployment.paymentChannels), to: owner, value: royalties }]);
    expect(confirmed).toBe(royalties);
    expect(noticed).toBe(royalties);
    expect(await web.balanceOf(owner)).toBe(balanceBefore + royalties);
    expect(await royaltiesOnChain()).toBe(0n);

    await textBecomes(row.getByTestId("model-to-withdraw"), "0 gUSD");
    expect(await row.getByRole("button", { name: /^Withdraw/ }).count()).toBe(0);
    expect(await row.innerText()).toContain(`${gusd(royalties)} withdrawn`);
    await screenshot(page, "withdraw-royalties-done");
    await context.close();
  });

  it("the provider's key withdraws its earnings, exactly what the contract held", async () => {
    const provider = createClients({ rpcUrl: web.deployment.rpcUrl, chainId: web.deployment.chainId, account: privateKeyToAccount(web.provider.key) });
    const address = provider.account.address;
    const held = await web.client.readContract({ ...pc(), functionName: "earnings", args: [address] });
    expect(held).toBeGreaterThan(0n);
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const wallet = await injectKeyWallet(context, provider);
    const page = await context.newPage();
    await page.goto(`${web.pageUrl}#/explorer`);
    await page.getByTestId("wallet").click();
    const row = page.locator(`tr[data-provider="${address}"]`);
    await textBecomes(row.getByTestId("provider-to-withdraw"), gusd(held));
    await row.getByRole("button", { name: /^Withdraw the earnings/ }).click();
    const dialog = page.getByRole("dialog", { name: "Withdraw provider earnings?" });
    const confirmed = statedAmount(await dialog.getByTestId("confirm-amount").innerText());
    await dialog.getByRole("button", { name: /^Withdraw / }).click();
    const notice = page.getByRole("status").filter({ hasText: "Withdrew" });
    await notice.waitFor({ timeout: 30_000 });

    expect(wallet.sent).toHaveLength(1);
    expect(await transfersOf(wallet.sent[0]!.hash)).toEqual([{ from: getAddress(web.deployment.paymentChannels), to: address, value: held }]);
    expect(confirmed).toBe(held);
    expect(statedAmount(await notice.innerText())).toBe(held);
    await textBecomes(row.getByTestId("provider-to-withdraw"), "0 gUSD");
    await context.close();
  });

  it("closing asks first and says what it means for chat; a withdrawn channel keeps its history, also after chat opens a new one", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const [channel] = web.gateway.store.listChannels();
    const channelId = channel!.channelId as Hex;
    await page.goto(`${web.pageUrl}#/explorer`);
    const row = page.locator(`tr[data-channel="${channelId}"][data-epoch="${channel!.epoch}"]`);
    await attributeBecomes(row, "data-state", "open");

    // Escape: nothing sent, still open.
    await row.getByRole("button", { name: /^Close the channel/ }).click();
    const closeDialog = page.getByRole("dialog", { name: "Close this channel?" });
    await closeDialog.waitFor();
    const said = await closeDialog.innerText();
    expect(said).toContain("challenge period of");
    expect(said).toContain("your next message to");
    expect(said).toContain("opens a new channel");
    await page.keyboard.press("Escape");
    await page.getByRole("status").filter({ hasText: "Cancelled: nothing was sent." }).waitFor();
    expect((await web.client.readContract({ ...pc(), functionName: "getChannel", args: [channelId] })).closesAt).toBe(0n);
    expect(await row.getAttribute("data-state")).toBe("open");

    await row.getByRole("button", { name: /^Close the channel/ }).click();
    await closeDialog.getByRole("button", { name: "Close channel" }).click();
    await page.getByRole("status").filter({ hasText: "Closing started" }).waitFor({ timeout: 30_000 });
    await attributeBecomes(row, "data-state", "closing");
    await web.provider.redeemer.redeemNow();
    await web.advanceTime(web.deployment.challengePeriod + 1);
    await page.getByRole("button", { name: "Refresh" }).click();
    await attributeBecomes(row, "data-state", "withdrawable");
    const onChain = await web.client.readContract({ ...pc(), functionName: "getChannel", args: [channelId] });
    const rest = onChain.deposit - onChain.redeemed;
    expect(rest).toBeGreaterThan(0n);

    const account = web.gateway.address as Address;
    const balanceBefore = await web.balanceOf(account);
    await row.getByRole("button", { name: /^Withdraw the unspent deposit/ }).click();
    const dialog = page.getByRole("dialog", { name: "Withdraw the rest of this channel?" });
    expect(statedAmount(await dialog.getByTestId("confirm-amount").innerText())).toBe(rest);
    await dialog.getByRole("button", { name: `Withdraw ${gusd(rest)}` }).click();
    const notice = page.getByRole("status").filter({ hasText: "Withdrawn" });
    await notice.waitFor({ timeout: 30_000 });
    expect(statedAmount(await notice.innerText())).toBe(rest);
    expect(await web.balanceOf(account)).toBe(balanceBefore + rest);

    // The row stays, with what was deposited, spent and returned.
    await attributeBecomes(row, "data-state", "withdrawn");
    const history = async () => ({
      deposit: await row.getByTestId("channel-deposit").innerText(),
      spent: await row.getByTestId("channel-spent").innerText(),
      returned: await row.getByTestId("channel-unspent").innerText(),
    });
    const expected = { deposit: gusd(onChain.deposit), spent: gusd(onChain.redeemed), returned: `${gusd(rest)} returned` };
    expect(await history()).toEqual(expected);
    await screenshot(page, "withdraw-channel-history");

    // Chat opens the channel's next epoch: a new row; the withdrawn one is unchanged.
    await chat(page, "After the close");
    const next = web.gateway.store.getChannel(channelId)!;
    expect(next.epoch).toBe(channel!.epoch + 1n);
    await page.goto(`${web.pageUrl}#/explorer`);
    await attributeBecomes(page.locator(`tr[data-channel="${channelId}"][data-epoch="${next.epoch}"]`), "data-state", "open");
    await attributeBecomes(row, "data-state", "withdrawn");
    expect(await history()).toEqual(expected);
    await context.close();
  });

  it("the local wallet withdraws only to its own account, and the withdrawable route reads the chain and refuses bad input", async () => {
    const send = async (data: Hex) => {
      const res = await fetch(`${web.gateway.url}/gotong/web/wallet`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-gotong-web": "1" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendTransaction", params: [{ to: web.deployment.paymentChannels, data }] }),
      });
      return ((await res.json()) as { error?: { code: number; message: string } }).error;
    };
    const thief = "0x000000000000000000000000000000000000bEEF";
    const self = web.gateway.address as Address;
    const royaltiesToThief = await send(encodeCall("withdrawModelEarnings(uint256,address)", [{ type: "uint256", value: web.model.modelId }, { type: "address", value: thief }]));
    expect(royaltiesToThief).toMatchObject({ code: 4200, message: expect.stringContaining("withdraws only to its own account") });
    expect((await send(encodeCall("withdrawEarnings(address)", [{ type: "address", value: thief }])))?.code).toBe(4200);
    // To itself it may, and the contract's own refusal is named before anything is sent (the local key owns no model here).
    const notOwner = await send(encodeCall("withdrawModelEarnings(uint256,address)", [{ type: "uint256", value: web.model.modelId }, { type: "address", value: self }]));
    expect(notOwner).toMatchObject({ code: 3, message: expect.stringContaining("NotModelOwner") });
    expect(await web.balanceOf(thief)).toBe(0n);

    const get = (query: string) => fetch(`${web.gateway.url}/gotong/web/withdrawable?${query}`);
    const royalties = (await (await get(`model=${web.model.modelId}`)).json()) as { owner: string; amount: string };
    expect(royalties).toMatchObject({ owner: web.net.creator.account.address, amount: String(await royaltiesOnChain()) });
    expect((await get("model=0")).status).toBe(400);
    expect((await get("model=999")).status).toBe(404);
    expect((await get("earnings=nope")).status).toBe(400);
    expect((await get("channel=0x12")).status).toBe(400);
    expect((await get("")).status).toBe(400);

    expect(formatExact(1_234_567n, { decimals: 6, symbol: "gUSD" })).toBe("1.234567 gUSD (1234567 base units)");
    expect(formatExact(5n, { decimals: 18, symbol: "ETH" })).toBe("0.000000000000000005 ETH (5 base units)");
    expect([formatDuration(86_400), formatDuration(5_400), formatDuration(90), formatDuration(0)]).toEqual(["1 day", "1 hour 30 minutes", "1 minute 30 seconds", "0 seconds"]);
  });
});
