import { h } from "preact";
import { useContext, useMemo } from "preact/hooks";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatCount, shortHex } from "../lib/format.ts";
import { formatAnswerSpeed } from "./answerSpeed.ts";
import { withCode } from "../lib/ui.ts";
import type { StoredMessage } from "./history.ts";
import { copyFromClick, renderMarkdown } from "./renderMarkdown.ts";

/** The first words of a problem line: what happened to the answer, by why it ended. */
function problemTitle(m: StoredMessage): string {
  if (m.error?.code === "aborted") return ""; // its message says "Stopped…" itself
  if (m.error?.code === "interrupted") return "Interrupted. ";
  return m.status === "incomplete" ? "Incomplete. " : "Not answered. ";
}

/**
 * One message of the conversation: its text, how its answer ended, and what it cost. An answer
 * that was paid for but ended without a receipt in its stream (stopped, cut, interrupted) says its
 * cost is still to be settled until the gateway's receipt for it is found (see findReceipts).
 *
 * @param live a problem that just happened is announced (role=alert); one read back from history is not
 */
export function MessageView(props: { message: StoredMessage; onRetry?: () => void; live?: boolean }) {
  const { config } = useContext(AppContext);
  const m = props.message;
  // An answer is Markdown, rendered and sanitised (renderMarkdown); what the person wrote stays plain text.
  const html = useMemo(() => (m.role === "assistant" && m.content ? renderMarkdown(m.content) : ""), [m.role, m.content]);
  const cost = m.receipt
    ? h(
        "p",
        { class: "message-meta", "data-testid": "message-receipt" },
        h("span", { "data-testid": "message-cost" }, `Cost ${formatAmount(m.receipt.cost, config.token, config.token.decimals)}`),
        ` · ${formatCount(m.receipt.inputTokens)} in / ${formatCount(m.receipt.outputTokens)} out tokens · receipt `,
        h("code", { title: m.receipt.receiptId }, shortHex(m.receipt.receiptId, 6)),
        " · provider ",
        h("code", { title: m.receipt.provider }, shortHex(m.receipt.provider)),
      )
    : m.role === "assistant" && m.requestId && m.status !== "streaming" && m.status !== "done"
      ? h("p", { class: "message-meta", "data-testid": "cost-pending" }, "Cost: settled by the gateway with your next message to this provider (nothing, if the provider never started).")
      : null;
  const status =
    m.status === "streaming"
      ? h("p", { class: "message-status" }, "Writing… (sealed end to end)")
      : m.status === "incomplete" || m.status === "error"
        ? h(
            "div",
            { class: "message-status message-problem", "data-testid": "message-problem", role: props.live ? "alert" : undefined },
            h("strong", null, problemTitle(m)),
            m.error ? withCode(m.error.message) : "",
            m.error?.hint ? h("span", { class: "notice-hint" }, " ", withCode(m.error.hint)) : null,
            props.onRetry ? [" ", h("button", { type: "button", class: "link", onClick: props.onRetry }, "Ask again")] : null,
          )
        : null;
  return h(
    "li",
    { class: `message message-${m.role}`, "data-status": m.status },
    h("p", { class: "message-role" }, m.role === "user" ? "You" : `Assistant${m.model ? ` · ${m.model}` : ""}`),
    m.role === "assistant" && m.content
      ? h("div", { class: "message-text markdown", dangerouslySetInnerHTML: { __html: html }, onClick: (e: MouseEvent) => copyFromClick(e) })
      : h("div", { class: "message-text" }, m.content || (m.status === "streaming" ? "…" : "")),
    status,
    cost,
    m.timing && m.role === "assistant" ? h("p", { class: "message-meta", "data-testid": "message-speed" }, formatAnswerSpeed(m.timing, m.receipt?.outputTokens)) : null,
  );
}
