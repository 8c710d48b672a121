import { h } from "preact";
import { useContext, useEffect, useMemo, useRef } from "preact/hooks";
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

/** A question being edited in place: its text so far, and what saving or cancelling does. */
export type MessageEdit = { text: string; onChange: (text: string) => void; onSave: () => void; onCancel: () => void; busy: boolean };

/** The in-place editor of a question: Enter (or Send edit) sends it as a new turn, Esc (or Cancel) leaves it as it was. */
function EditQuestion(props: { id: string; edit: MessageEdit }) {
  const { edit } = props;
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const box = ref.current;
    if (!box) return;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }, []);
  const inputId = `edit-${props.id}`;
  return h(
    "form",
    { class: "message-edit", onSubmit: (e: Event) => { e.preventDefault(); edit.onSave(); } },
    h("label", { for: inputId, class: "visually-hidden" }, "Edit your message"),
    h("textarea", {
      id: inputId,
      ref,
      rows: Math.min(8, Math.max(2, edit.text.split("\n").length)),
      value: edit.text,
      onInput: (e: Event) => edit.onChange((e.target as HTMLTextAreaElement).value),
      onKeyDown: (e: KeyboardEvent) => {
        if (e.key === "Escape") {
          e.preventDefault();
          edit.onCancel();
        } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          edit.onSave();
        }
      },
    }),
    h(
      "div",
      { class: "message-actions" },
      h("button", { type: "submit", class: "button primary", disabled: edit.busy }, "Send edit"),
      h("button", { type: "button", class: "button", onClick: edit.onCancel }, "Cancel"),
      h("span", { class: "fine" }, "The edit is sent as a new turn; this question and what followed stay here with their costs, and are not sent again."),
    ),
  );
}

/**
 * One message of the conversation: its text, how its answer ended, and what it cost. An answer
 * that was paid for but ended without a receipt in its stream (stopped, cut, interrupted) says its
 * cost is still to be settled until the gateway's receipt for it is found (see findReceipts).
 *
 * @param live a problem that just happened is announced (role=alert); one read back from history is not
 * @param onRetry asks the question again for a new answer below: "Ask again" on an answer that
 *   ended badly, "Regenerate" on a complete one (either way the old answer stays, with its cost)
 * @param onEdit opens the question's editor; `edit` is set while it is open
 * @param regenerated a newer answer to the same question follows: this one is kept, not sent again
 */
export function MessageView(props: { message: StoredMessage; onRetry?: () => void; live?: boolean; onEdit?: () => void; edit?: MessageEdit; regenerated?: boolean }) {
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
  const actions =
    !props.edit && (props.onEdit || (props.onRetry && m.status === "done"))
      ? h(
          "div",
          { class: "message-actions" },
          props.onEdit ? h("button", { type: "button", class: "link", onClick: props.onEdit, "aria-label": "Edit this message" }, "Edit") : null,
          props.onRetry && m.status === "done" ? h("button", { type: "button", class: "link", onClick: props.onRetry, "aria-label": "Regenerate this answer" }, "Regenerate") : null,
        )
      : null;
  return h(
    "li",
    { class: `message message-${m.role}${m.replaced ? " message-replaced" : ""}`, "data-status": m.status, "data-replaced": m.replaced ? "true" : undefined },
    h("p", { class: "message-role" }, m.role === "user" ? "You" : `Assistant${m.model ? ` · ${m.model}` : ""}`),
    props.edit
      ? h(EditQuestion, { id: m.id, edit: props.edit })
      : m.role === "assistant" && m.content
        ? h("div", { class: "message-text markdown", dangerouslySetInnerHTML: { __html: html }, onClick: (e: MouseEvent) => copyFromClick(e) })
        : h("div", { class: "message-text" }, m.content || (m.status === "streaming" ? "…" : "")),
    m.replaced
      ? h(
          "p",
          { class: "message-meta", "data-testid": "message-replaced" },
          m.role === "user" ? "Edited: the new version is below. This one is kept here and not sent to the model again." : "Answer to an edited question: kept here with its cost, not sent to the model again.",
        )
      : props.regenerated
        ? h("p", { class: "message-meta", "data-testid": "message-regenerated" }, "Regenerated below: this answer is kept here with its cost; the newer one goes with the conversation.")
        : null,
    m.leftOut
      ? h("p", { class: "message-meta", "data-testid": "message-left-out" }, `Written without the ${m.leftOut === 1 ? "earliest message" : `${m.leftOut} earliest messages`} of this conversation: ${m.leftOut === 1 ? "it" : "they"} no longer fit the model's context.`)
      : null,
    status,
    cost,
    m.timing && m.role === "assistant" ? h("p", { class: "message-meta", "data-testid": "message-speed" }, formatAnswerSpeed(m.timing, m.receipt?.outputTokens)) : null,
    actions,
  );
}
