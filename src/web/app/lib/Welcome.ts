import { h } from "preact";
import { useState } from "preact/hooks";

const STORAGE_KEY = "gotong.welcomeDismissed";

/** Whether this browser has dismissed the welcome (storage blocked: shown each visit, which is harmless). */
function dismissed(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) === "1";
  } catch {
    return false;
  }
}

/**
 * The first visit's explanation: what Gotong is and where the money of a chat goes. Shown until
 * dismissed, then remembered in this browser (nothing is sent anywhere).
 */
export function Welcome(props: { tokenSymbol: string }) {
  const [hidden, setHidden] = useState(dismissed);
  if (hidden) return null;
  const dismiss = () => {
    try {
      localStorage.setItem(STORAGE_KEY, "1");
    } catch {
      // storage blocked: hidden for this visit only
    }
    setHidden(true);
  };
  return h(
    "section",
    { class: "welcome", "aria-labelledby": "welcome-title", "data-testid": "welcome" },
    h("h2", { id: "welcome-title" }, "Welcome to Gotong"),
    h("p", null, "Gotong is an open network for AI that nobody owns. People publish open models, others run them on their own machines, and you chat with them here. Your messages are sealed in this browser to the machine that runs the model, so the gateway in between cannot read them; your conversations stay in this browser."),
    h("p", null, `Who is paid, per token, in ${props.tokenSymbol}, from the gateway's paying account (its balance shows above the conversation; each answer shows its cost and signed receipt):`),
    h(
      "ul",
      null,
      h("li", null, h("strong", null, "The provider"), " that ran the model, at the price it offers (shown by the model picker)."),
      h("li", null, h("strong", null, "The model's creator"), ", a royalty share set by the model's licence terms, paid by the contract to whoever owns the model."),
      h("li", null, h("strong", null, "Open-source AI"), ": a small protocol fee goes to a funding pool, matched in quadratic-funding rounds (the Funding page)."),
    ),
    h("button", { type: "button", class: "button primary", onClick: dismiss }, "Got it"),
  );
}
