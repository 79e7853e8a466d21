// Overview: month-to-date vs month-end projection per account, budgets, open anomalies by
// impact, top savings and what changed since yesterday (/v1/changes).

import { api, pages } from "../api.js";
import { canvas, colour, draw } from "../charts.js";
import { fill, h, table } from "../dom.js";
import { currency, datetime, day } from "../format.js";

/** Account-level forecasts (series "daily/<account>") with their month-end projection. */
async function accountProjections() {
  const { items } = await pages("/v1/forecasts", {}, { maxPages: 10 });
  const accounts = items.filter((f) => !f.service && f.status === "ok");
  return Promise.all(accounts.map((f) => api(`/v1/forecasts/${f.series_id}`, { params: { horizon: 7 } })));
}

function projectionChart(rows) {
  const { box, el } = canvas("month-end", "Month-to-date spend and month-end projection per account");
  const labels = rows.map((f) => f.account_id);
  const m = rows.map((f) => f.month_end);
  draw(el, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "95% interval", data: m.map((x) => [x.lo95, x.hi95]), backgroundColor: colour(4) + "55", grouped: false, barPercentage: 0.9 },
        { label: "80% interval", data: m.map((x) => [x.lo80, x.hi80]), backgroundColor: colour(0) + "88", grouped: false, barPercentage: 0.6 },
        { label: "Month to date", data: m.map((x) => x.actual_to_date), backgroundColor: colour(1), grouped: false, barPercentage: 0.25 },
        { type: "line", label: "Projected month end", data: m.map((x) => x.projected), showLine: false, pointStyle: "rectRot", pointRadius: 8, backgroundColor: colour(5), borderColor: colour(5) },
      ],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true }, y: {} } },
  });
  return box;
}

function budgetStatus(budget, byAccount) {
  const scoped = budget.scope === "tenant" ? [...byAccount.values()] : [byAccount.get(budget.account_id)].filter(Boolean);
  if (budget.scope === "service" || !scoped.length) return { text: "no projection", cls: "muted" };
  const projected = scoped.reduce((s, f) => s + f.month_end.projected, 0);
  const actual = scoped.reduce((s, f) => s + f.month_end.actual_to_date, 0);
  if (actual > budget.amount_usd) return { text: `over by ${currency(actual - budget.amount_usd)}`, cls: "sev-high" };
  if (projected > budget.amount_usd) return { text: `projected over by ${currency(projected - budget.amount_usd)}`, cls: "sev-medium" };
  return { text: `on track (${currency(projected)} projected)`, cls: "" };
}

async function spend(slotBudgets) {
  const rows = (await accountProjections()).filter((f) => f.month_end);
  const byAccount = new Map(rows.map((f) => [f.account_id, f]));
  fill(slotBudgets, async () => {
    const { items } = await api("/v1/budgets", { params: { limit: 100 } });
    return table(
      ["Budget", "Scope", { v: "Monthly amount", num: true }, "Status"],
      items.map((b) => {
        const s = budgetStatus(b, byAccount);
        return [b.name, [b.scope, b.account_id, b.service].filter(Boolean).join(" · "), { v: currency(b.amount_usd), num: true }, h("span", { class: s.cls }, s.text)];
      }),
      { empty: "No budgets yet — create one under Budgets & alerts." },
    );
  });
  if (!rows.length) return h("p", { class: "state empty" }, "No month-end projection yet: forecasts need 63 days of history.");
  const month = rows[0].month_end.month.slice(0, 7);
  return [
    h("p", { class: "muted" }, `Month ${month} (UTC), data up to ${rows[0].last_date}.`),
    projectionChart(rows),
    table(
      ["Account", { v: "Month to date", num: true }, { v: "Projected", num: true }, { v: "80% interval", num: true }, { v: "95% interval", num: true }],
      rows.map(({ account_id: a, month_end: m }) => [a, { v: currency(m.actual_to_date), num: true }, { v: currency(m.projected), num: true }, { v: `${currency(m.lo80)} – ${currency(m.hi80)}`, num: true }, { v: `${currency(m.lo95)} – ${currency(m.hi95)}`, num: true }]),
    ),
  ];
}

async function openAnomalies() {
  const { items } = await api("/v1/anomalies", { params: { status: "open", min_impact: 0.01, limit: 200 } });
  const top = items.sort((a, b) => (b.impact_usd ?? 0) - (a.impact_usd ?? 0)).slice(0, 10);
  return table(
    ["Anomaly", "Account", "Severity", { v: "Impact", num: true }, "Detected"],
    top.map((a) => [h("a", { href: `#/anomalies/${encodeURIComponent(a.incident_id)}` }, a.service || a.series_id), a.account_id, h("span", { class: `sev-${a.severity}` }, a.severity), { v: currency(a.impact_usd), num: true }, datetime(a.detected_at)]),
    { empty: "No open cost anomalies.", caption: "Largest dollar impact among the 200 most recent open incidents." },
  );
}

async function topSavings() {
  const { items } = await api("/v1/recommendations", { params: { state: "open", min_savings: 0.01, limit: 10 } });
  return table(
    ["Instance", "Finding", "Current", "Suggested", { v: "Monthly savings", num: true }],
    items.map((r) => [r.resource_id, r.finding, r.current_type, r.options[0]?.instance_type ?? (r.schedule ? "off-hours schedule" : "—"), { v: currency(r.estimated_monthly_savings), num: true }]),
    { empty: "No open savings (none found yet, or all decided)." },
  );
}

/** What changed in the last 24 hours, and each account's newest day against the day before. */
async function changes() {
  const doc = await api("/v1/changes");
  const a = doc.anomalies, r = doc.recommendations;
  const counts = h("ul", { class: "changes", id: "changes-counts" },
    h("li", {}, `${a.opened} anomalies opened (${currency(a.opened_impact_usd)} impact), ${a.resolved} resolved, ${a.open_now} open now`),
    h("li", {}, `${r.changed} recommendations published (${currency(r.changed_savings_usd)} / month), ${r.regressions} regressions`),
    h("li", {}, `${doc.budget_alerts} budget alert changes`));
  const rows = doc.costs.map((c) => [
    c.account_id, day(c.day), { v: currency(c.cost, c.currency), num: true },
    { v: c.change === null ? "—" : `${c.change >= 0 ? "+" : ""}${currency(c.change, c.currency)}`, num: true },
  ]);
  return [
    h("p", { class: "muted" }, `Since ${datetime(doc.since)}.`),
    counts,
    table(["Account", "Latest day (UTC)", { v: "Cost", num: true }, { v: "vs day before", num: true }], rows, { empty: "No costs yet." }),
  ];
}

export async function render(root) {
  const slots = Object.fromEntries(["spend", "budgets", "anomalies", "savings", "changes"].map((k) => [k, h("div", { id: `overview-${k}` })]));
  root.append(
    h("h1", {}, "Overview"),
    h("section", { class: "card" }, h("h2", {}, "Month-end projection per account"), slots.spend),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Budgets"), slots.budgets),
      h("section", { class: "card" }, h("h2", {}, "What changed since yesterday"), slots.changes),
      h("section", { class: "card" }, h("h2", {}, "Open anomalies by dollar impact"), slots.anomalies),
      h("section", { class: "card" }, h("h2", {}, "Top savings"), slots.savings)),
  );
  await Promise.all([
    fill(slots.spend, () => spend(slots.budgets)),
    fill(slots.anomalies, openAnomalies),
    fill(slots.savings, topSavings),
    fill(slots.changes, changes),
  ]);
}
