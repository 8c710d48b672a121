import { h } from "preact";
import { useState } from "preact/hooks";
import { readApiKey, saveApiKey } from "./apiKey.ts";
import { withCode } from "./ui.ts";

/**
 * Where a person enters the API key of a gateway started with `--keys` (it answers 401 without
 * one). The key stays in this browser (localStorage) and goes only to this gateway, as
 * `Authorization: Bearer`; `onSaved` runs once it is stored, to load again with it.
 */
export function ApiKeyField(props: { onSaved: () => void; rejected?: boolean }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<string>();
  const saved = readApiKey() !== undefined;
  const submit = (event: Event) => {
    event.preventDefault();
    if (!value.trim()) return setProblem("Enter the key first.");
    if (!saveApiKey(value)) return setProblem("This browser does not allow saving it (storage is blocked).");
    setProblem(undefined);
    setValue("");
    props.onSaved();
  };
  return h(
    "form",
    { class: "api-key card", onSubmit: submit, "aria-labelledby": "api-key-title" },
    h("h2", { id: "api-key-title" }, "This gateway needs an API key"),
    h(
      "p",
      { class: "fine" },
      props.rejected && saved ? "The key saved in this browser was refused. " : "",
      withCode("Its operator creates keys (`gotong gateway key create`). The key is kept in this browser only and sent to this gateway alone."),
    ),
    h(
      "div",
      { class: "api-key-row" },
      h("label", { for: "api-key" }, "Gateway API key"),
      h("input", {
        id: "api-key",
        type: "password",
        autocomplete: "off",
        value,
        "aria-invalid": problem ? "true" : undefined,
        "aria-describedby": problem ? "api-key-problem" : undefined,
        onInput: (e: Event) => setValue((e.target as HTMLInputElement).value),
      }),
      h("button", { type: "submit", class: "button primary" }, "Save key"),
      saved ? h("button", { type: "button", class: "link", onClick: () => { saveApiKey(""); props.onSaved(); } }, "Forget the saved key") : null,
    ),
    problem ? h("p", { id: "api-key-problem", class: "fine danger", role: "alert" }, problem) : null,
  );
}
