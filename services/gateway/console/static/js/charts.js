// Chart.js (vendored, see ../vendor/SOURCE.md) with the console's palette and defaults.
// Tests read what a chart holds through Chart.getChart(canvas).data, never its pixels.
// The library (200 kB) is loaded only when a page that draws is first opened, so the
// pages without charts (the anomaly list, budgets, live alerts) do not wait for it.

import { currency } from "./format.js";

// Okabe-Ito: distinguishable with every common colour-vision deficiency, on light and dark.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"];
export const colour = (i) => PALETTE[i % PALETTE.length];

const live = new Set();
const LIBRARY = new URL("../vendor/chart.umd.min.js", import.meta.url).href;
let loading = null;

/** Load Chart.js once (a same-origin script, as the CSP allows); resolves when it is ready. */
export function loadChart() {
  if (window.Chart) return Promise.resolve();
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = LIBRARY;
    script.onload = () => resolve();
    script.onerror = () => {
      script.remove();
      loading = null; // the next page that draws tries again
      reject(new Error("the chart library could not be loaded"));
    };
    document.head.append(script);
  });
  return loading;
}

/** Destroy every chart of the previous page (called on each navigation). */
export function destroyAll() {
  for (const chart of live) chart.destroy();
  live.clear();
}

function ink() {
  const style = getComputedStyle(document.documentElement);
  return { fg: style.getPropertyValue("--fg").trim(), line: style.getPropertyValue("--line").trim() };
}

/** A canvas in a sized box, named for tests and screen readers. */
export function canvas(name, label) {
  const el = document.createElement("canvas");
  el.dataset.chart = name;
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", label);
  const box = document.createElement("div");
  box.className = "chart";
  box.append(el);
  return { box, el };
}

/** A Chart.js chart with the console's colours; money on the value axis unless `plain`. */
export function draw(el, config, { money = "USD", plain = false } = {}) {
  if (!window.Chart) throw new Error("the chart library could not be loaded");
  const { fg, line } = ink();
  const own = config.options || {};
  const valueAxis = own.indexAxis === "y" ? "x" : "y";
  const scales = { x: { ticks: { color: fg }, grid: { color: line } }, y: { ticks: { color: fg }, grid: { color: line } } };
  if (!plain) scales[valueAxis].ticks.callback = (v) => currency(v, money, 0);
  for (const [k, v] of Object.entries(own.scales || {})) scales[k] = { ...scales[k], ...v, ticks: { ...scales[k]?.ticks, ...v.ticks } };
  const show = (c) => {
    const v = Array.isArray(c.raw) ? c.raw : [c.parsed[valueAxis]];
    return `${c.dataset.label}: ${v.map((x) => (plain ? x : currency(x, money))).join(" – ")}`;
  };
  const options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    ...own,
    // A band's lower edge is drawn but not listed: the legend names the band once.
    plugins: { legend: { labels: { color: fg, filter: (item) => !/ low$/.test(item.text) } }, tooltip: { callbacks: { label: show } }, ...own.plugins },
    scales,
  };
  const chart = new window.Chart(el, { ...config, options });
  live.add(chart);
  return chart;
}

/** Dataset for a shaded interval: `upper` filled down to the dataset just before it. */
export function band(label, values, i, alpha = "33") {
  return {
    label, data: values, borderWidth: 0, pointRadius: 0, fill: "-1",
    backgroundColor: colour(i) + alpha, borderColor: colour(i) + alpha, spanGaps: true,
  };
}

export function lower(label, values, i, alpha = "33") {
  return { label, data: values, borderWidth: 0, pointRadius: 0, fill: false, borderColor: colour(i) + alpha, spanGaps: true };
}
