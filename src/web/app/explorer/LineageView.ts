import { h, type ComponentChildren } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { getJson } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatBps, shortHex } from "../lib/format.ts";
import { Pending, withCode } from "../lib/ui.ts";
import type { Lineage, LineageNode } from "./types.ts";

/** The model whose lineage is open: its id, and its name for the heading before the read arrives. */
export type LineageTarget = { modelId: string; name: string };

/**
 * A model's lineage (`/gotong/web/lineage`, the read `gotong model lineage` makes): the tree of its
 * ancestors up to the base models and the datasets each was trained on, as nested lists, each
 * with its relation, the share of its child's royalty it is paid and what it earned from that
 * child (to the base unit, in the token's decimals); then its derivatives, with what each paid it.
 * Every model in it opens its own lineage. Chain data is rendered as text, never as HTML.
 */
export function LineageView(props: { target: LineageTarget; onOpen(target: LineageTarget): void; onClose(): void }) {
  const { config } = useContext(AppContext);
  const token = config.token;
  const { modelId } = props.target;
  const [state, setState] = useState<{ modelId: string; data?: Lineage; error?: unknown; loading: boolean }>({ modelId, loading: true });
  const [attempt, setAttempt] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    setState((s) => (s.modelId === modelId ? { ...s, error: undefined, loading: true } : { modelId, loading: true }));
    getJson<Lineage>(`/gotong/web/lineage?model=${encodeURIComponent(modelId)}`, abort.signal).then(
      (data) => setState({ modelId, data, loading: false }),
      (error) => {
        if (!abort.signal.aborted) setState((s) => ({ ...s, modelId, error, loading: false }));
      },
    );
    return () => abort.abort();
  }, [modelId, attempt]);
  // Opening a lineage (from a row or from the tree) takes the keyboard there.
  useEffect(() => heading.current?.focus(), [modelId]);

  const retry = () => setAttempt((n) => n + 1);
  const data = state.modelId === modelId ? state.data : undefined;
  const failed = state.modelId === modelId && state.error !== undefined;
  const title = `Lineage of ${data?.lineage.name ?? props.target.name} #${modelId}`;

  /** An amount exactly, in the token's decimals with thousand separators; its base units on hover. */
  const money = (value: string, testId?: string) => h("span", { class: "amount", "data-testid": testId, "data-base-units": value, title: `${value} base units` }, formatAmount(value, token, token.decimals));
  const notFlowed = (value: string, testId: string) => (value === "0" ? null : h("span", { "data-testid": testId }, " (+ ", money(value), " not flowed yet)"));
  const owner = (address: string) => h("code", { title: address }, shortHex(address));
  const open = (node: { modelId: string; name: string }) =>
    h("button", { type: "button", class: "link lineage-open", onClick: () => props.onOpen({ modelId: node.modelId, name: node.name }) }, `${node.name} #${node.modelId}`);

  /** A model's datasets and parents, nested: each parent's own lineage under it. */
  const branches = (node: LineageNode): ComponentChildren => {
    if (node.parents.length === 0 && node.datasets.length === 0) return null;
    return h(
      "ul",
      null,
      node.datasets.map((d) =>
        h(
          "li",
          { key: `d${d.datasetId}`, "data-lineage-dataset": d.datasetId, "data-lineage-child": node.modelId },
          h(
            "p",
            { class: "lineage-node" },
            h("span", { class: "lineage-kind" }, "dataset "),
            h("strong", null, `${d.name} #${d.datasetId}`),
            `: ${formatBps(d.shareBps)} of #${node.modelId}'s royalty; earned `,
            money(d.earnedFromChild, "lineage-earned"),
            ` from #${node.modelId}`,
            notFlowed(d.pendingFromChild, "lineage-pending"),
            "; owned by ",
            owner(d.owner),
          ),
        ),
      ),
      node.parents.map((p) =>
        h(
          "li",
          { key: `m${p.model.modelId}`, "data-lineage-model": p.model.modelId, "data-lineage-child": node.modelId, "data-relation": p.relation },
          h(
            "p",
            { class: "lineage-node" },
            h("span", { class: "lineage-kind" }, `${p.relation} of `),
            open(p.model),
            `: ${formatBps(p.shareBps)} of #${node.modelId}'s royalty; earned `,
            money(p.earnedFromChild, "lineage-earned"),
            ` from #${node.modelId}`,
            notFlowed(p.pendingFromChild, "lineage-pending"),
            "; owned by ",
            owner(p.model.owner),
          ),
          branches(p.model),
        ),
      ),
    );
  };

  let body: ComponentChildren;
  if (data === undefined) body = h(Pending, { failed, error: state.error, what: "the lineage", retry });
  else {
    const root = data.lineage;
    body = [
      failed ? h(Pending, { failed, error: state.error, what: "the lineage again", retry }) : null,
      h("h4", { id: "lineage-ancestors" }, "Ancestors and data"),
      h(
        "ul",
        { class: "lineage-tree", "aria-labelledby": "lineage-ancestors" },
        h(
          "li",
          { "data-lineage-model": root.modelId, "data-lineage-root": "" },
          h(
            "p",
            { class: "lineage-node" },
            h("strong", null, `${root.name} #${root.modelId}`),
            ` (this model): royalty ${formatBps(root.royaltyBps)}, depth ${root.depth} of at most ${data.maxDepth}; kept `,
            money(root.kept, "lineage-kept"),
            " of its royalties",
            notFlowed(root.pending, "lineage-root-pending"),
            "; owned by ",
            owner(root.owner),
          ),
          branches(root),
        ),
      ),
      root.parents.length === 0 && root.datasets.length === 0 ? h("p", { class: "fine" }, "An original model: it names no parent model and no dataset.") : null,
      h("h4", { id: "lineage-derivatives" }, "Derivatives"),
      data.derivatives.length === 0
        ? h("p", { class: "fine", "data-testid": "lineage-no-derivatives" }, "No model names it as a parent yet.")
        : h(
            "ul",
            { class: "lineage-list", "aria-labelledby": "lineage-derivatives" },
            data.derivatives.map((d) =>
              h(
                "li",
                { key: d.modelId, "data-lineage-derivative": d.modelId, "data-relation": d.relation },
                h(
                  "p",
                  { class: "lineage-node" },
                  open(d),
                  `, a ${d.relation} of it: pays it ${formatBps(d.shareBps)} of its royalty; paid `,
                  money(d.paidToParent, "lineage-paid"),
                  " so far",
                  notFlowed(d.pendingToParent, "lineage-pending"),
                  "; owned by ",
                  owner(d.owner),
                ),
              ),
            ),
          ),
      h(
        "p",
        { class: "fine" },
        withCode("Shares were fixed when each model was registered. Earned is what flowed to a parent or dataset from that child (PaymentChannels' ParentShareFlowed and DatasetShareFlowed events); not flowed yet is its share of the child's royalties still to flow, which `gotong model withdraw` (or anyone's `flowRoyalties`) moves."),
      ),
    ];
  }

  return h(
    "section",
    { class: "lineage", id: "lineage", "aria-labelledby": "lineage-title", "aria-busy": state.loading ? "true" : "false", "data-lineage-of": modelId },
    h(
      "div",
      { class: "card-head" },
      h("h3", { id: "lineage-title", tabIndex: -1, ref: heading }, title),
      h(
        "div",
        { class: "lineage-actions" },
        h("button", { type: "button", class: "link", onClick: retry, disabled: state.loading }, state.loading && data !== undefined ? "Refreshing…" : "Refresh"),
        h("button", { type: "button", class: "link", onClick: props.onClose, "aria-label": "Close the lineage" }, "Close"),
      ),
    ),
    body,
  );
}
