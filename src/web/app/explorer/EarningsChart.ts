import { h } from "preact";
import { formatAmount, formatTime, shortHex } from "../lib/format.ts";

/** One creator's or provider's cumulative earnings (base units, decimal strings) at block times (unix seconds). */
export type EarningsSeries = { key: string; label: string; points: { time: number; total: string }[] };

const COLOURS = ["#0b6bcb", "#b5470b", "#1a7f37", "#8250df", "#bf3989", "#57606a"];

/**
 * Cumulative earnings over time as a small SVG line chart, with the same numbers in a table for
 * screen readers and for anyone who prefers figures. Amounts stay bigint until the pixel: the
 * y position is the only place a ratio becomes a number.
 */
export function EarningsChart(props: { title: string; series: EarningsSeries[]; token: { decimals: number; symbol: string }; id: string }) {
  const { series, token } = props;
  if (series.length === 0) return h("p", { class: "fine" }, "No earnings redeemed on-chain yet. Providers redeem vouchers in batches; this fills in when they do.");
  const times = series.flatMap((s) => s.points.map((p) => p.time));
  const last = Math.max(...times);
  // Start a little before the first payment so a single one still shows as a step.
  const t0 = Math.min(...times) - Math.max(60, Math.round((last - Math.min(...times)) * 0.05));
  const t1 = last;
  const max = series.flatMap((s) => s.points.map((p) => BigInt(p.total))).reduce((a, b) => (a > b ? a : b), 1n);
  const W = 600;
  const H = 200;
  const padX = 8;
  const padTop = 22;
  const padBottom = 22;
  const x = (t: number) => padX + ((t - t0) / (t1 - t0)) * (W - 2 * padX);
  const y = (v: bigint) => H - padBottom - (Number((v * 10_000n) / max) / 10_000) * (H - padTop - padBottom);
  const label = (s: EarningsSeries) => (s.label.startsWith("0x") ? shortHex(s.label) : s.label);
  return h(
    "figure",
    { class: "chart" },
    h(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${props.id}-caption` },
      h("line", { x1: padX, y1: H - padBottom, x2: W - padX, y2: H - padBottom, class: "axis" }),
      h("text", { x: padX, y: 14, class: "tick" }, formatAmount(max, token)),
      h("text", { x: padX, y: H - 6, class: "tick" }, formatTime(t0)),
      h("text", { x: W - padX, y: H - 6, class: "tick", "text-anchor": "end" }, formatTime(t1)),
      series.map((s, i) => {
        // A step line: earnings change only when a voucher is redeemed, and hold until the next.
        let d = `M${x(t0).toFixed(1)},${y(0n).toFixed(1)}`;
        for (const p of s.points) d += ` H${x(p.time).toFixed(1)} V${y(BigInt(p.total)).toFixed(1)}`;
        d += ` H${x(t1).toFixed(1)}`;
        return h("path", { key: s.key, d, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 2.5, "vector-effect": "non-scaling-stroke" });
      }),
    ),
    h(
      "figcaption",
      { id: `${props.id}-caption` },
      `${props.title}: `,
      series.map((s, i) =>
        h("span", { key: s.key, class: "legend" }, h("span", { class: "swatch", style: { background: COLOURS[i % COLOURS.length] } }), `${label(s)} ${formatAmount(s.points[s.points.length - 1]!.total, token)}`),
      ),
    ),
    h(
      "details",
      null,
      h("summary", null, "Show the figures"),
      h(
        "table",
        null,
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Total earned"))),
        h("tbody", null, series.flatMap((s) => s.points.map((p, j) => h("tr", { key: `${s.key}-${j}` }, h("td", null, label(s)), h("td", null, formatTime(p.time)), h("td", null, formatAmount(p.total, token)))))),
      ),
    ),
  );
}
