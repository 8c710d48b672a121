import { describe, expect, it } from "vitest";
import { MAX_SYSTEM_PROMPT_CHARS, parseChatSettings, settingsText } from "./chatSettings.ts";

describe("parseChatSettings: a conversation's system prompt, temperature and top-p as typed", () => {
  it("reads numbers and a trimmed prompt, and leaves blank fields unset so the provider's defaults apply", () => {
    expect(parseChatSettings({ systemPrompt: "  Be brief.  ", temperature: "0.2", topP: "" })).toEqual({ ok: true, value: { systemPrompt: "Be brief.", temperature: 0.2 } });
    expect(parseChatSettings({ systemPrompt: "", temperature: "", topP: "1" })).toEqual({ ok: true, value: { topP: 1 } });
    expect(parseChatSettings({ systemPrompt: " ", temperature: " ", topP: "" })).toEqual({ ok: true, value: {} });
  });

  it("refuses values outside the API's ranges, naming the field", () => {
    expect(parseChatSettings({ systemPrompt: "", temperature: "2.5", topP: "" })).toMatchObject({ ok: false, field: "temperature" });
    expect(parseChatSettings({ systemPrompt: "", temperature: "", topP: "-0.1" })).toMatchObject({ ok: false, field: "topP" });
    expect(parseChatSettings({ systemPrompt: "", temperature: "warm", topP: "" })).toMatchObject({ ok: false, field: "temperature" });
    expect(parseChatSettings({ systemPrompt: "x".repeat(MAX_SYSTEM_PROMPT_CHARS + 1), temperature: "", topP: "" })).toMatchObject({ ok: false, field: "systemPrompt" });
  });

  it("round-trips stored settings into the fields", () => {
    const value = { systemPrompt: "Answer in French.", temperature: 0, topP: 0.9 };
    expect(parseChatSettings(settingsText(value))).toEqual({ ok: true, value });
    expect(settingsText(undefined)).toEqual({ systemPrompt: "", temperature: "", topP: "" });
  });
});
