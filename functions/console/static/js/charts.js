// Two small charts drawn as SVG by hand: a latency sparkline with its figures, and deliveries per hour (or day) by
// status. Plain SVG keeps the console free of a vendored library and of inline styles (colours come from
// console.css classes, which the Content-Security-Policy allows), and each chart carries a text alternative.

import { h, milliseconds, pad, s } from "./dom.js";

const OUTCOMES = [
  ["delivered", "Delivered"],
  ["retrying", "Retrying"],
  ["failed", "Failed"],
  ["pending", "Pending"],
  ["deferred", "Deferred"],
];

/** A sparkline of p95 latency per bucket (buckets without attempts leave gaps), with its lowest, highest and
 * latest values written beside it: a lone dot says nothing without a number. */
export function sparkline(series, { label }) {
  const values = (series || []).map((bucket) => (typeof bucket.p95_ms === "number" ? bucket.p95_ms : null));
  const known = values.filter((v) => v !== null);
  if (!known.length) return h("span", { class: "muted" }, "no attempts");
  const width = 120;
  const height = 28;
  const low = Math.min(...known);
  const top = Math.max(...known) || 1;
  const last = known[known.length - 1];
  const inset = 3; // room for the line's width and the dots at the edges
  const step = values.length > 1 ? (width - 2 * inset) / (values.length - 1) : 0;
  const svg = s("svg", { class: "sparkline", viewBox: `0 0 ${width} ${height}`, width, height, "aria-hidden": "true", focusable: "false" });
  let run = [];
  const flush = () => {
    if (run.length === 1) svg.append(s("circle", { cx: run[0][0], cy: run[0][1], r: 2.5, class: "spark-dot" }));
    if (run.length > 1) svg.append(s("polyline", { points: run.map((p) => p.join(",")).join(" "), class: "spark-line" }));
    run = [];
  };
  values.forEach((value, i) => {
    if (value === null) return flush();
    run.push([(inset + i * step).toFixed(1), (height - inset - (value / top) * (height - 2 * inset)).toFixed(1)]);
  });
  flush();
  const figures = known.length > 1 ? `last ${milliseconds(last)} · ${milliseconds(low)}–${milliseconds(top)}` : `${milliseconds(last)} (one hour with attempts)`;
  return h("span", { class: "spark", role: "img", "aria-label": `${label}: ${figures}` }, svg, h("span", { class: "spark-figures", "aria-hidden": "true" }, figures));
}

function bucketLabel(iso, bucket) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return String(iso);
  const day = `${pad(moment.getUTCMonth() + 1)}-${pad(moment.getUTCDate())}`;
  return bucket === "day" ? day : `${day} ${pad(moment.getUTCHours())}:00`;
}

function niceCeiling(value) {
  if (value <= 5) return Math.max(1, Math.ceil(value));
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= value);
}

/** Deliveries per bucket, stacked by status, with a legend and the same figures as a table. The y-axis is drawn
 * apart from the bars, so a narrow screen squeezes the bars and keeps the axis and its labels readable. */
export function deliveriesChart(stats) {
  const series = stats.series || [];
  const bucket = stats.bucket === "day" ? "day" : "hour";
  const height = 200;
  const headroom = 8; // room above the top mark's label
  const slot = 10; // the plot's own units per bucket, stretched to the width it gets
  const plotWidth = Math.max(1, series.length) * slot;
  const totals = series.map((b) => OUTCOMES.reduce((sum, [key]) => sum + (Number(b[key]) || 0), 0));
  const top = niceCeiling(Math.max(0, ...totals));
  const y = (value) => height - (value / top) * (height - headroom);
  const sum = totals.reduce((a, b) => a + b, 0);
  const marks = top >= 2 && top % 2 === 0 ? [0, top / 2, top] : [0, top];
  const axis = s("svg", { class: "y-axis", viewBox: `0 0 40 ${height}`, width: 40, height, "aria-hidden": "true", focusable: "false" });
  const plot = s("svg", {
    class: "bar-chart",
    viewBox: `0 0 ${plotWidth} ${height}`,
    preserveAspectRatio: "none",
    height,
    role: "img",
    "aria-label": `Deliveries per ${bucket} by status: ${sum} in all over ${series.length} ${bucket}s`,
  });
  for (const mark of marks) {
    axis.append(s("text", { x: 34, y: Math.min(height - 2, y(mark) + 4), class: "axis-label", "text-anchor": "end" }, String(Math.round(mark))));
    plot.append(s("line", { x1: 0, x2: plotWidth, y1: y(mark), y2: y(mark), class: "grid", "vector-effect": "non-scaling-stroke" }));
  }
  series.forEach((b, i) => {
    let base = 0;
    const group = s("g", { class: "bar" });
    const parts = [];
    for (const [key, name] of OUTCOMES) {
      const value = Number(b[key]) || 0;
      if (value) parts.push(`${value} ${name.toLowerCase()}`);
      if (!value) continue;
      group.append(s("rect", { x: (i * slot + 1.5).toFixed(1), y: y(base + value).toFixed(1), width: slot - 3, height: (y(base) - y(base + value)).toFixed(1), class: `fill-${key}` }));
      base += value;
    }
    group.prepend(s("title", {}, `${bucketLabel(b.start, bucket)} UTC: ${parts.join(", ") || "none"}`));
    plot.append(group);
  });
  const labelled = series.length > 1 ? [0, Math.floor((series.length - 1) / 2), series.length - 1] : series.length ? [0] : [];
  const xLabels = h("div", { class: "x-axis", "aria-hidden": "true" }, labelled.map((i) => h("span", {}, bucketLabel(series[i].start, bucket))));
  const legend = h(
    "ul",
    { class: "legend" },
    OUTCOMES.map(([key, name]) => h("li", {}, h("span", { class: `swatch fill-${key}`, "aria-hidden": "true" }), name)),
  );
  const table = h(
    "table",
    { class: "data" },
    h("caption", {}, `Deliveries per ${bucket} (UTC)`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, bucket === "day" ? "Day" : "Hour"), OUTCOMES.map(([, name]) => h("th", { scope: "col" }, name)), h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "p95"))),
    h(
      "tbody",
      {},
      series.map((b) =>
        h("tr", {}, h("th", { scope: "row" }, bucketLabel(b.start, bucket)), OUTCOMES.map(([key]) => h("td", { class: "num" }, String(Number(b[key]) || 0))), h("td", { class: "num" }, String(Number(b.attempts) || 0)), h("td", { class: "num" }, milliseconds(b.p95_ms))),
      ),
    ),
  );
  return h(
    "figure",
    { class: "chart" },
    h("div", { class: "chart-frame" }, axis, h("div", { class: "plot" }, plot, sum ? null : h("p", { class: "chart-empty" }, "No deliveries in this period")), h("span", {}), xLabels),
    h("figcaption", {}, legend),
    h("details", { class: "chart-table" }, h("summary", {}, "Show these figures as a table"), h("div", { class: "table-scroll", role: "region", "aria-label": `Deliveries per ${bucket}`, tabindex: "0" }, table)),
  );
}
