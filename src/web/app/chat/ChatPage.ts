import { h } from "preact";
import { useContext, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { getJson, PageError } from "../lib/api.ts";
import { needsApiKey } from "../lib/apiKey.ts";
import { ApiKeyField } from "../lib/ApiKeyField.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatCount, formatOffer, shortHex } from "../lib/format.ts";
import { Notice, Pending } from "../lib/ui.ts";
import { Welcome } from "../lib/Welcome.ts";
import { useSettled } from "../lib/useSettled.ts";
import { parseChatSettings, settingsText, type ChatSettingsText } from "./chatSettings.ts";
import { ChatSettingsFields } from "./ChatSettingsFields.ts";
import { explainChatError } from "./explainChatError.ts";
import { applyReceipts, findReceipts } from "./findReceipts.ts";
import { fitHistory } from "./fitHistory.ts";
import { exportHistory, markInterrupted, newId, openChatHistory, type ChatHistory, type Conversation, type StoredMessage } from "./history.ts";
import { loadModels, type ModelChoice } from "./loadModels.ts";
import { loadTokenCounter, type TokenCounting } from "./loadTokenCounter.ts";
import { MessageView } from "./MessageView.ts";
import { ConversationList } from "./ConversationList.ts";
import { MAX_HISTORY_FILE_BYTES, mergeImported, parseHistoryFile } from "./importHistory.ts";
import { ChatStreamError, sendSealedChat } from "./sealedChat.ts";
import { chainRpcUrl } from "../trust/chainRpc.ts";
import { checkProviderKey, ProviderKeyError } from "../trust/checkProviderKey.ts";
import { createKeyCheckCache } from "../trust/keyCheckCache.ts";
import { TrustPanel, type KeyCheckState } from "../trust/TrustPanel.ts";
import { trustTarget } from "../trust/trustPins.ts";

/** The longest message accepted, in characters: far more than a small model's context, far below the gateway's body limit. */
export const MAX_PROMPT_CHARS = 16_000;
/** The answer length asked for when the page opens, in tokens. */
const DEFAULT_MAX_TOKENS = 200;
/** The longest answer offered when no live provider states its model's context. */
const MAX_TOKENS_UNKNOWN_CONTEXT = 4096;
/** How often the model picker asks the gateway again which providers are live. */
const MODELS_REFRESH_MS = 30_000;
/**
 * Counting a draft's tokens takes about 1 ms per 1,000 characters in the page (stories260K's
 * vocabulary, measured in Node: 12 ms for 10,000, 100 ms for 100,000): a draft longer than this is
 * counted once typing pauses for DRAFT_COUNT_PAUSE_MS, not on every keystroke, and one over
 * MAX_PROMPT_CHARS (refused whatever its count) not at all, so typing in a long paste does not
 * lag. Sending counts the draft afresh either way.
 */
const LONG_DRAFT_CHARS = 4_000;
const DRAFT_COUNT_PAUSE_MS = 150;
/** How often a streaming answer is saved to history, at most. */
const SAVE_STREAMING_MS = 250;
/** Within this many pixels of the end, the log counts as "at the bottom" and follows a streaming answer. */
const STICK_TO_BOTTOM_PX = 48;
/** The message box grows with what is typed up to this share of the window's height, then scrolls. */
const PROMPT_MAX_HEIGHT_SHARE = 0.35;

/**
 * The provider keys the chain confirmed, for this page's life: a chat turn waits for the chain only
 * when the gateway hands over a key not confirmed in the last few minutes.
 */
const providerKeys = createKeyCheckCache(checkProviderKey);

/** The new-chat shortcut (as ChatGPT's): Ctrl+Shift+O, or Cmd+Shift+O on a Mac. */
function isNewChatShortcut(e: KeyboardEvent): boolean {
  return (e.ctrlKey || e.metaKey) && e.shiftKey && !e.altKey && e.key.toLowerCase() === "o";
}

/** The total a conversation's answers were charged, in base units, from their checked receipts. */
function conversationCost(c: Conversation | undefined): bigint {
  return (c?.messages ?? []).reduce((sum, m) => sum + (m.receipt ? BigInt(m.receipt.cost) : 0n), 0n);
}

/** The answer-length field's text as a token count within the model's context, or why it is not one. */
function parseMaxTokens(text: string, contextLength: number | undefined): { ok: true; value: number } | { ok: false; error: string } {
  const most = contextLength !== undefined ? contextLength - 1 : MAX_TOKENS_UNKNOWN_CONTEXT;
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isInteger(value) || value < 1 || value > most) {
    return { ok: false, error: `Longest answer: enter a whole number of tokens from 1 to ${formatCount(most)}.` };
  }
  return { ok: true, value };
}

/** The picker's line for a model: its context and capabilities, how many providers are live, or that the gateway cannot be reached. */
function choiceLabel(c: ModelChoice, unreachable: boolean): string {
  if (unreachable) return `${c.model} (gateway unreachable)`;
  const facts = [c.contextLength !== undefined ? `${formatCount(c.contextLength)}-token context` : "", c.capabilities.join(", ")].filter(Boolean).join(" · ");
  const live = c.providers === 0 ? "no provider live now" : `${c.providers} provider${c.providers === 1 ? "" : "s"} live`;
  return `${c.model} (${facts ? `${facts} · ` : ""}${live})`;
}

/** The private chat: pick a model on offer, chat sealed end to end, keep history only here. */
export function ChatPage() {
  const { config } = useContext(AppContext);
  const [history, setHistory] = useState<ChatHistory>();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [currentId, setCurrentId] = useState<string>();
  const [choices, setChoices] = useState<ModelChoice[]>();
  const [modelsError, setModelsError] = useState<unknown>();
  const [needKey, setNeedKey] = useState(false);
  const [model, setModel] = useState("");
  const [draft, setDraft] = useState("");
  const [maxTokensText, setMaxTokensText] = useState(String(DEFAULT_MAX_TOKENS));
  // The settings shown: the current conversation's, or those a new chat will start with.
  const [settingsDraft, setSettingsDraft] = useState<ChatSettingsText>(settingsText(undefined));
  // What the account paying for the chat holds (base units), read again after each answer.
  const [balance, setBalance] = useState<bigint>();
  const [busy, setBusy] = useState<AbortController>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  // The answer whose problem just happened: announced once (role=alert); those read back from history are not.
  const [liveProblem, setLiveProblem] = useState<string>();
  // The last check of the provider's key against the chain (trust/checkProviderKey.ts).
  const [keyCheck, setKeyCheck] = useState<KeyCheckState>();
  // The question being edited in place, and its text so far.
  const [editing, setEditing] = useState<{ id: string; text: string }>();
  const logRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  // Whether the log follows new text: only while the reader is at its end, never while they scroll back.
  const stickToBottom = useRef(true);
  const conversationsRef = useRef(conversations);
  conversationsRef.current = conversations;
  // The answer being written, for the document's Esc listener (added once).
  const busyRef = useRef(busy);
  busyRef.current = busy;

  const current = conversations.find((c) => c.id === currentId);
  const chosen = useMemo(() => choices?.find((c) => c.model === model), [choices, model]);
  const contextLength = chosen?.contextLength;
  // The chosen model's token counter (its vocabulary from the gateway), or why tokens are bounded by bytes.
  const [counting, setCounting] = useState<{ weightsHash: string | undefined; counting: TokenCounting }>();
  const weightsHash = chosen?.weightsHash;
  const countTokens = counting?.weightsHash === weightsHash && counting?.counting.status === "counted" ? counting.counting.count : undefined;
  const boundedBecause =
    counting?.weightsHash !== weightsHash ? "while the model's tokenizer loads" : counting?.counting.status === "bounded" ? counting.counting.reason : undefined;
  const maxTokens = parseMaxTokens(maxTokensText, contextLength);
  const settings = parseChatSettings(settingsDraft);
  // The chat is paid through the gateway's payment channels, from its account.
  const payer = config.gatewayAccount;

  const loadBalance = async () => {
    try {
      const { balance } = await getJson<{ balance: string }>(`/gotong/web/account?address=${payer}`);
      setBalance(BigInt(balance));
    } catch {
      setBalance(undefined); // the gateway or its chain is unreachable: no balance shown rather than a stale one
    }
  };

  const loadChoices = async () => {
    try {
      const list = await loadModels();
      setChoices(list);
      setModelsError(undefined);
      setNeedKey(false);
      setModel((m) => (list.some((c) => c.model === m) ? m : list[0]?.model || ""));
    } catch (e) {
      // Earlier choices stay listed, marked unreachable: what they said about providers is no longer known.
      setModelsError(e);
      if (needsApiKey(e)) setNeedKey(true);
      setChoices((c) => c ?? []);
    }
  };

  /** Gives stopped, cut and interrupted answers the cost the gateway settled for them, once it has. */
  const settleCosts = async (store = history) => {
    let found: Awaited<ReturnType<typeof findReceipts>>;
    try {
      found = await findReceipts(conversationsRef.current);
    } catch {
      return; // the gateway is unreachable or refused: the costs stay "to be settled", looked up next time
    }
    if (found.size === 0) return;
    // Applied to the conversations as they are now, not as they were when the receipts were asked for.
    const changed = conversationsRef.current.flatMap((c) => applyReceipts(c, found) ?? []);
    if (changed.length === 0) return;
    const byId = new Map(changed.map((c) => [c.id, c]));
    setConversations((all) => all.map((c) => byId.get(c.id) ?? c));
    for (const c of changed) await store?.save(c);
  };

  useEffect(() => {
    void (async () => {
      const store = await openChatHistory();
      setHistory(store);
      const all = await store.list();
      // An answer left "Writing…" by a reload or a closed tab will never finish: say so, offer Ask again.
      for (const c of markInterrupted(all)) await store.save(c);
      conversationsRef.current = all;
      setConversations(all);
      setCurrentId(all[0]?.id);
      if (!store.persistent) setNotice("This browser does not allow saving; this chat is kept only until the page closes.");
      await settleCosts(store);
    })();
    void loadChoices();
    void loadBalance();
    const timer = setInterval(() => void loadChoices(), MODELS_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    if (!chosen) return;
    let stale = false;
    void loadTokenCounter(weightsHash).then((c) => {
      if (!stale) setCounting({ weightsHash, counting: c });
    });
    return () => {
      stale = true;
    };
  }, [weightsHash, Boolean(chosen)]);

  useEffect(() => {
    if (current?.model && choices?.some((c) => c.model === current.model)) setModel(current.model);
    // (A conversation just created may not be listed yet: its settings are the ones already shown.)
    if (currentId === undefined || current) setSettingsDraft(settingsText(current?.settings));
    stickToBottom.current = true;
    setEditing(undefined);
  }, [currentId]);

  // The message box grows with its text up to a share of the window, then scrolls inside.
  useLayoutEffect(() => {
    const box = inputRef.current;
    if (!box) return;
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, Math.round(window.innerHeight * PROMPT_MAX_HEIGHT_SHARE))}px`;
  }, [draft]);

  // The new-chat shortcut and Esc (stop the answer) work anywhere on the chat page, not only in the message box.
  useEffect(() => {
    const onShortcut = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented && busyRef.current) {
        // (An Escape a field or dialog already used, to cancel a rename, is not also a Stop.)
        e.preventDefault();
        busyRef.current.abort();
        return;
      }
      if (!isNewChatShortcut(e)) return;
      e.preventDefault();
      newChatRef.current();
    };
    document.addEventListener("keydown", onShortcut);
    return () => document.removeEventListener("keydown", onShortcut);
  }, []);

  // Follows the end of the log; on updatedAt too, since an answer's receipt and speed lines arrive after its last text.
  useEffect(() => {
    const log = logRef.current;
    // An empty conversation starts at the top, where the first visit's explanation begins.
    if (log && stickToBottom.current) log.scrollTop = current?.messages.length ? log.scrollHeight : 0;
  }, [currentId, current?.messages.length, current?.messages[current.messages.length - 1]?.content, current?.updatedAt]);

  const persist = async (conversation: Conversation) => {
    conversation.updatedAt = Date.now();
    setConversations((all) => [conversation, ...all.filter((c) => c.id !== conversation.id)]);
    await history?.save(conversation);
  };

  /** The conversation a new message joins: the current one when it is with the chosen model. */
  const joined = current && current.model === model ? current : undefined;
  const systemPrompt = settings.ok ? settings.value.systemPrompt : undefined;
  const countedDraft = useSettled(draft, draft.length > LONG_DRAFT_CHARS ? DRAFT_COUNT_PAUSE_MS : 0);
  const fitted = useMemo(
    () => (maxTokens.ok && countedDraft.trim() && countedDraft.trim().length <= MAX_PROMPT_CHARS ? fitHistory(joined?.messages ?? [], countedDraft.trim(), { contextLength, maxTokens: maxTokens.value, systemPrompt, countTokens }) : undefined),
    [joined, countedDraft, contextLength, maxTokens.ok && maxTokens.value, systemPrompt, countTokens],
  );

  /** Keeps the settings typed: with the current conversation at once (so a reload keeps them), else for the next new chat. */
  const changeSettings = (text: ChatSettingsText) => {
    setSettingsDraft(text);
    const parsed = parseChatSettings(text);
    if (!parsed.ok || !current) return;
    const updated = { ...current, settings: parsed.value };
    setConversations((all) => all.map((c) => (c.id === updated.id ? updated : c)));
    void history?.save(updated);
  };

  /**
   * Sends a turn: a new question (the draft), a question asked again (`retryOf`: the answer it
   * replaces, which stays when it may have been paid for), or an edited question (`editOf`: that
   * question, which with everything after it is kept on the page as replaced, with its costs, and
   * never sent again).
   */
  const send = async (prompt: string, options: { retryOf?: StoredMessage; editOf?: StoredMessage } = {}) => {
    const { retryOf, editOf } = options;
    if (busy) return;
    setError(undefined);
    setNotice(undefined);
    const text = prompt.trim();
    if (!text) return setError(new PageError("Write a message first.", { code: "empty_prompt", hint: "Type your question in the message box, then press Send." }));
    if (text.length > MAX_PROMPT_CHARS) {
      return setError(new PageError(`Your message is ${text.length.toLocaleString()} characters; the limit is ${MAX_PROMPT_CHARS.toLocaleString()}.`, { code: "prompt_too_long", hint: "Shorten it or split it over several messages. Nothing was sent." }));
    }
    if (!model) return setError(new PageError("No model is on offer yet.", { code: "no_model", hint: "Start a provider (`gotong up` does), then reload." }));
    if (!maxTokens.ok) return setError(new PageError(maxTokens.error, { code: "invalid_parameter", hint: "Nothing was sent." }));
    if (!settings.ok) return setError(new PageError(settings.error, { code: "invalid_parameter", hint: "Fix it under Conversation settings. Nothing was sent." }));
    const conversation: Conversation = joined
      ? structuredClone(joined)
      : { id: newId(), title: text.slice(0, 60), model, createdAt: Date.now(), updatedAt: Date.now(), messages: [] };
    // The settings shown are the ones this turn uses, and the conversation keeps them.
    conversation.settings = settings.value;
    // What goes with this turn: the conversation before its question (for Ask again, before the question asked again).
    let earlier = conversation.messages;
    if (retryOf) {
      const at = conversation.messages.findIndex((m) => m.id === retryOf.id);
      let question = at - 1;
      while (question >= 0 && conversation.messages[question]!.role !== "user") question--;
      earlier = conversation.messages.slice(0, Math.max(0, question));
    }
    // An edited question of this conversation: what goes with it is what came before it.
    const editAt = editOf ? conversation.messages.findIndex((m) => m.id === editOf.id) : -1;
    if (editAt >= 0) earlier = conversation.messages.slice(0, editAt);
    const fit = fitHistory(earlier, text, { contextLength, maxTokens: maxTokens.value, systemPrompt: settings.value.systemPrompt, countTokens });
    if (!fit.ok) {
      const size = fit.counted
        ? `it is ${fit.messageTokens.toLocaleString()} tokens (counted with the model's tokenizer), the prompt up to ${fit.promptTokens.toLocaleString()} with the chat template`
        : `it may take up to ${fit.promptTokens.toLocaleString()} tokens (bounded by its bytes)`;
      return setError(
        new PageError(`This message is too long for this model: ${size}, and the model's ${contextLength?.toLocaleString()}-token context leaves room for ${fit.room.toLocaleString()} with a ${maxTokens.value.toLocaleString()}-token answer.`, {
          code: "context_length_exceeded",
          hint: "Shorten it, or lower Longest answer. Nothing was sent.",
        }),
      );
    }
    if (retryOf) {
      // An answer that never reached the gateway cost nothing: the new one takes its place. One
      // that did may have been charged, so it stays, with its cost once settled; a complete one
      // (Regenerate) always stays.
      if (!retryOf.requestId && retryOf.status !== "done") conversation.messages = conversation.messages.filter((m) => m.id !== retryOf.id);
    } else {
      // The edited question and what followed it stay on the page (their costs were paid) but leave the context.
      if (editAt >= 0) for (const m of conversation.messages.slice(editAt)) m.replaced = true;
      conversation.messages.push({ id: newId(), role: "user", content: text, createdAt: Date.now(), status: "done" });
    }
    const answer: StoredMessage = { id: newId(), role: "assistant", content: "", createdAt: Date.now(), status: "streaming", model, ...(fit.dropped > 0 ? { leftOut: fit.dropped } : {}) };
    conversation.messages.push(answer);
    stickToBottom.current = true;
    setLiveProblem(undefined);
    setCurrentId(conversation.id);
    await persist(conversation);
    if (editOf) setEditing(undefined);
    else if (!retryOf) setDraft("");
    const controller = new AbortController();
    setBusy(controller);
    let lastSave = Date.now();
    // Timed from Send, on this page's clock: what the person waited, whichever provider answered.
    const sentAt = performance.now();
    let firstTokenMs: number | undefined;
    // Settings changed while this answer streams are kept with the conversation, not overwritten by this turn's copy.
    const takeLatestSettings = () => {
      conversation.settings = conversationsRef.current.find((c) => c.id === conversation.id)?.settings ?? conversation.settings;
    };
    const update = () => {
      takeLatestSettings();
      setConversations((all) => all.map((c) => (c.id === conversation.id ? { ...conversation, messages: [...conversation.messages] } : c)));
    };
    try {
      const result = await sendSealedChat({
        model,
        messages: fit.messages,
        maxTokens: maxTokens.value,
        temperature: settings.value.temperature,
        topP: settings.value.topP,
        signal: controller.signal,
        checkKey: async (prepared) => {
          try {
            // The registry and chain the person pinned under Trust, else the gateway's (trustPins.ts).
            const target = trustTarget({ registry: config.contracts.providerRegistry, chainId: config.chainId });
            const check = await providerKeys.check({
              rpc: chainRpcUrl(config.defaultChainRpc),
              chainId: target.chainId,
              chainIdFrom: target.chainIdFrom,
              registry: target.registry,
              provider: prepared.provider,
              gatewayKey: prepared.hpkePublicKey,
              signal: controller.signal,
            });
            // The gateway's prepare said which chain the seal is bound to: it must be the one checked.
            if (prepared.chainId !== target.chainId) {
              const network = target.chainIdFrom === "pinned" ? "the chain you pinned" : "its network";
              throw new ProviderKeyError(`The gateway asked to seal for chain ${prepared.chainId}, and ${network} is chain ${target.chainId}. Nothing was sent.`, { code: "provider_key_mismatch" }, check);
            }
            setKeyCheck({ ok: true, check });
          } catch (e) {
            if (e instanceof ProviderKeyError) setKeyCheck({ ok: false, error: e });
            throw e;
          }
        },
        onPrepared: ({ requestId }) => {
          // Kept at once: if the page goes away mid-answer, this finds the answer's cost later.
          answer.requestId = requestId;
          void history?.save(conversation);
        },
        onDelta: (piece) => {
          const first = answer.content === "";
          if (firstTokenMs === undefined) firstTokenMs = performance.now() - sentAt;
          answer.content += piece;
          update();
          // Saved as it streams, so a reload or a closed tab keeps what had arrived.
          if (first || Date.now() - lastSave > SAVE_STREAMING_MS) {
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
      // Shown once, in the answer itself (with Ask again), not again in a banner.
      answer.error = explainChatError(e);
      // Announced at once, unless the person stopped it themselves.
      if (answer.error.code !== "aborted") setLiveProblem(answer.id);
      if (needsApiKey(e)) setNeedKey(true);
    } finally {
      if (firstTokenMs !== undefined) answer.timing = { firstTokenMs: Math.round(firstTokenMs), totalMs: Math.round(performance.now() - sentAt) };
      setBusy(undefined);
      takeLatestSettings();
      await persist(conversation);
      inputRef.current?.focus();
      void loadChoices();
      void loadBalance();
      void settleCosts();
    }
  };

  const stop = () => busy?.abort();

  const onKeyDown = (event: KeyboardEvent) => {
    // (Esc is the document's: it stops the answer from anywhere on the page.)
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send(draft);
    }
  };

  const newChat = () => {
    setCurrentId(undefined);
    setEditing(undefined);
    setError(undefined);
    setNotice(undefined);
    setLiveProblem(undefined);
    inputRef.current?.focus();
  };
  // The document's shortcut listener is added once; it calls the newChat of the latest render.
  const newChatRef = useRef(newChat);
  newChatRef.current = newChat;

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

  const importRef = useRef<HTMLInputElement>(null);
  /** Reads a history file chosen by the person: checked whole first (importHistory.ts), so a bad file changes nothing. */
  const importFile = async (file: File) => {
    setError(undefined);
    setNotice(undefined);
    if (file.size > MAX_HISTORY_FILE_BYTES) {
      return setError(new PageError(`This file is ${formatCount(file.size)} bytes; a chat history import takes at most ${formatCount(MAX_HISTORY_FILE_BYTES)}.`, { code: "history_file_invalid", hint: "Nothing was imported; your conversations are as they were." }));
    }
    const read = parseHistoryFile(await file.text());
    if (!read.ok) return setError(new PageError(read.error, { code: "history_file_invalid", hint: "Nothing was imported; your conversations are as they were." }));
    const { add, skipped } = mergeImported(conversationsRef.current, read.conversations);
    for (const c of add) await history?.save(c);
    setConversations((all) => [...all, ...add].sort((a, b) => b.updatedAt - a.updatedAt));
    setNotice(`Imported ${add.length} conversation${add.length === 1 ? "" : "s"}${skipped ? ` (${skipped} already here, skipped)` : ""}.`);
  };

  const rename = async (id: string, title: string) => {
    const c = conversationsRef.current.find((x) => x.id === id);
    if (!c) return;
    // Renaming is not activity: the list keeps its order (updatedAt stays).
    const renamed = { ...c, title };
    setConversations((all) => all.map((x) => (x.id === id ? renamed : x)));
    await history?.save(renamed);
    setNotice(`Renamed to "${title}".`);
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

  const tooLong = draft.trim().length > MAX_PROMPT_CHARS;
  const unreachable = modelsError !== undefined && !needKey;
  const lastIndex = (current?.messages.length ?? 0) - 1;
  const maxTokensMost = contextLength !== undefined ? contextLength - 1 : MAX_TOKENS_UNKNOWN_CONTEXT;

  return h(
    "div",
    { class: "chat" },
    h(
      "div",
      { class: "chat-main" },
      needKey ? h(ApiKeyField, { rejected: true, onSaved: () => void loadChoices() }) : null,
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
            choices === undefined ? h("option", { value: "" }, "Loading models…") : choices.length === 0 ? h("option", { value: "" }, modelsError ? "Models could not be loaded" : "No model on offer") : null,
            (choices ?? []).map((c) => h("option", { key: c.model, value: c.model }, choiceLabel(c, unreachable))),
          ),
          // The gateway cannot be reached: said once, here, with a way to ask again (it is also asked every 30 s).
          unreachable ? h(Pending, { failed: true, error: modelsError, what: "the models on offer", retry: () => void loadChoices() }) : null,
          chosen && !unreachable
            ? h(
                "p",
                { class: "fine", id: "model-price" },
                `From ${formatOffer(chosen.input, chosen.output, config.token)}`,
                chosen.contextLength !== undefined ? ` · ${formatCount(chosen.contextLength)}-token context` : "",
                chosen.capabilities.length > 0 ? ` · ${chosen.capabilities.join(", ")}` : "",
              )
            : null,
        ),
        h(
          "div",
          { class: "field field-small" },
          h("label", { for: "max-tokens" }, "Longest answer (tokens)"),
          h("input", {
            id: "max-tokens",
            type: "number",
            inputMode: "numeric",
            min: 1,
            max: maxTokensMost,
            value: maxTokensText,
            "aria-invalid": maxTokens.ok ? undefined : "true",
            "aria-describedby": "max-tokens-help",
            onInput: (e: Event) => setMaxTokensText((e.target as HTMLInputElement).value),
          }),
          h(
            "p",
            { class: maxTokens.ok ? "fine" : "fine danger", id: "max-tokens-help" },
            maxTokens.ok
              ? contextLength !== undefined
                ? `Up to ${formatCount(maxTokensMost)}: the answer and the conversation share this model's ${formatCount(contextLength)}-token context.`
                : `Up to ${formatCount(maxTokensMost)}.`
              : `${maxTokens.error}${contextLength !== undefined ? ` This model has a ${formatCount(contextLength)}-token context.` : ""}`,
          ),
        ),
        h(ChatSettingsFields, { text: settingsDraft, onChange: changeSettings, problem: settings.ok ? undefined : settings }),
        h(TrustPanel, { state: keyCheck, defaultRpc: config.defaultChainRpc, gateway: { registry: config.contracts.providerRegistry, chainId: config.chainId } }),
      ),
      // Outside the controls, which scroll on a small screen: what the conversation cost and what
      // the paying account holds stay in view.
      h(
        "p",
        { class: "fine chat-spend", "data-testid": "chat-spend" },
        h("span", { "data-testid": "conversation-cost" }, `This conversation: ${formatAmount(conversationCost(current), config.token)}`),
        balance !== undefined
          ? [" · paying account ", h("code", { title: `The gateway's account ${payer}` }, shortHex(payer)), " holds ", h("span", { "data-testid": "wallet-balance" }, formatAmount(balance, config.token, config.token.decimals))]
          : null,
      ),
      h(
        "div",
        {
          class: "messages",
          ref: logRef,
          role: "log",
          "aria-live": "polite",
          "aria-label": "Conversation",
          tabIndex: 0,
          onScroll: (e: Event) => {
            const el = e.currentTarget as HTMLDivElement;
            stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX;
          },
        },
        h(
          "ol",
          { class: "message-list" },
          current && current.messages.length > 0
            ? current.messages.map((m, i) =>
                h(MessageView, {
                  key: m.id,
                  message: m,
                  live: m.id === liveProblem,
                  // A complete answer with a newer one to the same question below it (Regenerate).
                  regenerated: m.role === "assistant" && m.status === "done" && !m.replaced && current.messages[i + 1]?.role === "assistant",
                  // Only the conversation's last answer can be asked again (or regenerated): a new answer goes below it.
                  onRetry: i === lastIndex && m.role === "assistant" && m.status !== "streaming" && !busy && current.messages.slice(0, i).some((x) => x.role === "user" && !x.replaced)
                    ? () => void send([...current.messages.slice(0, i)].reverse().find((x) => x.role === "user" && !x.replaced)!.content, { retryOf: m })
                    : undefined,
                  // Any question not already replaced can be edited: the edit is sent as a new turn from there.
                  onEdit: m.role === "user" && !m.replaced && !busy && !editing ? () => setEditing({ id: m.id, text: m.content }) : undefined,
                  edit:
                    editing?.id === m.id
                      ? {
                          text: editing.text,
                          onChange: (text: string) => setEditing({ id: m.id, text }),
                          onSave: () => void send(editing.text, { editOf: m }),
                          onCancel: () => setEditing(undefined),
                          busy: !!busy,
                        }
                      : undefined,
                }),
              )
            : h(
                "li",
                { class: "empty" },
                // In the empty log (not above the page): the first visit's explanation never pushes the composer down.
                h(Welcome, { tokenSymbol: config.token.symbol }),
                h("p", null, "Ask anything. Your message is sealed in this browser to the provider's key (HPKE); the gateway pays for it without being able to read it."),
              ),
        ),
      ),
      h(Notice, { error, notice, onDismiss: error ? () => setError(undefined) : undefined }),
      h(
        "form",
        { class: "composer", onSubmit: (e: Event) => { e.preventDefault(); void send(draft); } },
        h("label", { for: "prompt", class: "visually-hidden" }, "Message"),
        h("textarea", {
          id: "prompt",
          ref: inputRef,
          rows: 2,
          value: draft,
          placeholder: "Message (Enter to send, Shift+Enter for a new line, Esc to stop)",
          "aria-describedby": "prompt-count",
          "aria-invalid": tooLong || (fitted && !fitted.ok) ? "true" : undefined,
          onInput: (e: Event) => setDraft((e.target as HTMLTextAreaElement).value),
          onKeyDown,
        }),
        h(
          "div",
          { class: "composer-row" },
          h(
            "span",
            { id: "prompt-count", class: tooLong || (fitted && !fitted.ok) ? "fine danger" : "fine" },
            `${draft.trim().length.toLocaleString()} / ${MAX_PROMPT_CHARS.toLocaleString()} characters`,
            fitted && !fitted.ok && !tooLong ? " · too long for this model's context" : "",
            // The message's own tokens: counted by the model's tokenizer in this page, or bounded by bytes (and why).
            // (Not for a message over the character limit: that limit refuses it first.)
            fitted && !tooLong
              ? h(
                  "span",
                  { "data-testid": "message-tokens", "data-counted": String(fitted.counted) },
                  fitted.counted
                    ? ` · ${formatCount(fitted.messageTokens)} token${fitted.messageTokens === 1 ? "" : "s"} (counted)`
                    : ` · up to ${formatCount(fitted.messageTokens)} tokens (bounded by bytes${boundedBecause ? `: ${boundedBecause}` : ""})`,
                )
              : null,
            // What this turn takes of the context: earlier turns as their receipts counted them, the rest bounded (fitHistory).
            fitted?.ok && contextLength !== undefined && maxTokens.ok
              ? h("span", { "data-testid": "context-use" }, ` · at most ${formatCount(fitted.promptTokens)} + ${formatCount(maxTokens.value)} (answer) of ${formatCount(contextLength)} tokens`)
              : null,
            fitted?.ok && fitted.dropped > 0
              ? h("span", { "data-testid": "context-trimmed" }, ` · ${fitted.dropped} earlier message${fitted.dropped === 1 ? " is" : "s are"} left out to fit the model's context`)
              : null,
          ),
          // Two different buttons (keyed), never one that changes type under the click: a Stop
          // button turned into Send mid-click would submit the form, sending the next draft.
          busy
            ? h("button", { key: "stop", type: "button", class: "button", onClick: stop }, "Stop")
            : h("button", { key: "send", type: "submit", class: "button primary" }, "Send"),
        ),
      ),
    ),
    h(
      "aside",
      { class: "chat-side", "aria-label": "Conversations" },
      h("button", { type: "button", class: "button", onClick: newChat, "aria-keyshortcuts": "Control+Shift+O Meta+Shift+O", title: "New chat (Ctrl+Shift+O)" }, "New chat"),
      h(ConversationList, { conversations, currentId, onSelect: setCurrentId, onRename: (id: string, title: string) => void rename(id, title), onDelete: (id: string) => void deleteOne(id) }),
      h(
        "div",
        { class: "side-actions" },
        h("button", { type: "button", class: "link", onClick: exportAll, disabled: conversations.length === 0 }, "Export history"),
        h("button", { type: "button", class: "link", onClick: () => importRef.current?.click() }, "Import history"),
        h("input", {
          ref: importRef,
          type: "file",
          accept: "application/json,.json",
          class: "visually-hidden",
          tabIndex: -1,
          "aria-label": "Import history file",
          "data-testid": "import-file",
          onChange: (e: Event) => {
            const input = e.target as HTMLInputElement;
            const file = input.files?.[0];
            input.value = "";
            if (file) void importFile(file);
          },
        }),
        h("button", { type: "button", class: "link danger", onClick: () => void deleteAll(), disabled: conversations.length === 0 }, "Delete all"),
      ),
      h("p", { class: "fine" }, "History stays in this browser only. Messages leave it sealed to the provider; the gateway relays ciphertext."),
    ),
  );
}
