import { h } from "preact";
import { useContext } from "preact/hooks";
import { PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatExact, formatOffer, shortHex } from "../lib/format.ts";
import { DataTable, Notice, Pending, Section } from "../lib/ui.ts";
import { encodeCall } from "../wallet/encodeCall.ts";
import { sameAddress, type Provider } from "./types.ts";
import { useConfirmedAction } from "./useConfirmedAction.ts";
import { amountTransferred, differenceNote, readWithdrawable } from "./withdrawals.ts";

/**
 * The registered providers, with what each has earned; a provider's own key (the connected wallet)
 * withdraws the earnings the contract holds for it from here, after confirming the exact amount.
 */
export function ProvidersSection(props: { failed?: boolean; retry?: () => void; providers: Provider[] | undefined; viewer: string | undefined; reload: () => Promise<void> }) {
  const { config, wallet, connect } = useContext(AppContext);
  const token = config.token;
  const exact = (v: bigint) => formatExact(v, token);
  const action = useConfirmedAction(props.reload);

  const withdraw = (p: Provider) =>
    action.start(`earnings:${p.address}`, async () => {
      const w = wallet ?? (await connect());
      if (!sameAddress(w.address, p.address)) {
        throw new PageError(`${shortHex(w.address)} is not the provider ${shortHex(p.address)}.`, { code: "not_provider", hint: `Only the provider's own key, ${p.address}, can withdraw its earnings: connect that wallet.` });
      }
      const now = await readWithdrawable({ earnings: w.address });
      if (now.kind !== "earnings") throw new PageError("The gateway answered about something else.", { code: "unexpected_answer" });
      const amount = BigInt(now.amount);
      if (amount === 0n) throw new PageError("There are no earnings to withdraw.", { code: "nothing_to_withdraw", hint: "Earnings arrive when you redeem the vouchers of requests you served." });
      return {
        title: "Withdraw provider earnings?",
        confirmLabel: `Withdraw ${formatAmount(amount, token)}`,
        body: [
          h("p", { "data-testid": "confirm-amount" }, `Withdraw ${exact(amount)}, the earnings the contract holds for ${w.address}, to that same account.`),
          h("p", { class: "fine" }, "This takes everything held for it when the transaction is mined; the notice afterwards states what arrived."),
        ],
        async run() {
          const hash = await w.send({ to: config.contracts.paymentChannels, data: encodeCall("withdrawEarnings(address)", [{ type: "address", value: w.address }]), what: "withdrawing the earnings" });
          const moved = await amountTransferred(hash, config.contracts.paymentChannels, w.address);
          return `Withdrew ${exact(moved)} of provider earnings to ${shortHex(w.address)} (transaction ${shortHex(hash)}).${differenceNote(moved, amount, exact)}`;
        },
      };
    });

  return h(
    Section,
    { title: "Providers", id: "providers" },
    h(Notice, { error: action.error, notice: action.notice, onDismiss: action.dismiss }),
    action.dialog,
    props.providers === undefined
      ? h(Pending, { failed: props.failed, what: "the providers", retry: props.retry })
      : h(
          DataTable,
          { label: "Providers", columns: ["Provider", "Stake", "Offers (in / out)", "Latency", "Verified on-chain", "Reputation here", "Earned", "To withdraw"] },
          props.providers.map((p) => {
            const mine = sameAddress(p.address, props.viewer);
            const toWithdraw = BigInt(p.unwithdrawnEarnings);
            return h(
              "tr",
              { key: p.address, "data-provider": p.address },
              h("th", { scope: "row" }, h("code", { title: `${p.address} at ${p.endpoint}` }, shortHex(p.address)), p.suspended ? " (suspended for fraud)" : p.active ? "" : " (inactive)", mine ? " (you)" : ""),
              h("td", null, formatAmount(p.stake, token), p.slashed !== "0" ? h("div", { class: "fine", "data-testid": "provider-slashed", title: `${p.slashed} base units` }, `${formatAmount(p.slashed, token)} slashed`) : null),
              h("td", null, p.offers.map((o) => h("div", { key: o.model }, `${o.model}: ${formatOffer(o.pricePerMillionInput, o.pricePerMillionOutput, token)}`))),
              h("td", null, p.latencyMs === undefined ? "no answer" : `${p.latencyMs} ms`),
              h(
                "td",
                { "data-testid": "provider-record" },
                // The record validators keep on-chain: what the router weighs, and why a provider gets no traffic.
                p.suspended ? "suspended: caught serving something else" : `${p.challengesPassed} challenges passed, ${p.challengesFailed} failed`,
              ),
              h("td", null, p.excluded ? "excluded: sent a bad receipt" : `${p.receiptsAccepted} receipts checked, none refused`),
              h("td", null, formatAmount(p.earned, token), p.withdrawnEarnings !== "0" ? h("div", { class: "fine" }, `${formatAmount(p.withdrawnEarnings, token)} withdrawn`) : null),
              h(
                "td",
                null,
                p.payout === "direct"
                  ? h("span", { class: "fine", "data-testid": "provider-to-withdraw" }, "nothing: paid directly at each redeem")
                  : h(
                      "div",
                      { class: "withdraw-cell" },
                      h("span", { "data-testid": "provider-to-withdraw", title: `${p.unwithdrawnEarnings} base units` }, formatAmount(toWithdraw, token)),
                      toWithdraw === 0n
                        ? null
                        : mine
                          ? h(
                              "button",
                              { type: "button", class: "button primary", disabled: action.busy, onClick: () => void withdraw(p), "aria-label": `Withdraw the earnings of provider ${shortHex(p.address)}` },
                              action.sending(`earnings:${p.address}`) ? "Withdrawing…" : "Withdraw",
                            )
                          : h("span", { class: "fine" }, props.viewer ? "the provider's key withdraws it" : "connect the provider's wallet to withdraw"),
                    ),
              ),
            );
          }),
        ),
  );
}
