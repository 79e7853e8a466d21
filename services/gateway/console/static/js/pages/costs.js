// Costs: daily cost stacked by service, account or usage type over a date range, with
// totals and a CSV download of exactly the points drawn.

import { pages } from "../api.js";
import { canvas, colour, draw } from "../charts.js";
import { field, fill, h, select, table } from "../dom.js";
import { addDays, currency, day, startOfDay } from "../format.js";

// Stacks beyond this many are summed into "other" so the chart stays readable.
const STACKS = 8;
const GROUPS = { service: "service", account: "account_id", usage_type: "usage_type" };

function csv(points) {
  const quote = (v) => (v === null || v === undefined ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const cols = ["period_start", "account_id", "service", "usage_type", "cost", "currency", "series_id"];
  return [cols.join(","), ...points.map((p) => cols.map((c) => quote(p[c])).join(","))].join("\n") + "\n";
}

function stacked(points, by) {
  const key = GROUPS[by];
  const totals = new Map();
  for (const p of points) totals.set(p[key], (totals.get(p[key]) || 0) + p.cost);
  const ranked = [...totals].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const shown = new Set(ranked.slice(0, STACKS - (ranked.length > STACKS ? 1 : 0)));
  const labels = [...new Set(points.map((p) => day(p.period_start)))].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  const series = new Map();
  for (const p of points) {
    const name = shown.has(p[key]) ? p[key] : "other";
    if (!series.has(name)) series.set(name, new Array(labels.length).fill(0));
    series.get(name)[index.get(day(p.period_start))] += p.cost;
  }
  const order = [...ranked.filter((k) => shown.has(k)), ...(series.has("other") ? ["other"] : [])];
  return { labels, totals, datasets: order.map((name, i) => ({ label: name, data: series.get(name), backgroundColor: colour(i), stack: "cost" })) };
}

export async function render(root, { params, go }) {
  const by = GROUPS[params.get("by")] ? params.get("by") : "service";
  const form = h("form", { class: "filters", "aria-label": "Cost filters" },
    field("Stack by", select("by", [["service", "service"], ["account", "account"], ["usage_type", "usage type"]], by)),
    field("Account", h("input", { name: "account", value: params.get("account") || "", placeholder: "12 digits", size: 14 })),
    field("Service", h("input", { name: "service", value: params.get("service") || "", size: 14 })),
    field("From (UTC)", h("input", { type: "date", name: "start", value: params.get("start") || "" })),
    field("To (UTC, inclusive)", h("input", { type: "date", name: "end", value: params.get("end") || "" })),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go(Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== "")));
  });
  const slot = h("div", { id: "costs" });
  root.append(h("h1", {}, "Costs"), h("p", { class: "hint" }, "Daily cost from the latest CUR delivery, by UTC day. Regions and cost-allocation tags will appear here once the costs API carries them."), form, slot);
  await fill(slot, async () => {
    const q = { granularity: "daily", level: by, account: params.get("account"), service: params.get("service") };
    if (params.get("start")) q.start = startOfDay(params.get("start"));
    if (params.get("end")) q.end = startOfDay(addDays(params.get("end"), 1));
    const { items, truncated } = await pages("/v1/costs", q);
    if (!items.length) return h("p", { class: "state empty" }, "No costs in this range.");
    const money = items[0].currency;
    const { labels, datasets, totals } = stacked(items, by);
    const { box, el } = canvas("costs", `Daily cost stacked by ${by}`);
    draw(el, { type: "bar", data: { labels, datasets }, options: { scales: { x: { stacked: true }, y: { stacked: true } } } }, { money });
    const sum = items.reduce((s, p) => s + p.cost, 0);
    const link = h("a", { href: URL.createObjectURL(new Blob([csv(items)], { type: "text/csv" })), download: `spendstream-costs-${labels[0]}-${labels.at(-1)}.csv`, id: "costs-csv" }, "Download CSV");
    return [
      h("p", { class: "totals", id: "costs-total" }, `Total ${currency(sum, money)} · ${labels[0]} to ${labels.at(-1)} (UTC) · ${labels.length} days`),
      truncated ? h("p", { class: "error" }, "Only the first 10,000 points are shown: narrow the date range.") : null,
      box,
      h("p", {}, link),
      table([by, { v: "Total", num: true }, { v: "Share", num: true }],
        [...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k ?? "—", { v: currency(v, money), num: true }, { v: `${((v / sum) * 100).toFixed(1)}%`, num: true }])),
    ];
  });
}
