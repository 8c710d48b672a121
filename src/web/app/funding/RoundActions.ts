import { h } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { getJson, PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, parseUnits, shortHex } from "../lib/format.ts";
import { Notice, withCode } from "../lib/ui.ts";
import { encodeCall } from "../wallet/encodeCall.ts";
import { applyProjectCall, claimCall, finalizeCall, fundPoolCall } from "./fundingCalls.ts";
import { receivedBy, useWalletAction } from "./useWalletAction.ts";

/** What RoundActions needs of a round's status (as `/gotong/web/funding` gives it). */
export type RoundForActions = {
  round: { roundId: string; token: string; usageWeightBps: number };
  phase: "upcoming" | "open" | "ended" | "finalized";
  applicationsOpen: boolean;
  projects: { projectId: number; modelId: string; modelName?: string; claimant: string; rejected: boolean; claimed: boolean; payout: string }[];
};

type ModelOption = { modelId: string; name: string; owner: string };

/**
 * A round's actions besides donating, each sent from the connected wallet: apply a model (or the
 * wallet's own address) while applications are open, add to the matching pool until it is
 * finalized, finalize once donations have closed, and claim a project's payout once finalized
 * (only its recipient can; the page says so before sending). Amounts paid are read from the
 * token's transfers in the transaction, not assumed.
 */
export function RoundActions(props: { status: RoundForActions; token: { symbol: string; decimals: number }; reload: () => Promise<unknown> }) {
  const { config, wallet } = useContext(AppContext);
  const { status, token } = props;
  const roundId = BigInt(status.round.roundId);
  const qf = config.contracts.quadraticFunding!;
  const id = `round-${status.round.roundId}`;
  const action = useWalletAction();
  const [models, setModels] = useState<ModelOption[]>();
  const [modelId, setModelId] = useState("");
  const [poolAmount, setPoolAmount] = useState("");

  useEffect(() => {
    if (!status.applicationsOpen) return;
    getJson<{ models: ModelOption[] }>("/gotong/web/explorer").then(
      (d) => setModels(d.models),
      () => setModels([]),
    );
  }, [status.applicationsOpen]);
  // Models the connected wallet owns come first: only their owner can apply them.
  const owned = (models ?? []).filter((m) => !wallet || m.owner.toLowerCase() === wallet.address.toLowerCase());
  useEffect(() => {
    if (!owned.some((m) => m.modelId === modelId)) setModelId(owned[0]?.modelId ?? "0");
  }, [models, wallet?.address]);

  const name = (p: RoundForActions["projects"][number]) => (p.modelId !== "0" ? `${p.modelName ?? "model"} #${p.modelId}` : shortHex(p.claimant));

  const apply = (e: Event) => {
    e.preventDefault();
    void action.run(async (w, say) => {
      const chosen = (models ?? []).find((m) => m.modelId === modelId);
      if (chosen && chosen.owner.toLowerCase() !== w.address.toLowerCase()) {
        throw new PageError(`${chosen.name} #${chosen.modelId} belongs to ${chosen.owner}, not to the connected wallet ${w.address}.`, { code: "not_owner", hint: "Only a model's owner can apply it. Nothing was sent." });
      }
      say("Applying…");
      await w.send({ to: qf, data: applyProjectCall(roundId, BigInt(modelId || "0")), what: "the application" });
      await props.reload();
      action.setNotice(chosen ? `Applied ${chosen.name} #${chosen.modelId} to round ${roundId}: its match goes to whoever owns the model when it is claimed.` : `Applied ${w.address} to round ${roundId}.`);
    });
  };

  const fund = (e: Event) => {
    e.preventDefault();
    const parsed = parseUnits(poolAmount, token.decimals);
    if (!parsed.ok) return action.setError(new PageError(parsed.error, { code: "invalid_amount", hint: `Amounts are in ${token.symbol}. Nothing was sent.` }));
    void action.run(async (w, say) => {
      say("Approving the funding contract to take the amount…");
      await w.send({ to: status.round.token, data: encodeCall("approve(address,uint256)", [{ type: "address", value: qf }, { type: "uint256", value: parsed.value }]), what: "the approval" });
      say("Adding to the pool…");
      await w.send({ to: qf, data: fundPoolCall(roundId, parsed.value), what: "adding to the pool" });
      setPoolAmount("");
      await props.reload();
      action.setNotice(`Added ${formatAmount(parsed.value, token)} to round ${roundId}'s matching pool.`);
    });
  };

  const finalize = () =>
    void action.run(async (w, say) => {
      say("Finalizing: computing every project's match on-chain…");
      await w.send({ to: qf, data: finalizeCall(roundId), what: "finalizing the round" });
      await props.reload();
      action.setNotice(`Round ${roundId} is finalized: each project's match is fixed, and its recipient can claim it.`);
    });

  const claim = (p: RoundForActions["projects"][number]) =>
    void action.run(async (w, say) => {
      if (p.claimant.toLowerCase() !== w.address.toLowerCase()) {
        throw new PageError(`Only ${p.claimant} can claim for ${name(p)}; the connected wallet is ${w.address}.`, { code: "not_recipient", hint: "Connect the wallet that owns the model (or the project's address). Nothing was sent." });
      }
      say(`Claiming for ${name(p)}…`);
      const hash = await w.send({ to: qf, data: claimCall(roundId, BigInt(p.projectId), w.address), what: "the claim" });
      const paid = await receivedBy(hash, w.address);
      await props.reload();
      action.setNotice(`Claimed ${formatAmount(paid, token, token.decimals)} for ${name(p)} (donations and match), paid to ${shortHex(w.address)}.`);
    });

  const claimable = status.phase === "finalized" ? status.projects.filter((p) => !p.rejected && !p.claimed && BigInt(p.payout) > 0n) : [];
  return h(
    "div",
    { class: "round-actions" },
    status.applicationsOpen
      ? h(
          "form",
          { class: "donate", onSubmit: apply, "aria-labelledby": `${id}-apply` },
          h("h3", { id: `${id}-apply` }, "Apply"),
          h(
            "div",
            { class: "field" },
            h("label", { for: `${id}-model` }, "Project to apply"),
            h(
              "select",
              { id: `${id}-model`, value: modelId, onChange: (e: Event) => setModelId((e.target as HTMLSelectElement).value) },
              owned.map((m) => h("option", { key: m.modelId, value: m.modelId }, `${m.name} #${m.modelId}`)),
              h("option", { value: "0" }, wallet ? `No model: my address ${shortHex(wallet.address)}` : "No model: the connected wallet's address"),
            ),
          ),
          h("button", { type: "submit", class: "button", disabled: !!action.busy }, "Apply"),
        )
      : null,
    status.phase !== "finalized"
      ? h(
          "form",
          { class: "donate", onSubmit: fund, "aria-labelledby": `${id}-fund` },
          h("h3", { id: `${id}-fund` }, "Add to the matching pool"),
          h("div", { class: "field" }, h("label", { for: `${id}-pool` }, `Pool amount (${token.symbol})`), h("input", { id: `${id}-pool`, inputMode: "decimal", autoComplete: "off", value: poolAmount, onInput: (e: Event) => setPoolAmount((e.target as HTMLInputElement).value) })),
          h("button", { type: "submit", class: "button", disabled: !!action.busy }, "Add to pool"),
        )
      : null,
    status.phase === "ended"
      ? h(
          "div",
          { class: "donate" },
          h("h3", null, "Finalize"),
          h("p", { class: "fine" }, withCode(status.round.usageWeightBps > 0 ? "Donations have closed. Finalizing fixes every match; paid usage not yet counted on-chain is counted by `gotong fund round finalize`, not here." : "Donations have closed. Finalizing fixes every project's match; anyone can do it.")),
          h("button", { type: "button", class: "button primary", onClick: finalize, disabled: !!action.busy }, "Finalize round"),
        )
      : null,
    claimable.length > 0
      ? h(
          "div",
          { class: "donate" },
          h("h3", null, "Claim"),
          claimable.map((p) => h("button", { key: p.projectId, type: "button", class: "button primary", onClick: () => claim(p), disabled: !!action.busy }, `Claim ${formatAmount(p.payout, token, token.decimals)} for ${name(p)}`)),
        )
      : null,
    action.busy ? h("p", { class: "fine", role: "status" }, action.busy) : null,
    h(Notice, { error: action.error, notice: action.notice, onDismiss: () => action.setError(undefined) }),
  );
}
