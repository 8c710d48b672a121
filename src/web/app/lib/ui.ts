import { h, type ComponentChildren } from "preact";
import { describeError } from "./api.ts";

/**
 * Text whose `backticked` parts (commands, field names in errors and hints) show as code, without
 * the backticks: the text stays plain text, never HTML.
 */
export function withCode(text: string): ComponentChildren {
  const parts = text.split(/`([^`]+)`/);
  return parts.length === 1 ? text : parts.map((part, i) => (i % 2 === 1 ? h("code", null, part) : part));
}

/**
 * What a section shows until its data is there: "Loading…" while it is on its way, and when the
 * request failed (the gateway is down), that it could not load, with a way to try again.
 */
export function Pending(props: { failed?: boolean; error?: unknown; what: string; retry?: () => void }) {
  if (!props.failed) return h("p", null, "Loading…");
  return h(
    "p",
    { class: "fine", "data-testid": "load-failed" },
    `Could not load ${props.what}: `,
    props.error !== undefined ? withCode(describeError(props.error).message) : "the gateway did not answer.",
    " ",
    props.retry ? h("button", { type: "button", class: "link", onClick: props.retry }, "Try again") : null,
  );
}

/** A status line: an error (role=alert, read at once) or a notice (role=status, read politely). */
export function Notice(props: { error?: unknown; notice?: string; onDismiss?: () => void }) {
  if (props.error !== undefined) {
    const e = describeError(props.error);
    return h(
      "div",
      { class: "notice notice-error", role: "alert", "data-code": e.code },
      h("p", { class: "notice-message" }, withCode(e.message)),
      e.hint ? h("p", { class: "notice-hint" }, withCode(e.hint)) : null,
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
