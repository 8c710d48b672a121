import { h } from "preact";
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { describeError, getJson, PageError } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatPrice, shortHex } from "../lib/format.ts";
import { Notice } from "../lib/ui.ts";
import { exportHistory, newId, openChatHistory, type ChatHistory, type Conversation, type StoredMessage } from "./history.ts";
import { ChatStreamError, sendSealedChat, type ChatMessage } from "./sealedChat.ts";

/** The longest message accepted, in characters: far more than a small model's context, far below the gateway's body limit. */
export const MAX_PROMPT_CHARS = 16_000;
/** How much earlier conversation goes with each turn, in characters. */
const MAX_CONTEXT_CHARS = 6_000;

type Offer = { model: string; modelId: string; provider: string; pricePerMillionInput: string; pricePerMillionOutput: string; weightsHash: string };
type ModelChoice = { model: string; providers: number; input: bigint; output: bigint };

/** The messages sent with a turn: the latest ones that fit, oldest first, then the new one. */
function contextFor(messages: StoredMessage[], prompt: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  let budget = MAX_CONTEXT_CHARS;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (!m.content || (m.role === "assistant" && m.status === "error")) continue;
    if (m.content.length > budget) break;
    budget -= m.content.length;
    out.unshift({ role: m.role, content: m.content });
  }
  out.push({ role: "user", content: prompt });
  return out;
}

function MessageView(props: { message: StoredMessage; onRetry?: () => void }) {
  const { config } = useContext(AppContext);
  const m = props.message;
  const meta =
    m.role === "assistant" && m.receipt
      ? h(
          "p",
          { class: "message-meta", "data-testid": "message-receipt" },
          h("span", { "data-testid": "message-cost" }, `Cost ${formatAmount(m.receipt.cost, config.token, config.token.decimals)}`),
          ` · ${m.receipt.inputTokens} in / ${m.receipt.outputTokens} out tokens · receipt `,
          h("code", { title: m.receipt.receiptId }, shortHex(m.receipt.receiptId, 6)),
          " · provider ",
          h("code", { title: m.receipt.provider }, shortHex(m.receipt.provider)),
        )
      : null;
  const status =
    m.status === "streaming"
      ? h("p", { class: "message-status" }, "Writing… (sealed end to end)")
      : m.status === "incomplete" || m.status === "error"
        ? h(
            "div",
            { class: "message-status message-problem", "data-testid": "message-problem" },
            h("strong", null, m.status === "incomplete" ? "Incomplete. " : "Not answered. "),
            m.error?.message ?? "",
            m.error?.hint ? h("span", { class: "notice-hint" }, ` ${m.error.hint}`) : null,
            props.onRetry ? h("button", { type: "button", class: "link", onClick: props.onRetry }, "Ask again") : null,
          )
        : null;
  return h(
    "li",
    { class: `message message-${m.role}`, "data-status": m.status },
    h("p", { class: "message-role" }, m.role === "user" ? "You" : `Assistant${m.model ? ` · ${m.model}` : ""}`),
    h("div", { class: "message-text" }, m.content || (m.status === "streaming" ? "…" : "")),
    status,
    meta,
  );
}

/** The private chat: pick a model on offer, chat sealed end to end, keep history only here. */
export function ChatPage() {
  const { config } = useContext(AppContext);
  const [history, setHistory] = useState<ChatHistory>();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [currentId, setCurrentId] = useState<string>();
  const [choices, setChoices] = useState<ModelChoice[]>();
  const [model, setModel] = useState("");
  const [draft, setDraft] = useState("");
  const [maxTokens, setMaxTokens] = useState(200);
  const [busy, setBusy] = useState<AbortController>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const logRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const current = conversations.find((c) => c.id === currentId);

  const loadOffers = async () => {
    try {
      const offers = await getJson<{ data: Offer[] }>("/gotong/offers");
      const byModel = new Map<string, ModelChoice>();
      for (const o of offers.data) {
        const c = byModel.get(o.model) ?? { model: o.model, providers: 0, input: BigInt(o.pricePerMillionInput), output: BigInt(o.pricePerMillionOutput) };
        c.providers++;
        if (BigInt(o.pricePerMillionInput) < c.input) c.input = BigInt(o.pricePerMillionInput);
        if (BigInt(o.pricePerMillionOutput) < c.output) c.output = BigInt(o.pricePerMillionOutput);
        byModel.set(o.model, c);
      }
      const list = [...byModel.values()];
      setChoices(list);
      setModel((m) => m || list[0]?.model || "");
    } catch (e) {
      setError(e);
      setChoices([]);
    }
  };

  useEffect(() => {
    void (async () => {
      const store = await openChatHistory();
      setHistory(store);
      const all = await store.list();
      setConversations(all);
      setCurrentId(all[0]?.id);
      if (!store.persistent) setNotice("This browser does not allow saving; this chat is kept only until the page closes.");
    })();
    void loadOffers();
  }, []);

  useEffect(() => {
    if (current?.model && choices?.some((c) => c.model === current.model)) setModel(current.model);
  }, [currentId]);

  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [current?.messages.length, current?.messages[current.messages.length - 1]?.content]);

  const persist = async (conversation: Conversation) => {
    conversation.updatedAt = Date.now();
    setConversations((all) => [conversation, ...all.filter((c) => c.id !== conversation.id)]);
    await history?.save(conversation);
  };

  const send = async (prompt: string, retryOf?: StoredMessage) => {
    setError(undefined);
    setNotice(undefined);
    if (busy) return;
    const text = prompt.trim();
    if (!text) return setError(new PageError("Write a message first.", { code: "empty_prompt", hint: "Type your question in the message box, then press Send." }));
    if (text.length > MAX_PROMPT_CHARS) {
      return setError(new PageError(`Your message is ${text.length.toLocaleString()} characters; the limit is ${MAX_PROMPT_CHARS.toLocaleString()}.`, { code: "prompt_too_long", hint: "Shorten it or split it over several messages. Nothing was sent." }));
    }
    if (!model) return setError(new PageError("No model is on offer yet.", { code: "no_model", hint: "Start a provider (`gotong up` does), then reload." }));
    const conversation: Conversation = current && current.model === model
      ? structuredClone(current)
      : { id: newId(), title: text.slice(0, 60), model, createdAt: Date.now(), updatedAt: Date.now(), messages: [] };
    if (retryOf) conversation.messages = conversation.messages.filter((m) => m.id !== retryOf.id);
    else conversation.messages.push({ id: newId(), role: "user", content: text, createdAt: Date.now(), status: "done" });
    const earlier = conversation.messages.slice(0, -1);
    const answer: StoredMessage = { id: newId(), role: "assistant", content: "", createdAt: Date.now(), status: "streaming", model };
    conversation.messages.push(answer);
    setCurrentId(conversation.id);
    await persist(conversation);
    if (!retryOf) setDraft("");
    const controller = new AbortController();
    setBusy(controller);
    let lastSave = Date.now();
    const update = () => setConversations((all) => all.map((c) => (c.id === conversation.id ? { ...conversation, messages: [...conversation.messages] } : c)));
    try {
      const result = await sendSealedChat({
        model,
        messages: contextFor(earlier, text),
        maxTokens,
        signal: controller.signal,
        onDelta: (piece) => {
          answer.content += piece;
          update();
          if (Date.now() - lastSave > 1000) {
            lastSave = Date.now();
            void history?.save(conversation);
          }
        },
      });
      answer.content = result.text;
      answer.status = "done";
      answer.receipt = result.receipt;
    } catch (e) {
      const partial = e instanceof ChatStreamError ? e.partial : "";
      answer.content = partial || answer.content;
      answer.status = answer.content ? "incomplete" : "error";
      answer.error = describeError(e);
      if (!(e instanceof ChatStreamError)) setError(e);
    } finally {
      setBusy(undefined);
      await persist(conversation);
      inputRef.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send(draft);
    }
  };

  const exportAll = () => {
    const blob = new Blob([exportHistory(conversations)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `gotong-chat-${new Date().toISOString().slice(0, 10)}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setNotice(`Exported ${conversations.length} conversation${conversations.length === 1 ? "" : "s"}.`);
  };

  const deleteOne = async (id: string) => {
    if (!confirm("Delete this conversation from this browser? This cannot be undone.")) return;
    await history?.remove(id);
    setConversations((all) => all.filter((c) => c.id !== id));
    if (currentId === id) setCurrentId(undefined);
    setNotice("Conversation deleted.");
  };

  const deleteAll = async () => {
    if (!confirm("Delete every conversation from this browser? This cannot be undone.")) return;
    await history?.clear();
    setConversations([]);
    setCurrentId(undefined);
    setNotice("All conversations deleted.");
  };

  const chosen = useMemo(() => choices?.find((c) => c.model === model), [choices, model]);
  const tooLong = draft.trim().length > MAX_PROMPT_CHARS;

  return h(
    "div",
    { class: "chat" },
    h(
      "aside",
      { class: "chat-side", "aria-label": "Conversations" },
      h("button", { type: "button", class: "button", onClick: () => { setCurrentId(undefined); inputRef.current?.focus(); } }, "New chat"),
      h(
        "ul",
        { class: "conversation-list" },
        conversations.map((c) =>
          h(
            "li",
            { key: c.id, class: c.id === currentId ? "current" : "" },
            h("button", { type: "button", class: "conversation", "aria-current": c.id === currentId ? "true" : undefined, onClick: () => setCurrentId(c.id) }, c.title || "Untitled"),
            h("button", { type: "button", class: "icon", "aria-label": `Delete conversation "${c.title}"`, onClick: () => void deleteOne(c.id) }, "×"),
          ),
        ),
      ),
      h(
        "div",
        { class: "side-actions" },
        h("button", { type: "button", class: "link", onClick: exportAll, disabled: conversations.length === 0 }, "Export history"),
        h("button", { type: "button", class: "link danger", onClick: () => void deleteAll(), disabled: conversations.length === 0 }, "Delete all"),
      ),
      h("p", { class: "fine" }, "History stays in this browser only. Messages leave it sealed to the provider; the gateway relays ciphertext."),
    ),
    h(
      "div",
      { class: "chat-main" },
      h(
        "div",
        { class: "chat-controls" },
        h(
          "div",
          { class: "field" },
          h("label", { for: "model" }, "Model"),
          h(
            "select",
            { id: "model", value: model, onChange: (e: Event) => setModel((e.target as HTMLSelectElement).value), disabled: !choices || choices.length === 0 },
            choices === undefined ? h("option", { value: "" }, "Loading offers…") : choices.length === 0 ? h("option", { value: "" }, "No model on offer") : null,
            (choices ?? []).map((c) => h("option", { key: c.model, value: c.model }, `${c.model} (${c.providers} provider${c.providers === 1 ? "" : "s"})`)),
          ),
          chosen ? h("p", { class: "fine", id: "model-price" }, `From ${formatPrice(chosen.input, config.token)} in, ${formatPrice(chosen.output, config.token)} out`) : null,
        ),
        h(
          "div",
          { class: "field field-small" },
          h("label", { for: "max-tokens" }, "Longest answer (tokens)"),
          h("input", { id: "max-tokens", type: "number", min: 1, max: 4096, value: maxTokens, onInput: (e: Event) => setMaxTokens(Math.max(1, Math.min(4096, Number((e.target as HTMLInputElement).value) || 1))) }),
        ),
      ),
      h(
        "div",
        { class: "messages", ref: logRef, role: "log", "aria-live": "polite", "aria-label": "Conversation", tabIndex: 0 },
        h(
        "ol",
        { class: "message-list" },
        current && current.messages.length > 0
          ? current.messages.map((m, i) =>
              h(MessageView, {
                key: m.id,
                message: m,
                onRetry: m.role === "assistant" && (m.status === "error" || m.status === "incomplete") && !busy && current.messages[i - 1]?.role === "user" ? () => void send(current.messages[i - 1]!.content, m) : undefined,
              }),
            )
          : h("li", { class: "empty" }, "Ask anything. Your message is sealed in this browser to the provider's key (HPKE); the gateway pays for it without being able to read it."),
      ),
      ),
      h(Notice, { error, notice, onDismiss: () => setError(undefined) }),
      h(
        "form",
        { class: "composer", onSubmit: (e: Event) => { e.preventDefault(); void send(draft); } },
        h("label", { for: "prompt", class: "visually-hidden" }, "Message"),
        h("textarea", {
          id: "prompt",
          ref: inputRef,
          rows: 3,
          value: draft,
          placeholder: "Message (Enter to send, Shift+Enter for a new line)",
          "aria-describedby": "prompt-count",
          "aria-invalid": tooLong ? "true" : undefined,
          onInput: (e: Event) => setDraft((e.target as HTMLTextAreaElement).value),
          onKeyDown,
        }),
        h("div", { class: "composer-row" },
          h("span", { id: "prompt-count", class: tooLong ? "fine danger" : "fine" }, `${draft.trim().length.toLocaleString()} / ${MAX_PROMPT_CHARS.toLocaleString()} characters`),
          busy
            ? h("button", { type: "button", class: "button", onClick: () => busy.abort() }, "Stop")
            : h("button", { type: "submit", class: "button primary" }, "Send"),
        ),
      ),
    ),
  );
}
