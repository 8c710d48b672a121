import { h } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { getJson } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { formatAmount, formatBps, formatPrice, formatTime, shortHex } from "../lib/format.ts";
import { DataTable, Notice, Section } from "../lib/ui.ts";
import { encodeCall } from "../wallet/encodeCall.ts";
import { EarningsChart, type EarningsSeries } from "./EarningsChart.ts";

type Model = {
  modelId: string; name: string; owner: string; weightsHash: string; license?: string; royaltyBps: number; providers: number;
  requests: number; inputTokens: string; outputTokens: string; paid: string; royalties: string; unwithdrawnRoyalties: string;
};
type Provider = {
  address: string; endpoint: string; active: boolean; stake: string; offers: { model: string; pricePerMillionInput: string; pricePerMillionOutput: string }[];
  latencyMs?: number; receiptsAccepted: number; excluded: boolean; earned: string; unwithdrawnEarnings: string;
};
type Channel = {
  channelId: string; provider: string; model: string; epoch: string; state: "open" | "closing" | "withdrawable" | "withdrawn";
  deposit: string; redeemed: string; spent: string; unspent: string; closesAt: number;
};
type Earnings = { creators: EarningsSeries[]; providers: EarningsSeries[] };

function ChannelsSection() {
  const { config, wallet, connect } = useContext(AppContext);
  const [channels, setChannels] = useState<Channel[]>();
  const [balance, setBalance] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [working, setWorking] = useState<string>();
  const account = wallet?.address ?? config.localWallet?.address ?? config.gatewayAccount;

  const load = async () => {
    try {
      const [list, acct] = await Promise.all([
        getJson<{ data: Channel[] }>(`/gotong/web/channels?account=${account}`),
        getJson<{ balance: string }>(`/gotong/web/account?address=${account}`),
      ]);
      setChannels(list.data);
      setBalance(acct.balance);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [account]);

  const act = async (channel: Channel, action: "close" | "withdraw") => {
    setError(undefined);
    setNotice(undefined);
    setWorking(`${action}:${channel.channelId}`);
    try {
      const w = wallet ?? (await connect());
      const signature = action === "close" ? "startClose(bytes32)" : "withdraw(bytes32)";
      await w.send({ to: config.contracts.paymentChannels, data: encodeCall(signature, [{ type: "bytes32", value: channel.channelId }]), what: action === "close" ? "closing the channel" : "withdrawing the channel" });
      setNotice(
        action === "close"
          ? `Closing started. The provider has until the end of the challenge period to redeem what you owe; then withdraw the rest.`
          : `Withdrawn: the unspent deposit returned to ${shortHex(w.address)}.`,
      );
    } catch (e) {
      setError(e);
    } finally {
      setWorking(undefined);
      await load();
    }
  };

  return h(
    Section,
    { title: "Your channels", id: "channels", actions: h("button", { type: "button", class: "link", onClick: () => void load() }, "Refresh") },
    h("p", { class: "fine" }, "Account ", h("code", null, shortHex(account)), balance !== undefined ? h("span", { "data-testid": "account-balance" }, ` holds ${formatAmount(balance, config.token)}`) : null, "."),
    h(Notice, { error, notice, onDismiss: () => setError(undefined) }),
    channels === undefined
      ? h("p", null, "Loading…")
      : channels.length === 0
        ? h("p", { class: "fine" }, "No payment channels yet: the gateway opens one with a provider on your first chat with it.")
        : h(
            DataTable,
            { label: "Your payment channels", columns: ["Provider", "Model", "Deposit", "Spent", "Unspent", "State", ""] },
            channels.map((c) =>
              h(
                "tr",
                { key: c.channelId, "data-channel": c.channelId, "data-state": c.state },
                h("td", null, h("code", { title: c.provider }, shortHex(c.provider))),
                h("td", null, c.model),
                h("td", null, formatAmount(c.deposit, config.token)),
                h("td", null, formatAmount(c.spent, config.token)),
                h("td", { "data-testid": "channel-unspent" }, formatAmount(c.unspent, config.token)),
                h("td", null, c.state === "closing" ? `closing until ${formatTime(c.closesAt)}` : c.state),
                h(
                  "td",
                  null,
                  c.state === "open"
                    ? h("button", { type: "button", class: "button", disabled: !!working, onClick: () => void act(c, "close"), "aria-label": `Close the channel with ${shortHex(c.provider)} for ${c.model}` }, working === `close:${c.channelId}` ? "Closing…" : "Close")
                    : c.state === "withdrawable"
                      ? h("button", { type: "button", class: "button primary", disabled: !!working, onClick: () => void act(c, "withdraw"), "aria-label": `Withdraw the unspent deposit of the channel with ${shortHex(c.provider)}` }, working === `withdraw:${c.channelId}` ? "Withdrawing…" : "Withdraw")
                      : null,
                ),
              ),
            ),
          ),
  );
}

/** The network at a glance: models, providers, your channels, and earnings over time. */
export function ExplorerPage() {
  const { config } = useContext(AppContext);
  const [data, setData] = useState<{ models: Model[]; providers: Provider[] }>();
  const [earnings, setEarnings] = useState<Earnings>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    getJson<{ models: Model[]; providers: Provider[] }>("/gotong/web/explorer").then(setData, setError);
    getJson<Earnings>("/gotong/web/earnings").then(setEarnings, setError);
  }, []);
  const token = config.token;
  return h(
    "div",
    { class: "stack" },
    h(Notice, { error }),
    h(
      Section,
      { title: "Models", id: "models" },
      data === undefined
        ? h("p", null, "Loading…")
        : h(
            DataTable,
            { label: "Models", columns: ["Model", "Owner", "Weights hash", "Licence", "Royalty", "Providers", "Requests here", "Paid on-chain", "Royalties earned"] },
            data.models.map((m) =>
              h(
                "tr",
                { key: m.modelId },
                h("th", { scope: "row" }, `${m.name} #${m.modelId}`),
                h("td", null, h("code", { title: m.owner }, shortHex(m.owner))),
                h("td", null, h("code", { title: m.weightsHash }, shortHex(m.weightsHash, 6))),
                h("td", null, m.license ?? "not held here"),
                h("td", null, formatBps(m.royaltyBps)),
                h("td", null, String(m.providers)),
                h("td", null, `${m.requests} (${m.inputTokens} in / ${m.outputTokens} out)`),
                h("td", null, formatAmount(m.paid, token)),
                h("td", null, `${formatAmount(m.royalties, token)}${m.unwithdrawnRoyalties !== "0" ? ` (${formatAmount(m.unwithdrawnRoyalties, token)} to withdraw)` : ""}`),
              ),
            ),
          ),
    ),
    h(
      Section,
      { title: "Providers", id: "providers" },
      data === undefined
        ? h("p", null, "Loading…")
        : h(
            DataTable,
            { label: "Providers", columns: ["Provider", "Stake", "Offers (in / out)", "Latency", "Reputation here", "Earned"] },
            data.providers.map((p) =>
              h(
                "tr",
                { key: p.address },
                h("th", { scope: "row" }, h("code", { title: `${p.address} at ${p.endpoint}` }, shortHex(p.address)), p.active ? "" : " (inactive)"),
                h("td", null, formatAmount(p.stake, token)),
                h("td", null, p.offers.map((o) => h("div", { key: o.model }, `${o.model}: ${formatPrice(o.pricePerMillionInput, token)} / ${formatPrice(o.pricePerMillionOutput, token)}`))),
                h("td", null, p.latencyMs === undefined ? "no answer" : `${p.latencyMs} ms`),
                h("td", null, p.excluded ? "excluded: sent a bad receipt" : `${p.receiptsAccepted} receipts checked, none refused`),
                h("td", null, formatAmount(p.earned, token)),
              ),
            ),
          ),
    ),
    h(ChannelsSection, null),
    h(
      Section,
      { title: "Earnings over time", id: "earnings" },
      earnings === undefined
        ? h("p", null, "Loading…")
        : h(
            "div",
            { class: "charts" },
            h("h3", null, "Creators (royalties)"),
            h(EarningsChart, { title: "Creators' royalties, cumulative", series: earnings.creators, token, id: "chart-creators" }),
            h("h3", null, "Providers"),
            h(EarningsChart, { title: "Providers' earnings, cumulative", series: earnings.providers, token, id: "chart-providers" }),
          ),
    ),
  );
}
