import { h } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { getJson } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import { Notice, Pending, Section } from "../lib/ui.ts";
import { injectedProvider } from "../wallet/wallet.ts";
import { ChannelsSection } from "./ChannelsSection.ts";
import { EarningsChart, type EarningsSeries } from "./EarningsChart.ts";
import { ModelsSection } from "./ModelsSection.ts";
import { ProvidersSection } from "./ProvidersSection.ts";
import type { Model, Provider } from "./types.ts";

type Earnings = { creators: EarningsSeries[]; providers: EarningsSeries[] };

/** The network at a glance: models, providers, your channels, and earnings over time. */
export function ExplorerPage() {
  const { config, wallet } = useContext(AppContext);
  const [data, setData] = useState<{ models: Model[]; providers: Provider[] }>();
  const [earnings, setEarnings] = useState<Earnings>();
  const [error, setError] = useState<unknown>();
  // Which reads failed: their sections then say so instead of "Loading…" for ever.
  const [failed, setFailed] = useState<{ explorer?: boolean; earnings?: boolean }>({});
  const reload = () =>
    getJson<{ models: Model[]; providers: Provider[] }>("/gotong/web/explorer").then(
      (d) => {
        setData(d);
        setFailed((f) => ({ ...f, explorer: false }));
      },
      (e) => {
        setError(e);
        setFailed((f) => ({ ...f, explorer: true }));
      },
    );
  const loadEarnings = () =>
    getJson<Earnings>("/gotong/web/earnings").then(
      (e) => {
        setEarnings(e);
        setFailed((f) => ({ ...f, earnings: false }));
      },
      (e) => {
        setError(e);
        setFailed((f) => ({ ...f, earnings: true }));
      },
    );
  const retry = () => {
    setError(undefined);
    void reload();
    void loadEarnings();
  };
  useEffect(() => {
    void reload();
    void loadEarnings();
  }, []);
  const token = config.token;
  // Who withdraws: the connected wallet; before one is connected, the local key when it is the only wallet.
  const viewer = wallet?.address ?? (injectedProvider() ? undefined : config.localWallet?.address);
  return h(
    "div",
    { class: "stack" },
    h(Notice, { error }),
    h(ModelsSection, { models: data?.models, failed: failed.explorer, retry, viewer, reload }),
    h(ProvidersSection, { providers: data?.providers, failed: failed.explorer, retry, viewer, reload }),
    h(ChannelsSection, null),
    h(
      Section,
      { title: "Earnings over time", id: "earnings" },
      earnings === undefined
        ? h(Pending, { failed: failed.earnings, what: "the earnings", retry })
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
