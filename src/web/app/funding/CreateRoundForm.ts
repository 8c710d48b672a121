import { h } from "preact";
import { useContext, useState } from "preact/hooks";
import { getJson, PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { Notice } from "../lib/ui.ts";
import { createRoundCall } from "./fundingCalls.ts";
import { useWalletAction } from "./useWalletAction.ts";

/** The longest donation window the form offers, in days. */
const MAX_DAYS = 365;

/**
 * Starts a quadratic-funding round operated by the connected wallet, in the network's token:
 * applications and donations open now (the chain's clock) and close together after the window;
 * no attestation is required of donors (a round with sybil rules is made with `gotong fund round create`).
 */
export function CreateRoundForm(props: { onCreated: () => Promise<{ rounds: { round: { roundId: string; operator: string } }[] } | undefined> }) {
  const { config } = useContext(AppContext);
  const [days, setDays] = useState("14");
  const [cap, setCap] = useState("100");
  const action = useWalletAction();
  const id = "create-round";

  const submit = async (e: Event) => {
    e.preventDefault();
    const d = Number(days.trim());
    const c = Number(cap.trim());
    if (!Number.isInteger(d) || d < 1 || d > MAX_DAYS) return action.setError(new PageError(`Donation window: enter a whole number of days from 1 to ${MAX_DAYS}.`, { code: "invalid_parameter", hint: "Nothing was sent." }));
    if (!Number.isFinite(c) || c <= 0 || c > 100 || Math.round(c * 100) !== c * 100) return action.setError(new PageError("Cap per project: enter a percentage above 0 and at most 100 (two decimals at most).", { code: "invalid_parameter", hint: "Nothing was sent." }));
    const created = await action.run(async (w, say) => {
      const { chainTime } = await getJson<{ chainTime: string }>("/gotong/web/funding");
      say("Creating the round…");
      await w.send({ to: config.contracts.quadraticFunding!, data: createRoundCall({ token: config.token.address, now: BigInt(chainTime), donateForSeconds: BigInt(d) * 86_400n, matchingCapBps: Math.round(c * 100) }), what: "creating the round" });
      // The new round is the newest this wallet operates (read back from the chain, not guessed from a count).
      const after = await props.onCreated();
      const mine = (after?.rounds ?? []).filter((r) => r.round.operator.toLowerCase() === w.address.toLowerCase()).map((r) => BigInt(r.round.roundId));
      return mine.reduce((a, b) => (a > b ? a : b), 0n);
    });
    if (created) action.setNotice(`Created round ${created}: applications and donations are open for ${d} day${d === 1 ? "" : "s"}. Add to its matching pool below.`);
  };

  return h(
    "details",
    { class: "card create-round" },
    h("summary", null, h("h2", { class: "inline-heading" }, "Create a round")),
    h(
      "form",
      { class: "donate", onSubmit: (e: Event) => void submit(e), "aria-label": "Create a round" },
      h("p", { class: "fine" }, `Run by the connected wallet, in ${config.token.symbol}. Anyone can then apply a model, add to the pool and donate; after the window you finalize it and projects claim.`),
      h("div", { class: "field field-small" }, h("label", { for: `${id}-days` }, "Donation window (days)"), h("input", { id: `${id}-days`, inputMode: "numeric", value: days, onInput: (e: Event) => setDays((e.target as HTMLInputElement).value) })),
      h("div", { class: "field field-small" }, h("label", { for: `${id}-cap` }, "Cap per project (%)"), h("input", { id: `${id}-cap`, inputMode: "decimal", value: cap, onInput: (e: Event) => setCap((e.target as HTMLInputElement).value) })),
      h("button", { type: "submit", class: "button primary", disabled: !!action.busy }, action.busy ? "Working…" : "Create round"),
      action.busy ? h("p", { class: "fine", role: "status" }, action.busy) : null,
    ),
    h(Notice, { error: action.error, notice: action.notice, onDismiss: () => action.setError(undefined) }),
  );
}
