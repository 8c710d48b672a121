import { h } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatAmount, formatTime, shortHex } from "../lib/format.ts";

/** One creator's or provider's cumulative earnings (base units, decimal strings) at block times (unix seconds). */
export type EarningsSeries = { key: string; label: string; points: { time: number; total: string }[] };

const COLOURS = ["#0b6bcb", "#b5470b", "#1a7f37", "#8250df", "#bf3989", "#57606a"];
const COLOURS_DARK = ["#6cb2ff", "#ff9b5e", "#6fdc8c", "#c4a5ff", "#ff85c0", "#b0b8c1"];
/** The chart's height in CSS pixels: enough for a few ticks on a phone, small beside the tables. */
const CHART_HEIGHT = 220;

/**
 * Every series on one time axis (uPlot's aligned data): the times at which anyone's total changed,
 * and each series' running total at each of them. The exact totals (bigint strings) are kept
 * beside the numbers uPlot draws with, so a hovered value is shown to the base unit, not rounded
 * through floating point.
 */
export function alignSeries(series: EarningsSeries[], decimals: number): { times: number[]; values: number[][]; exact: string[][] } {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.time)))].sort((a, b) => a - b);
  // Starts a little before the first payment, at zero, so a single payment still shows as a step.
  const first = times[0]!;
  const span = times[times.length - 1]! - first;
  times.unshift(first - Math.max(60, Math.round(span * 0.05)));
  const unit = 10 ** decimals;
  const exact = series.map((s) => {
    let at = 0;
    let total = "0";
    return times.map((t) => {
      while (at < s.points.length && s.points[at]!.time <= t) total = s.points[at++]!.total;
      return total;
    });
  });
  // The only place an amount becomes a float: a pixel position.
  const values = exact.map((column) => column.map((v) => Number(BigInt(v)) / unit));
  return { times, values, exact };
}

/** The font of the axes' labels and titles: 12 CSS pixels, readable on a phone. */
const AXIS_FONT = "12px system-ui, sans-serif";

/** One tick label as drawn: its text and where it spans along its axis, in CSS pixels of the canvas. */
export type DrawnTick = { label: string; from: number; to: number };

/**
 * The tick labels uPlot drew on each axis, with the space each takes along it from the canvas's
 * left or top edge (measured in the axis font), written on the chart's element as `data-x-ticks` and `data-y-ticks` (JSON) beside
 * `data-axis-font`: a canvas has no text to read, and this is what a person sees on it, for the
 * browser tests to check (enough ticks, no overlap on a phone). uPlot keeps the labels it drew in
 * `_splits` and `_values`, which its types leave out.
 */
function recordTicks(u: uPlot, el: HTMLElement): void {
  u.ctx.save();
  u.ctx.font = AXIS_FONT;
  const drawn = u.axes.map((axis, i) => {
    const { _splits: splits = [], _values: values = [] } = axis as uPlot.Axis & { _splits?: number[]; _values?: (string | number | null)[] };
    const scale = i === 0 ? "x" : "y";
    const ticks: DrawnTick[] = [];
    values.forEach((value, j) => {
      if (value == null) return;
      const label = String(value);
      const lines = label.split("\n");
      // valToPos counts from the plotting area's edge; the area starts after the other axis.
      const at = u.valToPos(splits[j]!, scale) + (parseFloat(i === 0 ? u.over.style.left : u.over.style.top) || 0);
      // Along x a label is centred on its tick and as wide as its widest line; along y it is as tall as its lines.
      const extent = i === 0 ? Math.max(...lines.map((line) => u.ctx.measureText(line).width)) : lines.length * 12;
      ticks.push({ label, from: Math.round(at - extent / 2), to: Math.round(at + extent / 2) });
    });
    return ticks;
  });
  u.ctx.restore();
  el.dataset.xTicks = JSON.stringify(drawn[0] ?? []);
  el.dataset.yTicks = JSON.stringify(drawn[1] ?? []);
  el.dataset.axisFont = AXIS_FONT;
  el.dataset.yUnit = String(u.axes[1]?.label ?? "");
}

/** The page's colours, read from its stylesheet, so the chart follows light and dark. */
function themeColours(el: Element) {
  const style = getComputedStyle(el);
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  return { fg: style.getPropertyValue("--fg").trim() || "#1b1f24", muted: style.getPropertyValue("--muted").trim() || "#4d5661", line: style.getPropertyValue("--line").trim() || "#d0d7de", series: dark ? COLOURS_DARK : COLOURS };
}

/**
 * Cumulative earnings over time as a step chart drawn by uPlot (bundled; a canvas, no other
 * origin): time and amount axes with ticks, and the value of every series under the pointer in
 * the legend, exact to the base unit. The same numbers are in a table for screen readers and for
 * anyone who prefers figures.
 */
export function EarningsChart(props: { title: string; series: EarningsSeries[]; token: { decimals: number; symbol: string }; id: string }) {
  const { series, token } = props;
  const box = useRef<HTMLDivElement>(null);
  const label = (s: EarningsSeries) => (s.label.startsWith("0x") ? shortHex(s.label) : s.label);

  useEffect(() => {
    const el = box.current;
    if (!el || series.length === 0) return;
    const { times, values, exact } = alignSeries(series, token.decimals);
    const colours = themeColours(el);
    const axis = { stroke: colours.muted, grid: { stroke: colours.line, width: 1 }, ticks: { stroke: colours.line, width: 1 }, font: AXIS_FONT };
    const width = () => Math.max(240, Math.floor(el.clientWidth));
    const plot = new uPlot(
      {
        width: width(),
        height: CHART_HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
        axes: [
          { ...axis, space: 80 },
          { ...axis, size: 64, label: token.symbol, labelSize: 18, labelFont: AXIS_FONT, values: (_u, splits) => splits.map((v) => v.toLocaleString("en-US", { maximumFractionDigits: Math.min(6, token.decimals) })) },
        ],
        cursor: { points: { size: 8 }, drag: { x: false, y: false } },
        legend: { live: true },
        hooks: { draw: [(u) => recordTicks(u, el)] },
        series: [
          { label: "Time", value: (_u, v) => (v == null ? "latest" : formatTime(v)) },
          ...series.map((s, i) => ({
            label: label(s),
            stroke: colours.series[i % colours.series.length],
            width: 2.5,
            paths: uPlot.paths.stepped!({ align: 1 }),
            // The exact amount at the hovered time (the cursor's index), never the float drawn.
            value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => formatAmount(exact[i]![idx ?? times.length - 1]!, token),
          })),
        ],
      },
      [times, ...values],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: CHART_HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, token.decimals, token.symbol]);

  if (series.length === 0) return h("p", { class: "fine" }, "No earnings redeemed on-chain yet. Providers redeem vouchers in batches; this fills in when they do.");
  return h(
    "figure",
    { class: "chart" },
    // The canvas says nothing to a screen reader: the caption and the table below say it all.
    h("div", { ref: box, class: "chart-plot", "aria-hidden": "true", "data-testid": "chart-plot" }),
    h(
      "figcaption",
      { id: `${props.id}-caption` },
      `${props.title}: `,
      series.map((s) => h("span", { key: s.key, class: "legend" }, `${label(s)} ${formatAmount(s.points[s.points.length - 1]!.total, token)}`)),
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
