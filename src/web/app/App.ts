import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ChatPage } from "./chat/ChatPage.ts";
import { ExplorerPage } from "./explorer/ExplorerPage.ts";
import { FundingPage } from "./funding/FundingPage.ts";
import { getJson } from "./lib/api.ts";
import { AppContext, type NetworkConfig } from "./lib/context.ts";
import { shortHex } from "./lib/format.ts";
import { Notice } from "./lib/ui.ts";
import { connectWallet, injectedProvider, type Wallet } from "./wallet/wallet.ts";

const PAGES = [
  { path: "chat", title: "Chat", view: ChatPage },
  { path: "explorer", title: "Explorer", view: ExplorerPage },
  { path: "funding", title: "Funding", view: FundingPage },
] as const;

/** The page the location's hash names, or the chat. */
function currentPage(): (typeof PAGES)[number] {
  const path = location.hash.replace(/^#\/?/, "");
  return PAGES.find((p) => p.path === path) ?? PAGES[0];
}

/** The whole page: a header with navigation and the wallet, and the current view. */
export function App() {
  const [config, setConfig] = useState<NetworkConfig>();
  const [bootError, setBootError] = useState<unknown>();
  const [page, setPage] = useState(currentPage);
  const [wallet, setWallet] = useState<Wallet>();
  const [walletError, setWalletError] = useState<unknown>();
  const mainRef = useRef<HTMLElement>(null);

  const loadConfig = () => getJson<NetworkConfig>("/gotong/web/config").then(setConfig, setBootError);
  useEffect(() => {
    void loadConfig();
    const onHash = () => {
      setPage(currentPage());
      mainRef.current?.focus();
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    document.title = `${page.title} · Gotong`;
  }, [page]);

  if (!config) {
    return h(
      "main",
      { class: "boot" },
      bootError ? [h(Notice, { error: bootError }), h("button", { type: "button", class: "button", onClick: () => { setBootError(undefined); void loadConfig(); } }, "Try again")] : h("p", null, "Loading Gotong…"),
    );
  }

  const connect = async (): Promise<Wallet> => {
    setWalletError(undefined);
    try {
      const w = await connectWallet({ chainId: config.chainId, localWallet: config.localWallet !== null });
      setWallet(w);
      return w;
    } catch (e) {
      setWalletError(e);
      throw e;
    }
  };
  const walletLabel = wallet ? `${shortHex(wallet.address)} · ${wallet.kind === "local" ? "local key" : "browser wallet"}` : injectedProvider() ? "Connect wallet" : config.localWallet ? "Use local key" : "No wallet";

  return h(
    AppContext.Provider,
    { value: { config, wallet, connect } },
    h("a", { href: "#main", class: "skip", onClick: (e: Event) => { e.preventDefault(); mainRef.current?.focus(); } }, "Skip to content"),
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", href: "#/chat" }, "Gotong"),
      h(
        "nav",
        { "aria-label": "Main" },
        h("ul", null, PAGES.map((p) => h("li", { key: p.path }, h("a", { href: `#/${p.path}`, "aria-current": p === page ? "page" : undefined }, p.title)))),
      ),
      h("button", { type: "button", class: "button wallet", onClick: () => void connect().catch(() => {}), disabled: !injectedProvider() && !config.localWallet, "data-testid": "wallet" }, walletLabel),
    ),
    walletError ? h("div", { class: "banner" }, h(Notice, { error: walletError, onDismiss: () => setWalletError(undefined) })) : null,
    h("main", { id: "main", ref: mainRef, tabIndex: -1, class: `page page-${page.path}` }, h("h1", { class: page.path === "chat" ? "visually-hidden" : "" }, page.title), h(page.view, null)),
    h("footer", { class: "foot" }, `Chain ${config.chainId} · ${config.token.symbol} · `, h("span", null, "Prompts are sealed in this browser (HPKE) before they leave it.")),
  );
}
