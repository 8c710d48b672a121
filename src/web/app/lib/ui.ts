import { h, type ComponentChildren } from "preact";
import { describeError } from "./api.ts";

/** A status line: an error (role=alert, read at once) or a notice (role=status, read politely). */
export function Notice(props: { error?: unknown; notice?: string; onDismiss?: () => void }) {
  if (props.error !== undefined) {
    const e = describeError(props.error);
    return h(
      "div",
      { class: "notice notice-error", role: "alert", "data-code": e.code },
      h("p", { class: "notice-message" }, e.message),
      e.hint ? h("p", { class: "notice-hint" }, e.hint) : null,
      props.onDismiss ? h("button", { type: "button", class: "link", onClick: props.onDismiss }, "Dismiss") : null,
    );
  }
  if (props.notice) return h("div", { class: "notice notice-ok", role: "status" }, h("p", null, props.notice));
  return null;
}

/**
 * A table with a header row of `columns` and the rows given as children, in a region that scrolls
 * sideways on its own on a narrow screen, reachable by keyboard.
 */
export function DataTable(props: { label: string; columns: string[]; children?: ComponentChildren }) {
  return h(
    "div",
    { class: "table-region", role: "region", "aria-label": props.label, tabIndex: 0 },
    h("table", null, h("thead", null, h("tr", null, props.columns.map((t) => h("th", { scope: "col" }, t)))), h("tbody", null, props.children)),
  );
}

/** A section with a heading. */
export function Section(props: { title: string; id: string; children?: ComponentChildren; actions?: ComponentChildren }) {
  return h(
    "section",
    { class: "card", "aria-labelledby": `${props.id}-title` },
    h("div", { class: "card-head" }, h("h2", { id: `${props.id}-title` }, props.title), props.actions ?? null),
    props.children,
  );
}
