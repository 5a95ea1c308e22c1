// Two small charts drawn as SVG by hand: a latency sparkline and deliveries per hour (or day) by outcome.
// Plain SVG keeps the console free of a vendored library and of inline styles (colours come from console.css
// classes, which the Content-Security-Policy allows), and each chart carries a text alternative.

import { h, milliseconds, pad, s } from "./dom.js";

const OUTCOMES = [
  ["delivered", "Delivered"],
  ["retrying", "Retrying"],
  ["failed", "Failed"],
];

/** A sparkline of p95 latency per bucket; buckets without attempts leave gaps. */
export function sparkline(series, { label }) {
  const values = (series || []).map((bucket) => (typeof bucket.p95_ms === "number" ? bucket.p95_ms : null));
  const known = values.filter((v) => v !== null);
  if (!known.length) return h("span", { class: "muted" }, "no attempts");
  const width = 120;
  const height = 28;
  const top = Math.max(...known) || 1;
  const inset = 3; // room for the line's width and the dots at the edges
  const step = values.length > 1 ? (width - 2 * inset) / (values.length - 1) : 0;
  const svg = s("svg", {
    class: "sparkline",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": `${label}: ${milliseconds(Math.min(...known))} to ${milliseconds(top)}`,
  });
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
  return svg;
}

function bucketLabel(iso, bucket) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return String(iso);
  const day = `${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}`;
  return bucket === "day" ? day : `${day} ${pad(moment.getHours())}:00`;
}

function niceCeiling(value) {
  if (value <= 5) return Math.max(1, Math.ceil(value));
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= value);
}

/** Deliveries per bucket, stacked by outcome, with a legend and the same figures as a table. */
export function deliveriesChart(stats) {
  const series = stats.series || [];
  const bucket = stats.bucket === "day" ? "day" : "hour";
  const width = 720;
  const height = 240;
  const left = 44;
  const bottom = 28;
  const plotHeight = height - bottom - 12;
  const plotWidth = width - left - 8;
  const totals = series.map((b) => OUTCOMES.reduce((sum, [key]) => sum + (Number(b[key]) || 0), 0));
  const top = niceCeiling(Math.max(0, ...totals));
  const slot = plotWidth / Math.max(1, series.length);
  const barWidth = Math.max(1, slot * 0.72);
  const y = (value) => 12 + plotHeight - (value / top) * plotHeight;
  const sum = totals.reduce((a, b) => a + b, 0);
  const svg = s("svg", {
    class: "bar-chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Deliveries per ${bucket} by outcome: ${sum} in all over ${series.length} ${bucket}s`,
  });
  const marks = top >= 2 && top % 2 === 0 ? [0, top / 2, top] : [0, top];
  for (const mark of marks) {
    svg.append(
      s("line", { x1: left, x2: width - 8, y1: y(mark), y2: y(mark), class: "grid" }),
      s("text", { x: left - 6, y: y(mark) + 4, class: "axis-label", "text-anchor": "end" }, String(Math.round(mark))),
    );
  }
  series.forEach((b, i) => {
    const x = left + i * slot + (slot - barWidth) / 2;
    let base = 0;
    const group = s("g", { class: "bar" });
    const parts = [];
    for (const [key, name] of OUTCOMES) {
      const value = Number(b[key]) || 0;
      parts.push(`${value} ${name.toLowerCase()}`);
      if (!value) continue;
      group.append(s("rect", { x: x.toFixed(1), y: y(base + value).toFixed(1), width: barWidth.toFixed(1), height: (y(base) - y(base + value)).toFixed(1), class: `fill-${key}` }));
      base += value;
    }
    group.prepend(s("title", {}, `${bucketLabel(b.start, bucket)}: ${parts.join(", ")}`));
    svg.append(group);
  });
  if (!sum) {
    svg.append(s("text", { x: left + plotWidth / 2, y: 12 + plotHeight / 2, class: "chart-empty", "text-anchor": "middle" }, "No deliveries in this period"));
  }
  const labelled = series.length > 1 ? [0, Math.floor((series.length - 1) / 2), series.length - 1] : [0];
  for (const i of series.length ? labelled : []) {
    const x = left + i * slot + slot / 2;
    const anchor = i === 0 ? "start" : i === series.length - 1 ? "end" : "middle";
    svg.append(s("text", { x: x.toFixed(1), y: height - 8, class: "axis-label", "text-anchor": anchor }, bucketLabel(series[i].start, bucket)));
  }
  const legend = h(
    "ul",
    { class: "legend" },
    OUTCOMES.map(([key, name]) => h("li", {}, h("span", { class: `swatch fill-${key}`, "aria-hidden": "true" }), name)),
  );
  const table = h(
    "table",
    { class: "data" },
    h("caption", {}, `Deliveries per ${bucket}`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, bucket === "day" ? "Day" : "Hour"), OUTCOMES.map(([, name]) => h("th", { scope: "col" }, name)), h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "p95"))),
    h(
      "tbody",
      {},
      series.map((b) =>
        h("tr", {}, h("th", { scope: "row" }, bucketLabel(b.start, bucket)), OUTCOMES.map(([key]) => h("td", { class: "num" }, String(Number(b[key]) || 0))), h("td", { class: "num" }, String(Number(b.attempts) || 0)), h("td", { class: "num" }, milliseconds(b.p95_ms))),
      ),
    ),
  );
  // Where the chart is wider than the screen, it scrolls; keep the newest buckets (the right end) in view.
  const scroller = h("div", { class: "chart-scroll" }, svg);
  new ResizeObserver(() => {
    scroller.scrollLeft = scroller.scrollWidth;
  }).observe(scroller);
  return h(
    "figure",
    { class: "chart" },
    scroller,
    h("figcaption", {}, legend),
    h("details", { class: "chart-table" }, h("summary", {}, "Show these figures as a table"), h("div", { class: "table-scroll" }, table)),
  );
}
