import { h } from "preact";
import { useContext, useState } from "preact/hooks";
import { PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatBps, formatExact, shortHex } from "../lib/format.ts";
import { DataTable, Notice, Pending, Section } from "../lib/ui.ts";
import { encodeCall } from "../wallet/encodeCall.ts";
import { sameAddress, type Model } from "./types.ts";
import { useConfirmedAction } from "./useConfirmedAction.ts";
import { amountTransferred, differenceNote, readWithdrawable } from "./withdrawals.ts";
import { licenceName } from "../lib/licenceName.ts";
import { LineageView, type LineageTarget } from "./LineageView.ts";

/**
 * The registered models, with what each has earned its creator; the owner of a model's token (the
 * connected wallet) withdraws its accrued royalties from here, after confirming the exact amount.
 * A model's Lineage button opens its lineage below the table (LineageView).
 */
export function ModelsSection(props: { failed?: boolean; retry?: () => void; models: Model[] | undefined; viewer: string | undefined; reload: () => Promise<void> }) {
  const { config, wallet, connect } = useContext(AppContext);
  const token = config.token;
  const exact = (v: bigint) => formatExact(v, token);
  const action = useConfirmedAction(props.reload);
  const [lineage, setLineage] = useState<LineageTarget>();
  const closeLineage = () => {
    const was = lineage?.modelId;
    setLineage(undefined);
    // Back to the row it was opened from, so the keyboard does not fall to the top of the page.
    if (was !== undefined) document.querySelector<HTMLButtonElement>(`tr[data-model="${CSS.escape(was)}"] .lineage-toggle`)?.focus();
  };

  const withdraw = (m: Model) =>
    action.start(`royalties:${m.modelId}`, async () => {
      const w = wallet ?? (await connect());
      const now = await readWithdrawable({ model: m.modelId });
      if (now.kind !== "royalties") throw new PageError("The gateway answered about something else.", { code: "unexpected_answer" });
      if (!sameAddress(now.owner, w.address)) {
        throw new PageError(`${shortHex(w.address)} does not own ${m.name} #${m.modelId}.`, { code: "not_model_owner", hint: `Only its owner, ${now.owner}, can withdraw its royalties: connect that wallet.` });
      }
      const amount = BigInt(now.amount);
      if (amount === 0n) throw new PageError(`${m.name} #${m.modelId} has no royalties to withdraw.`, { code: "nothing_to_withdraw", hint: "Royalties arrive when a provider redeems the vouchers of paid requests." });
      return {
        title: "Withdraw royalties?",
        confirmLabel: `Withdraw ${formatAmount(amount, token)}`,
        body: [
          h("p", { "data-testid": "confirm-amount" }, `Withdraw ${exact(amount)}, the royalties ${m.name} #${m.modelId} has accrued, to ${w.address}.`),
          h("p", { class: "fine" }, "This takes everything the model holds when the transaction is mined; the notice afterwards states what arrived."),
        ],
        async run() {
          const what = "withdrawing the royalties";
          const hash = await w.send({ to: config.contracts.paymentChannels, data: encodeCall("withdrawModelEarnings(uint256,address)", [{ type: "uint256", value: BigInt(m.modelId) }, { type: "address", value: w.address }]), what });
          const moved = await amountTransferred(hash, config.contracts.paymentChannels, w.address);
          return `Withdrew ${exact(moved)} of royalties of ${m.name} #${m.modelId} to ${shortHex(w.address)} (transaction ${shortHex(hash)}).${differenceNote(moved, amount, exact)}`;
        },
      };
    });

  return h(
    Section,
    { title: "Models", id: "models" },
    h(Notice, { error: action.error, notice: action.notice, onDismiss: action.dismiss }),
    action.dialog,
    props.models === undefined
      ? h(Pending, { failed: props.failed, what: "the models", retry: props.retry })
      : h(
          DataTable,
          { label: "Models", columns: ["Model", "Owner", "Weights hash", "Licence", "Royalty", "Providers", "Requests here", "Paid on-chain", "Royalties earned", "To withdraw"] },
          props.models.map((m) => {
            const owned = sameAddress(m.owner, props.viewer);
            const toWithdraw = BigInt(m.unwithdrawnRoyalties);
            return h(
              "tr",
              { key: m.modelId, "data-model": m.modelId },
              h(
                "th",
                { scope: "row" },
                `${m.name} #${m.modelId}`,
                " ",
                h(
                  "button",
                  {
                    type: "button",
                    class: "link lineage-toggle",
                    "aria-expanded": lineage?.modelId === m.modelId ? "true" : "false",
                    "aria-controls": lineage ? "lineage" : undefined,
                    "aria-label": `Lineage of ${m.name} #${m.modelId}`,
                    onClick: () => (lineage?.modelId === m.modelId ? closeLineage() : setLineage({ modelId: m.modelId, name: m.name })),
                  },
                  "Lineage",
                ),
              ),
              h("td", null, h("code", { title: m.owner }, shortHex(m.owner)), owned ? " (you)" : ""),
              h("td", null, h("code", { title: m.weightsHash }, shortHex(m.weightsHash, 6))),
              // The licence by name; its exact SPDX expression on hover.
              h("td", { "data-testid": "model-licence" }, m.license === undefined ? "not held here" : h("span", { title: `SPDX: ${m.license}` }, licenceName(m.license))),
              h("td", null, formatBps(m.royaltyBps)),
              h("td", null, String(m.providers)),
              h("td", null, `${m.requests} (${m.inputTokens} in / ${m.outputTokens} out)`),
              h("td", null, formatAmount(m.paid, token)),
              h("td", null, formatAmount(m.royalties, token), m.withdrawnRoyalties !== "0" ? h("div", { class: "fine" }, `${formatAmount(m.withdrawnRoyalties, token)} withdrawn`) : null),
              h(
                "td",
                null,
                h(
                  "div",
                  { class: "withdraw-cell" },
                  h("span", { "data-testid": "model-to-withdraw", title: `${m.unwithdrawnRoyalties} base units` }, formatAmount(toWithdraw, token)),
                  toWithdraw === 0n
                    ? null
                    : owned
                      ? h(
                          "button",
                          { type: "button", class: "button primary", disabled: action.busy, onClick: () => void withdraw(m), "aria-label": `Withdraw the royalties of ${m.name} #${m.modelId}` },
                          action.sending(`royalties:${m.modelId}`) ? "Withdrawing…" : "Withdraw",
                        )
                      : h("span", { class: "fine" }, props.viewer ? "its owner withdraws it" : "connect the owner's wallet to withdraw"),
                ),
              ),
            );
          }),
        ),
    lineage ? h(LineageView, { target: lineage, onOpen: setLineage, onClose: closeLineage }) : null,
  );
}
