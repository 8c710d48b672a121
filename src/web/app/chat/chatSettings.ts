import type { ChatSettings } from "./history.ts";

/** A conversation's settings as the person types them: every field is text until it is checked. */
export type ChatSettingsText = { systemPrompt: string; temperature: string; topP: string };

/** The longest system prompt accepted, in characters (it goes with every turn, so it shares the context). */
export const MAX_SYSTEM_PROMPT_CHARS = 4_000;

/** The fields for a conversation's settings; a conversation without any starts empty (provider defaults). */
export function settingsText(settings: ChatSettings | undefined): ChatSettingsText {
  return {
    systemPrompt: settings?.systemPrompt ?? "",
    temperature: settings?.temperature === undefined ? "" : String(settings.temperature),
    topP: settings?.topP === undefined ? "" : String(settings.topP),
  };
}

/**
 * Checks what was typed: a blank field means "not set" (the provider's default applies), a number
 * must be within the range the OpenAI API allows, which the provider also enforces.
 *
 * @returns the settings, or the first problem, naming the field
 * @example parseChatSettings({ systemPrompt: "Be brief.", temperature: "0.2", topP: "" }) // { ok: true, value: { systemPrompt: "Be brief.", temperature: 0.2 } }
 */
export function parseChatSettings(text: ChatSettingsText): { ok: true; value: ChatSettings } | { ok: false; field: keyof ChatSettingsText; error: string } {
  const value: ChatSettings = {};
  const systemPrompt = text.systemPrompt.trim();
  if (systemPrompt.length > MAX_SYSTEM_PROMPT_CHARS) {
    return { ok: false, field: "systemPrompt", error: `System prompt: ${systemPrompt.length.toLocaleString("en-US")} characters; the limit is ${MAX_SYSTEM_PROMPT_CHARS.toLocaleString("en-US")}.` };
  }
  if (systemPrompt) value.systemPrompt = systemPrompt;
  const ranges = [
    ["temperature", "Temperature", 2],
    ["topP", "Top-p", 1],
  ] as const;
  for (const [field, label, most] of ranges) {
    const t = text[field].trim();
    if (t === "") continue;
    const n = Number(t);
    if (!Number.isFinite(n) || n < 0 || n > most) return { ok: false, field, error: `${label}: enter a number from 0 to ${most}, or leave it empty for the provider's default.` };
    value[field] = n;
  }
  return { ok: true, value };
}
