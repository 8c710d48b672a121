import { h } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { getJson, PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatDuration, formatExact, formatTime, shortHex } from "../lib/format.ts";
import { DataTable, Notice, Pending, Section } from "../lib/ui.ts";
import { encodeCall } from "../wallet/encodeCall.ts";
import type { Channel } from "./types.ts";
import { useConfirmedAction } from "./useConfirmedAction.ts";
import { amountTransferred, differenceNote, readWithdrawable } from "./withdrawals.ts";

/** What a channel's state column says. */
function stateText(c: Channel): string {
  if (c.state === "closing") return `closing until ${formatTime(c.closesAt)}`;
  if (c.state === "withdrawn") return c.withdrawnAt ? `withdrawn ${formatTime(c.withdrawnAt)}` : "withdrawn";
  return c.state;
}

/**
 * The account's payment channels, one row per epoch: close one (the provider keeps a challenge
 * period to redeem), withdraw the rest after it, each after a confirmation; a withdrawn channel
 * stays listed with what was deposited, spent and returned.
 */
export function ChannelsSection() {
  const { config, wallet, connect } = useContext(AppContext);
  const token = config.token;
  const exact = (v: bigint) => formatExact(v, token);
  const [channels, setChannels] = useState<Channel[]>();
  const [balance, setBalance] = useState<string>();
  const [loadError, setLoadError] = useState<unknown>();
  const account = wallet?.address ?? config.localWallet?.address ?? config.gatewayAccount;

  const load = async () => {
    try {
      const [list, acct] = await Promise.all([
        getJson<{ data: Channel[] }>(`/gotong/web/channels?account=${account}`),
        getJson<{ balance: string }>(`/gotong/web/account?address=${account}`),
      ]);
      setChannels(list.data);
      setBalance(acct.balance);
      setLoadError(undefined);
    } catch (e) {
      setLoadError(e);
    }
  };
  useEffect(() => void load(), [account]);
  const action = useConfirmedAction(load);

  const close = (c: Channel) =>
    action.start(`close:${c.channelId}`, async () => {
      const w = wallet ?? (await connect());
      return {
        title: "Close this channel?",
        confirmLabel: "Close channel",
        body: [
          h(
            "p",
            null,
            `Closing starts a challenge period of ${formatDuration(config.challengePeriod)}: the provider ${shortHex(c.provider)} can still redeem the vouchers you signed (${formatAmount(c.spent, token)} spent so far). ` +
              `After it, Withdraw returns the rest of the ${formatAmount(c.deposit, token)} deposit to ${shortHex(w.address)}.`,
          ),
          h("p", null, `For chat: this channel takes no more payments. Chat keeps working: your next message to ${c.model} opens a new channel, with a new deposit.`),
        ],
        async run() {
          await w.send({ to: config.contracts.paymentChannels, data: encodeCall("startClose(bytes32)", [{ type: "bytes32", value: c.channelId }]), what: "closing the channel" });
          return `Closing started. The provider has ${formatDuration(config.challengePeriod)} (the challenge period) to redeem what you owe; then withdraw the rest. Your next chat message opens a new channel.`;
        },
      };
    });

  const withdraw = (c: Channel) =>
    action.start(`withdraw:${c.channelId}`, async () => {
      const w = wallet ?? (await connect());
      const now = await readWithdrawable({ channel: c.channelId });
      if (now.kind !== "channel") throw new PageError("The gateway answered about something else.", { code: "unexpected_answer" });
      if (!now.withdrawable) throw new PageError("This channel cannot be withdrawn yet.", { code: "challenge_period_active", hint: now.closesAt ? `Its challenge period ends ${formatTime(now.closesAt)}.` : "Close it first." });
      const amount = BigInt(now.amount);
      return {
        title: "Withdraw the rest of this channel?",
        confirmLabel: `Withdraw ${formatAmount(amount, token)}`,
        body: [
          h("p", { "data-testid": "confirm-amount" }, `Withdraw ${exact(amount)} to ${w.address}: the ${formatAmount(now.deposit, token)} deposit minus the ${formatAmount(now.redeemed, token)} the provider redeemed.`),
          h("p", { class: "fine" }, "The challenge period is over, so nothing more can be redeemed. The channel stays listed here with its history."),
        ],
        async run() {
          const hash = await w.send({ to: config.contracts.paymentChannels, data: encodeCall("withdraw(bytes32)", [{ type: "bytes32", value: c.channelId }]), what: "withdrawing the channel" });
          const moved = await amountTransferred(hash, config.contracts.paymentChannels, w.address);
          return `Withdrawn: ${exact(moved)} returned to ${shortHex(w.address)} (transaction ${shortHex(hash)}).${differenceNote(moved, amount, exact)}`;
        },
      };
    });

  return h(
    Section,
    { title: "Your channels", id: "channels", actions: h("button", { type: "button", class: "link", onClick: () => void load() }, "Refresh") },
    h("p", { class: "fine" }, "Account ", h("code", null, shortHex(account)), balance !== undefined ? h("span", { "data-testid": "account-balance" }, ` holds ${formatAmount(balance, token)}`) : null, "."),
    h(Notice, { error: action.error ?? (channels !== undefined ? loadError : undefined), notice: action.notice, onDismiss: () => (action.error ? action.dismiss() : setLoadError(undefined)) }),
    action.dialog,
    channels === undefined
      ? h(Pending, { failed: loadError !== undefined, error: loadError, what: "your channels", retry: () => void load() })
      : channels.length === 0
        ? h("p", { class: "fine" }, "No payment channels yet: the gateway opens one with a provider on your first chat with it.")
        : h(
            DataTable,
            { label: "Your payment channels", columns: ["Provider", "Model", "Deposit", "Spent", "Unspent / returned", "State", ""] },
            channels.map((c) =>
              h(
                "tr",
                { key: `${c.channelId}:${c.epoch}`, "data-channel": c.channelId, "data-epoch": c.epoch, "data-state": c.state },
                h("td", null, h("code", { title: c.provider }, shortHex(c.provider))),
                h("td", null, c.model),
                h("td", { "data-testid": "channel-deposit" }, formatAmount(c.deposit, token)),
                h("td", { "data-testid": "channel-spent" }, formatAmount(c.spent, token)),
                h("td", { "data-testid": "channel-unspent" }, c.state === "withdrawn" && c.refunded !== null ? `${formatAmount(c.refunded, token)} returned` : formatAmount(c.unspent, token)),
                h("td", null, stateText(c)),
                h(
                  "td",
                  null,
                  c.state === "open"
                    ? h("button", { type: "button", class: "button", disabled: action.busy, onClick: () => void close(c), "aria-label": `Close the channel with ${shortHex(c.provider)} for ${c.model}` }, action.sending(`close:${c.channelId}`) ? "Closing…" : "Close")
                    : c.state === "withdrawable"
                      ? h("button", { type: "button", class: "button primary", disabled: action.busy, onClick: () => void withdraw(c), "aria-label": `Withdraw the unspent deposit of the channel with ${shortHex(c.provider)}` }, action.sending(`withdraw:${c.channelId}`) ? "Withdrawing…" : "Withdraw")
                      : null,
                ),
              ),
            ),
          ),
  );
}
