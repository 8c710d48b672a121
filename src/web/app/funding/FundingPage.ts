import { h } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { getJson, PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatBps, formatTime, parseUnits, shortHex } from "../lib/format.ts";
import { DataTable, Notice, Pending, Section, withCode } from "../lib/ui.ts";
import { encodeCall } from "../wallet/encodeCall.ts";
import { CreateRoundForm } from "./CreateRoundForm.ts";
import { RoundActions } from "./RoundActions.ts";

type ProjectStatus = {
  projectId: number; modelId: string; modelName?: string; claimant: string; rejected: boolean; claimed: boolean;
  donated: string; donors: string; usage: string; payers: string; pendingUsage: string; donationMatch: string; usageMatch: string; match: string; payout: string;
};
type RoundStatus = {
  round: { roundId: string; operator: string; token: string; donationStart: string; donationEnd: string; applicationStart: string; applicationEnd: string; matchingCapBps: number; usageWeightBps: number; donorCap: string; issuers: string[] };
  phase: "upcoming" | "open" | "ended" | "finalized";
  donationsOpen: boolean; applicationsOpen: boolean; protocolRound: boolean; pool: string; estimate: boolean; allocated: string;
  projects: ProjectStatus[];
  donations: { projectId: number; donor: string; amount: string; blockNumber: string }[];
};

const projectName = (p: ProjectStatus) => (p.modelId !== "0" ? `${p.modelName ?? "model"} #${p.modelId}` : shortHex(p.claimant));

function RoundCard(props: { status: RoundStatus; reload: () => Promise<RoundStatus | undefined> }) {
  const { config, wallet, connect } = useContext(AppContext);
  const { status } = props;
  const r = status.round;
  const token = r.token.toLowerCase() === config.token.address.toLowerCase() ? config.token : { symbol: "units", decimals: 0 };
  const open = status.projects.filter((p) => !p.rejected);
  const [projectId, setProjectId] = useState(String(open[0]?.projectId ?? ""));
  const [amount, setAmount] = useState("");
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const id = `round-${r.roundId}`;

  const donate = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setNotice(undefined);
    const parsed = parseUnits(amount, token.decimals);
    if (!parsed.ok) return setError(new PageError(parsed.error, { code: "invalid_amount", hint: `Amounts are in ${token.symbol}.` }));
    const project = open.find((p) => String(p.projectId) === projectId);
    if (!project) return setError(new PageError("Choose a project.", { code: "no_project" }));
    const before = BigInt(project.match);
    try {
      const w = wallet ?? (await connect());
      const qf = config.contracts.quadraticFunding!;
      setBusy("Approving the funding contract to take your donation…");
      await w.send({ to: r.token, data: encodeCall("approve(address,uint256)", [{ type: "address", value: qf }, { type: "uint256", value: parsed.value }]), what: "the approval" });
      setBusy("Donating…");
      try {
        await w.send({
          to: qf,
          data: encodeCall("donate(uint256,uint256,uint256)", [{ type: "uint256", value: BigInt(r.roundId) }, { type: "uint256", value: BigInt(project.projectId) }, { type: "uint256", value: parsed.value }]),
          what: "the donation",
        });
      } catch (e) {
        const pe = e as PageError;
        throw new PageError(pe.message, { code: pe.code ?? "donation_failed", hint: "The approval went through but the donation did not: no tokens moved. You can donate again; the approval is reused." });
      }
      setAmount("");
      const after = await props.reload();
      const now = after?.projects.find((p) => p.projectId === project.projectId);
      setNotice(`Donated ${formatAmount(parsed.value, token)} to ${projectName(project)}. Estimated match ${formatAmount(before, token)} → ${formatAmount(now?.match ?? before, token)}.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  return h(
    Section,
    { title: `Round ${r.roundId}`, id },
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Status"), h("dd", null, status.phase === "finalized" ? "finalized" : status.donationsOpen ? "donations open" : status.phase),
      h("dt", null, "Donations"), h("dd", null, `${formatTime(Number(r.donationStart))} – ${formatTime(Number(r.donationEnd))}`),
      h("dt", null, "Matching pool"), h("dd", { "data-testid": "round-pool" }, `${formatAmount(status.pool, token)}${status.protocolRound ? " (fed by protocol fees)" : ""}`),
      h("dt", null, "Cap per project"), h("dd", null, formatBps(r.matchingCapBps)),
      r.usageWeightBps > 0 ? [h("dt", null, "Matched by paid usage"), h("dd", null, formatBps(r.usageWeightBps))] : null,
      r.issuers.length > 0 ? [h("dt", null, "Donors"), h("dd", null, "must be attested (sybil resistance)")] : null,
    ),
    h(
      DataTable,
      { label: `Projects of round ${r.roundId}`, columns: ["Project", "Donated", "Donors", status.estimate ? "Estimated match" : "Match", "Payout"] },
      status.projects.map((p) =>
        h(
          "tr",
          { key: p.projectId, "data-project": p.projectId },
          h("th", { scope: "row" }, projectName(p), p.rejected ? " (rejected)" : ""),
          h("td", null, formatAmount(p.donated, token)),
          h("td", null, p.donors),
          h("td", { "data-testid": "project-match" }, formatAmount(p.match, token, token.decimals)),
          h("td", null, formatAmount(p.payout, token)),
        ),
      ),
    ),
    status.donationsOpen && open.length > 0
      ? h(
          "form",
          { class: "donate", onSubmit: (e: Event) => void donate(e), "aria-labelledby": `${id}-donate` },
          h("h3", { id: `${id}-donate` }, "Donate"),
          h("div", { class: "field" }, h("label", { for: `${id}-project` }, "Project"),
            h("select", { id: `${id}-project`, value: projectId, onChange: (e: Event) => setProjectId((e.target as HTMLSelectElement).value) }, open.map((p) => h("option", { key: p.projectId, value: String(p.projectId) }, projectName(p))))),
          h("div", { class: "field" }, h("label", { for: `${id}-amount` }, `Amount (${token.symbol})`),
            h("input", { id: `${id}-amount`, inputMode: "decimal", autoComplete: "off", value: amount, onInput: (e: Event) => setAmount((e.target as HTMLInputElement).value) })),
          h("button", { type: "submit", class: "button primary", disabled: !!busy }, busy ? "Working…" : "Donate"),
          busy ? h("p", { class: "fine", role: "status" }, busy) : null,
        )
      : null,
    h(Notice, { error, notice, onDismiss: () => setError(undefined) }),
    config.contracts.quadraticFunding ? h(RoundActions, { status, token, reload: props.reload }) : null,
    status.donations.length > 0
      ? h("details", null, h("summary", null, `Donors (${status.donations.length} donations)`),
          h("ul", { class: "donors" }, status.donations.slice().reverse().map((d, i) => h("li", { key: i }, h("code", null, shortHex(d.donor)), ` gave ${formatAmount(d.amount, token)} to ${projectName(status.projects.find((p) => p.projectId === d.projectId) ?? ({ modelId: "0", claimant: "?" } as ProjectStatus))}`))))
      : h("p", { class: "fine" }, "No donations yet."),
  );
}

/** Funding rounds for open models: projects, donors, live estimated matches, and donating. */
export function FundingPage() {
  const [data, setData] = useState<{ available: boolean; chainTime: string; rounds: RoundStatus[] }>();
  const [error, setError] = useState<unknown>();
  const load = async () => {
    try {
      const d = await getJson<{ available: boolean; chainTime: string; rounds: RoundStatus[] }>("/gotong/web/funding");
      setData(d);
      setError(undefined);
      return d;
    } catch (e) {
      setError(e);
      return undefined;
    }
  };
  useEffect(() => void load(), []);
  return h(
    "div",
    { class: "stack" },
    h(
      "p",
      { class: "lede" },
      "Quadratic funding: many small donations count for more than a few large ones. Each project's match is estimated live from the same maths the contract applies when the round is finalized.",
    ),
    // Until the rounds are there, Pending says why not (once); after, a failed reload is a notice above them.
    data !== undefined ? h(Notice, { error }) : null,
    data?.available ? h(CreateRoundForm, { onCreated: load }) : null,
    data === undefined
      ? h(Pending, { failed: error !== undefined, error, what: "the funding rounds", retry: () => { setError(undefined); void load(); } })
      : !data.available
        ? h("p", null, "This network has no funding contract.")
        : data.rounds.length === 0
          ? h("p", null, withCode("No funding rounds yet. Create one above (or with `gotong fund round create`)."))
          : data.rounds.map((status) =>
              h(RoundCard, {
                key: status.round.roundId,
                status,
                reload: async () => (await load())?.rounds.find((r) => r.round.roundId === status.round.roundId),
              }),
            ),
  );
}
