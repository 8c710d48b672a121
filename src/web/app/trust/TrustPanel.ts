import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../lib/api.ts";
import { shortHex } from "../lib/format.ts";
import { chainRpcUrl, parseChainRpc, saveChainRpc, savedChainRpc, syncChainRpcCookie } from "./chainRpc.ts";
import type { KeyCheck, ProviderKeyError } from "./checkProviderKey.ts";
import { KEY_CHECK_TTL_MS } from "./keyCheckCache.ts";
import { keyFingerprint } from "./keyFingerprint.ts";
import { parseTrustPins, saveTrustPins, savedTrustPins, trustTarget, type TrustSource } from "./trustPins.ts";

/** The last check of a provider's key: passed, or refused (with what was compared). */
export type KeyCheckState = { ok: true; check: KeyCheck } | { ok: false; error: ProviderKeyError } | undefined;

/** One key as the panel shows it: its fingerprint, the full key on hover and for screen readers. */
function Key(props: { value: string | undefined; testid: string }) {
  if (!props.value) return h("span", null, "not read");
  return h("code", { "data-testid": props.testid, title: props.value }, keyFingerprint(props.value));
}

/** Where a value the check uses came from, said plainly. */
function from(source: TrustSource): string {
  return source === "pinned" ? "pinned by you" : "from the gateway";
}

/**
 * "Trust you can check": the key the page seals to, where it was read (the gateway), whether the
 * chain holds the same key for that provider (read from this browser through the RPC the person
 * chose), the registry and chain it was read from (each pinned by the person or named by the
 * gateway, and said which: trustPins.ts), the RPC and pin settings, and plainly what sealing
 * protects and what it does not.
 */
export function TrustPanel(props: { state: KeyCheckState; defaultRpc: string | null; gateway: { registry: string; chainId: number } }) {
  const { state } = props;
  const rpc = chainRpcUrl(props.defaultRpc);
  const [rpcText, setRpcText] = useState(savedChainRpc() ?? props.defaultRpc ?? "");
  const [rpcError, setRpcError] = useState<string>();
  const target = trustTarget(props.gateway);
  const [pinText, setPinText] = useState(() => {
    const pins = savedTrustPins();
    return { registry: pins.registry ?? "", chainId: pins.chainId !== undefined ? String(pins.chainId) : "" };
  });
  const [pinError, setPinError] = useState<{ field: "registry" | "chainId"; error: string }>();
  // A saved RPC whose origin the gateway no longer knows (cookie cleared): tell it, then reload so the policy allows it.
  useEffect(() => {
    if (syncChainRpcCookie()) location.reload();
  }, []);

  const save = (e: Event) => {
    e.preventDefault();
    const text = rpcText.trim();
    if (text === "" || text === props.defaultRpc) {
      saveChainRpc(undefined);
      return location.reload();
    }
    const parsed = parseChainRpc(text);
    if (!parsed.ok) return setRpcError(parsed.error);
    saveChainRpc(parsed.url);
    // The page's security policy, which must allow the new origin, is set when the page loads.
    location.reload();
  };

  const savePins = (e: Event) => {
    e.preventDefault();
    const parsed = parseTrustPins(pinText);
    if (!parsed.ok) return setPinError(parsed);
    saveTrustPins(parsed.pins);
    // Reloaded as for the RPC, so no check made against the values before is shown as current.
    location.reload();
  };

  const mismatch = state && !state.ok && state.error.code === "provider_key_mismatch";
  const status = !state ? "not checked yet: checked before a message is sent" : state.ok ? "matches the chain" : mismatch ? "DOES NOT match the chain: sending blocked" : "could not be checked: sending blocked";
  const check = state ? (state.ok ? state.check : state.error.check) : undefined;
  return h(
    "details",
    { class: "trust", open: state && !state.ok ? true : undefined, "data-testid": "trust" },
    h("summary", null, "Trust", h("span", { class: state && !state.ok ? "fine danger" : "fine", "data-testid": "trust-status" }, ` (provider key ${status})`)),
    h(
      "div",
      { class: "trust-body" },
      check
        ? h(
            "dl",
            { class: "trust-facts" },
            h("dt", null, "Provider"),
            h("dd", null, h("code", { title: check.provider }, shortHex(check.provider ?? ""))),
            h("dt", null, "Key the page seals to"),
            h("dd", null, h(Key, { value: check.gatewayKey, testid: "gateway-key" }), " read from the gateway (", h("code", null, location.origin), ")"),
            h("dt", null, "Key on the chain"),
            h(
              "dd",
              null,
              h(Key, { value: check.chainKey, testid: "chain-key" }),
              ` from ProviderRegistry `,
              h("code", { title: check.registry ?? target.registry }, shortHex(check.registry ?? target.registry)),
              ` on chain ${check.chainId ?? target.chainId}, read by this browser through `,
              h("code", null, check.rpc ?? "no RPC"),
              check.checkedAt ? ` at ${new Date(check.checkedAt).toLocaleTimeString()}` : "",
            ),
            state && !state.ok ? [h("dt", null, "Result"), h("dd", { class: "danger", "data-testid": "trust-problem" }, describeError(state.error).message)] : null,
          )
        : h("p", { class: "fine" }, `Before a message is sealed, this browser compares the key the gateway hands over with the provider's key on the chain, read through the RPC below (again every ${KEY_CHECK_TTL_MS / 60_000} minutes, and at once for a key not seen yet).`),
      h(
        "p",
        { class: "fine", "data-testid": "trust-target" },
        "Checked against ProviderRegistry ",
        h("code", { title: target.registry, "data-testid": "trust-registry" }, target.registry),
        ` (${from(target.registryFrom)}) on chain `,
        h("span", { "data-testid": "trust-chain-id" }, String(target.chainId)),
        ` (${from(target.chainIdFrom)}).`,
        target.registryFrom === "gateway" ? " A gateway that hands over its own key could name a registry of its own that holds it: pin the registry's address and chain from a source you trust (the project's published deployment) below." : "",
      ),
      h(
        "form",
        { class: "trust-rpc", onSubmit: save, noValidate: true },
        h(
          "div",
          { class: "field field-wide" },
          h("label", { for: "chain-rpc" }, "Chain RPC for the check"),
          h("input", {
            id: "chain-rpc",
            type: "url",
            value: rpcText,
            placeholder: "https://rpc.example.org",
            "aria-describedby": "chain-rpc-help",
            "aria-invalid": rpcError ? "true" : undefined,
            onInput: (e: Event) => {
              setRpcText((e.target as HTMLInputElement).value);
              setRpcError(undefined);
            },
          }),
          h(
            "p",
            { class: rpcError ? "fine danger" : "fine", id: "chain-rpc-help" },
            rpcError ??
              (rpc
                ? `Now: ${rpc}${savedChainRpc() ? "" : " (the local devnet)"}. This browser may connect to this origin and to the gateway, nowhere else. Saving reloads the page.`
                : "None set: messages cannot be sent until one is. Use an RPC of your own or one you trust, not the gateway's."),
          ),
        ),
        h("button", { type: "submit", class: "button" }, "Save RPC"),
      ),
      h(
        "form",
        { class: "trust-rpc", onSubmit: savePins, noValidate: true, "aria-label": "Registry and chain to check against" },
        h(
          "div",
          { class: "field field-wide" },
          h("label", { for: "trust-registry-pin" }, "ProviderRegistry address to check against"),
          h("input", {
            id: "trust-registry-pin",
            type: "text",
            value: pinText.registry,
            placeholder: props.gateway.registry,
            spellcheck: false,
            autocomplete: "off",
            "aria-describedby": "trust-pin-help",
            "aria-invalid": pinError?.field === "registry" ? "true" : undefined,
            onInput: (e: Event) => {
              setPinText({ ...pinText, registry: (e.target as HTMLInputElement).value });
              setPinError(undefined);
            },
          }),
        ),
        h(
          "div",
          { class: "field" },
          h("label", { for: "trust-chain-pin" }, "Chain id"),
          h("input", {
            id: "trust-chain-pin",
            type: "text",
            inputMode: "numeric",
            value: pinText.chainId,
            placeholder: String(props.gateway.chainId),
            "aria-describedby": "trust-pin-help",
            "aria-invalid": pinError?.field === "chainId" ? "true" : undefined,
            onInput: (e: Event) => {
              setPinText({ ...pinText, chainId: (e.target as HTMLInputElement).value });
              setPinError(undefined);
            },
          }),
        ),
        h("button", { type: "submit", class: "button" }, "Pin"),
        h(
          "p",
          { class: pinError ? "fine danger trust-pin-help" : "fine trust-pin-help", id: "trust-pin-help" },
          pinError?.error ?? `Empty: the gateway's values are used (registry ${props.gateway.registry}, chain ${props.gateway.chainId}). Pinned values are kept in this browser and used instead; a chain RPC that serves another chain than the pinned one blocks sending.`,
        ),
      ),
      h("h3", { class: "trust-heading" }, "What is protected"),
      h(
        "ul",
        { class: "fine trust-list" },
        h("li", null, "When the key matches the chain, the gateway cannot read your messages or the answers: they are sealed (HPKE) in this browser to the provider's key."),
        h("li", null, "Your conversations are kept only in this browser."),
      ),
      h("h3", { class: "trust-heading" }, "What is not"),
      h(
        "ul",
        { class: "fine trust-list" },
        h("li", null, "The gateway sees each message's length, when you send, the timing of each token of the answer, the model, and what it costs."),
        h("li", null, "The provider you are sealed to reads your message and its answer: it has to, to run the model."),
        h("li", null, "This page's code comes from the gateway. A gateway that serves a modified page could skip this check or send your messages elsewhere, and nothing on the page can show it: for a page independent of the gateway, open it from a gateway you run yourself."),
        target.registryFrom === "gateway" || target.chainIdFrom === "gateway"
          ? h("li", null, "Until you pin them above, the registry's address and the chain id come from the gateway too.")
          : null,
      ),
    ),
  );
}
