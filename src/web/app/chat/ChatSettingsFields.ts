import { h } from "preact";
import type { ChatSettingsText } from "./chatSettings.ts";

/** The closed panel's summary: what is set, so a conversation's settings are visible without opening it. */
function summary(text: ChatSettingsText): string {
  const set = [
    text.systemPrompt.trim() ? "system prompt" : "",
    text.temperature.trim() ? `temperature ${text.temperature.trim()}` : "",
    text.topP.trim() ? `top-p ${text.topP.trim()}` : "",
  ].filter(Boolean);
  return set.length === 0 ? "provider defaults" : set.join(", ");
}

/**
 * A conversation's system prompt, temperature and top-p, folded away by default (most turns never
 * need them). Blank means the provider's default; what is typed is checked by parseChatSettings.
 *
 * @param problem the field that does not parse and why, shown under it
 */
export function ChatSettingsFields(props: { text: ChatSettingsText; onChange: (text: ChatSettingsText) => void; problem?: { field: keyof ChatSettingsText; error: string } }) {
  const { text, problem } = props;
  const set = (field: keyof ChatSettingsText) => (e: Event) => props.onChange({ ...text, [field]: (e.target as HTMLInputElement | HTMLTextAreaElement).value });
  const invalid = (field: keyof ChatSettingsText) => (problem?.field === field ? { "aria-invalid": "true", "aria-describedby": "settings-problem" } : {});
  return h(
    "details",
    { class: "chat-settings", open: problem ? true : undefined },
    h("summary", null, "Conversation settings", h("span", { class: "fine", "data-testid": "settings-summary" }, ` (${summary(text)})`)),
    h(
      "div",
      { class: "chat-settings-fields" },
      h(
        "div",
        { class: "field field-wide" },
        h("label", { for: "system-prompt" }, "System prompt"),
        h("textarea", { id: "system-prompt", rows: 2, value: text.systemPrompt, placeholder: "Instructions the model gets before every message of this conversation", onInput: set("systemPrompt"), ...invalid("systemPrompt") }),
      ),
      h(
        "div",
        { class: "field field-small" },
        h("label", { for: "temperature" }, "Temperature (0–2)"),
        h("input", { id: "temperature", type: "number", inputMode: "decimal", min: 0, max: 2, step: 0.1, value: text.temperature, placeholder: "default", onInput: set("temperature"), ...invalid("temperature") }),
      ),
      h(
        "div",
        { class: "field field-small" },
        h("label", { for: "top-p" }, "Top-p (0–1)"),
        h("input", { id: "top-p", type: "number", inputMode: "decimal", min: 0, max: 1, step: 0.05, value: text.topP, placeholder: "default", onInput: set("topP"), ...invalid("topP") }),
      ),
      h("p", { class: problem ? "fine danger" : "fine", id: "settings-problem" }, problem ? problem.error : "Kept with this conversation in this browser and sent, sealed, with each of its messages. Empty: the provider's default."),
    ),
  );
}
