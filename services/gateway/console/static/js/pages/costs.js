// Costs: daily cost stacked by service, account, usage type or region over a date range, with
// totals and a CSV of exactly what is drawn. The gateway groups and sums
// (/v1/costs/breakdown), so one bounded response serves any tenant size.

import { api } from "../api.js";
import { canvas, colour, draw } from "../charts.js";
import { field, fill, h, select, table } from "../dom.js";
import { addDays, currency, day, startOfDay } from "../format.js";

// Groups drawn; the gateway sums the rest into "other".
const TOP = 7;
const GROUPS = { service: "service", account: "account", usage_type: "usage type", region: "region" };

function csv(doc) {
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const rows = doc.groups.flatMap((g) => g.points.map((p) => [day(p.period_start), g.other ? "other" : g.key ?? "", p.cost, p.currency]));
  return [["day", doc.group_by, "cost", "currency"].join(","), ...rows.map((r) => r.map(quote).join(","))].join("\n") + "\n";
}

export async function render(root, { params, go }) {
  const by = GROUPS[params.get("by")] ? params.get("by") : "service";
  const form = h("form", { class: "filters", "aria-label": "Cost filters" },
    field("Stack by", select("by", Object.entries(GROUPS), by)),
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
  root.append(h("h1", {}, "Costs"), h("p", { class: "hint" }, "Daily cost from the latest CUR delivery, by UTC day; without dates, the 30 days up to the newest data. Region is read from each usage type's AWS region code (none: us-east-1; CloudFront, Route 53, support and tax: global)."), form, slot);
  await fill(slot, async () => {
    const q = { group_by: by, granularity: "daily", top: TOP, account: params.get("account"), service: params.get("service") };
    if (params.get("start")) q.start = startOfDay(params.get("start"));
    if (params.get("end")) q.end = startOfDay(addDays(params.get("end"), 1));
    const doc = await api("/v1/costs/breakdown", { params: q });
    if (!doc.groups.length) return h("p", { class: "state empty" }, "No costs in this range.");
    const labels = doc.period_totals.map((p) => day(p.period_start));
    const index = new Map(labels.map((l, i) => [l, i]));
    const datasets = doc.groups.map((g, i) => {
      const data = new Array(labels.length).fill(0);
      for (const p of g.points) data[index.get(day(p.period_start))] += p.cost;
      return { label: g.other ? "other" : g.key ?? "—", data, backgroundColor: colour(i), stack: "cost" };
    });
    const money = doc.totals[0]?.currency ?? "USD";
    const { box, el } = canvas("costs", `Daily cost stacked by ${GROUPS[by]}`);
    draw(el, { type: "bar", data: { labels, datasets }, options: { scales: { x: { stacked: true }, y: { stacked: true } } } }, { money });
    const total = doc.totals.map((t) => currency(t.cost, t.currency)).join(" + ");
    const sum = doc.totals.reduce((s, t) => s + t.cost, 0);
    const link = h("a", { href: URL.createObjectURL(new Blob([csv(doc)], { type: "text/csv" })), download: `spendstream-costs-${labels[0]}-${labels.at(-1)}.csv`, id: "costs-csv" }, "Download CSV");
    return [
      h("p", { class: "totals", id: "costs-total" }, `Total ${total} · ${labels[0]} to ${labels.at(-1)} (UTC) · ${labels.length} days`),
      box,
      h("p", {}, link),
      table([GROUPS[by], { v: "Total", num: true }, { v: "Share", num: true }],
        doc.groups.map((g) => [g.other ? "other" : g.key ?? "—", { v: currency(g.total, g.currency), num: true }, { v: `${((g.total / sum) * 100).toFixed(1)}%`, num: true }])),
    ];
  });
}
