import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Conversation } from "./history.ts";

/** Whether a conversation matches what was typed in the search box: its title or any message, ignoring case. */
export function matchesSearch(c: Conversation, query: string): boolean {
  const q = query.trim().toLocaleLowerCase();
  if (!q) return true;
  return c.title.toLocaleLowerCase().includes(q) || c.messages.some((m) => m.content.toLocaleLowerCase().includes(q));
}

/** The longest title kept, in characters. */
const MAX_TITLE_CHARS = 120;

/**
 * The conversations kept in this browser: a search over their titles and messages, and for each
 * one, open, rename (in place: Enter saves, Escape cancels) and delete.
 */
export function ConversationList(props: {
  conversations: Conversation[];
  currentId: string | undefined;
  onSelect: (id: string) => void;
  onRename: (id: string, title: string) => void;
  onDelete: (id: string) => void;
}) {
  const [query, setQuery] = useState("");
  const [renaming, setRenaming] = useState<string>();
  const [title, setTitle] = useState("");
  const renameRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (renaming) renameRef.current?.select();
  }, [renaming]);

  const shown = props.conversations.filter((c) => matchesSearch(c, query));
  const startRename = (c: Conversation) => {
    setRenaming(c.id);
    setTitle(c.title);
  };
  const finishRename = (save: boolean) => {
    const id = renaming;
    setRenaming(undefined);
    const text = title.trim().slice(0, MAX_TITLE_CHARS);
    if (save && id && text) props.onRename(id, text);
  };

  return h(
    "div",
    { class: "conversations" },
    props.conversations.length > 0
      ? h(
          "div",
          { class: "field conversation-search" },
          h("label", { for: "conversation-search" }, "Search conversations"),
          h("input", { id: "conversation-search", type: "search", value: query, onInput: (e: Event) => setQuery((e.target as HTMLInputElement).value), "aria-describedby": "conversation-search-count" }),
          h("p", { class: "fine", id: "conversation-search-count", "aria-live": "polite" }, query.trim() ? (shown.length === 0 ? "No conversation matches." : `${shown.length} of ${props.conversations.length} match.`) : ""),
        )
      : null,
    h(
      "ul",
      { class: "conversation-list" },
      shown.map((c) =>
        h(
          "li",
          { key: c.id, class: c.id === props.currentId ? "current" : "" },
          renaming === c.id
            ? h(
                "form",
                { class: "rename", onSubmit: (e: Event) => { e.preventDefault(); finishRename(true); } },
                h("label", { for: `rename-${c.id}`, class: "visually-hidden" }, "New title"),
                h("input", {
                  id: `rename-${c.id}`,
                  ref: renameRef,
                  value: title,
                  maxLength: MAX_TITLE_CHARS,
                  onInput: (e: Event) => setTitle((e.target as HTMLInputElement).value),
                  onKeyDown: (e: KeyboardEvent) => {
                    if (e.key === "Escape") {
                      e.preventDefault();
                      finishRename(false);
                    }
                  },
                }),
                h("button", { type: "submit", class: "link" }, "Save"),
                h("button", { type: "button", class: "link", onClick: () => finishRename(false) }, "Cancel"),
              )
            : [
                h("button", { type: "button", class: "conversation", "aria-current": c.id === props.currentId ? "true" : undefined, onClick: () => props.onSelect(c.id) }, c.title || "Untitled"),
                h("button", { type: "button", class: "icon", "aria-label": `Rename conversation "${c.title}"`, title: "Rename", onClick: () => startRename(c) }, "✎"),
                h("button", { type: "button", class: "icon", "aria-label": `Delete conversation "${c.title}"`, title: "Delete", onClick: () => props.onDelete(c.id) }, "×"),
              ],
        ),
      ),
    ),
  );
}
