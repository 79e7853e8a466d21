// Commitments: Savings Plans and Reserved Instances per account — coverage and utilisation
// over the newest delivery's window, what is held and when it ends, what to buy (or why a
// product has no figure), and the commitment alerts. Only /v1/commitments is read.

import { api } from "../api.js";
import { canvas, colour, draw } from "../charts.js";
import { field, fill, h, select, table } from "../dom.js";
import { currency, datetime, day, number, pct } from "../format.js";

const PRODUCTS = { compute_sp: "Compute Savings Plan", ec2_instance_sp: "EC2 Instance Savings Plan", standard_ri: "Standard RI" };
const KINDS = { savings_plan: "Savings Plan", reservation: "Reserved Instance" };
const REASONS = ["", "low_utilisation", "expiring"];
const label = (s) => s.replaceAll("_", " ");
const num = (v) => ({ v, num: true });
// ARNs are long: they wrap anywhere rather than push the table wider than the page.
const id = (v) => ({ v, attrs: { class: "id" } });

/** SP and RI coverage stacked, and utilisation beside them, one group per account. */
function coverageChart(reports) {
  const { box, el } = canvas("commitment-coverage", "Savings Plan and RI coverage and utilisation per account");
  const ratio = (v) => (v === null ? "—" : pct(v, 1));
  draw(el, {
    type: "bar",
    data: {
      labels: reports.map((r) => r.account_id),
      datasets: [
        { label: "Savings Plan coverage", data: reports.map((r) => r.savings_plan_coverage), backgroundColor: colour(0), stack: "coverage" },
        { label: "RI coverage", data: reports.map((r) => r.reservation_coverage), backgroundColor: colour(4), stack: "coverage" },
        { label: "Utilisation", data: reports.map((r) => r.utilisation), backgroundColor: colour(1), stack: "utilisation" },
      ],
    },
    options: {
      scales: { x: { stacked: true }, y: { min: 0, max: 1, stacked: true, ticks: { callback: (v) => pct(v) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${ratio(c.raw)}` } } },
    },
  }, { plain: true });
  return box;
}

function summary(reports, shown, go) {
  return table(["Account", "Window (UTC)", { v: "Hours", num: true }, { v: "Eligible On-Demand", num: true }, { v: "SP coverage", num: true }, { v: "RI coverage", num: true }, { v: "Coverage", num: true }, { v: "Utilisation", num: true }, { v: "Commitments", num: true }, { v: "Best purchase / month ▼", num: true }],
    reports.map((r) => [
      h("button", { type: "button", class: "link", "aria-pressed": String(r.account_id === shown), onclick: () => go({ show: r.account_id }) }, r.account_id),
      `${datetime(r.window_start)} – ${datetime(r.window_end)}`, num(number(r.hours, 0)), num(currency(r.eligible_on_demand)),
      num(pct(r.savings_plan_coverage, 1)), num(pct(r.reservation_coverage, 1)), num(pct(r.coverage, 1)), num(pct(r.utilisation, 1)),
      num(r.commitments.length), num(currency(r.best_monthly_savings)),
    ]), { empty: "No commitment reports yet." });
}

function held(report) {
  const end = report.window_end;
  const left = (c) => (c.end ? ` (${number((new Date(c.end) - new Date(end)) / 86_400_000, 0)} days after the window)` : "");
  return table(["Commitment", "Kind", { v: "Hours", num: true }, { v: "Cost", num: true }, { v: "Used", num: true }, { v: "Utilisation", num: true }, { v: "On-Demand covered", num: true }, { v: "Net savings", num: true }, "Ends (UTC)"],
    report.commitments.map((c) => [id(c.arn), KINDS[c.kind] || c.kind, num(number(c.hours, 1)), num(currency(c.commitment_cost)), num(currency(c.used_cost)), num(pct(c.utilisation, 1)), num(currency(c.covered_on_demand)), num(currency(c.net_savings)), c.end ? `${day(c.end)}${left(c)}` : "—"]),
    { empty: "No Savings Plan or Reserved Instance was active in this window." });
}

function scope(r) {
  const where = r.product === "compute_sp" ? "any region, family, OS"
    : [r.region, r.instance_type, r.operating_system, r.quantity === null ? null : `× ${r.quantity}`].filter(Boolean).join(" · ");
  // Spend whose type has no rate for this product is left out of its figures: say how much.
  return r.unpriced_on_demand > 0 ? [where, h("br"), h("span", { class: "muted" }, `${currency(r.unpriced_on_demand)} On-Demand without a rate left out`)] : where;
}

function purchases(report) {
  return table(["Product", "Scope", { v: "Term", num: true }, "Payment", { v: "Lookback", num: true }, { v: "Commitment $/hour", num: true }, { v: "Discount", num: true }, { v: "Projected coverage", num: true }, { v: "Projected utilisation", num: true }, { v: "Break-even utilisation", num: true }, { v: "Net savings on lookback", num: true }, { v: "Net savings / month", num: true }],
    report.recommendations.map((r) => [PRODUCTS[r.product] || r.product, scope(r), num(`${r.term_years} y`), label(r.payment_option), num(`${r.lookback_days} days`), num(currency(r.hourly_commitment, "USD", 3)), num(pct(r.discount, 1)), num(pct(r.projected_coverage, 1)), num(pct(r.projected_utilisation, 1)), num(pct(r.break_even_utilisation, 1)), num(currency(r.net_savings)), num(currency(r.estimated_monthly_savings))]),
    { empty: "Nothing to buy: no priced product would have saved money on these lookbacks." });
}

/** Products without rates, one row per product and reason (the options it covers listed). */
function unpriced(report) {
  if (!report.unpriced.length) return null;
  const groups = new Map();
  for (const u of report.unpriced) {
    const key = `${u.product}\u0000${u.reason}`;
    if (!groups.has(key)) groups.set(key, { product: u.product, reason: u.reason, options: [] });
    groups.get(key).options.push(`${u.term_years} y ${label(u.payment_option)}`);
  }
  return [
    h("h3", {}, "Products without a figure"),
    table(["Product", "Terms and payment options", "Why there is no figure"],
      [...groups.values()].map((g) => [PRODUCTS[g.product] || g.product, g.options.join(", "), g.reason])),
  ];
}

async function detail(account) {
  const r = await api(`/v1/commitments/${encodeURIComponent(account)}`);
  return h("section", { class: "card", id: "commitment-detail", dataset: { account } },
    h("h2", {}, `Account ${r.account_id}`),
    h("p", { class: "muted" }, `Newest delivery ${datetime(r.window_start)} – ${datetime(r.window_end)}; computed ${datetime(r.generated_at)}.`),
    h("h3", {}, "Held"), h("div", { id: "commitments-held" }, held(r)),
    h("h3", {}, "What to buy"),
    h("p", { class: "muted" }, "Each row is an alternative (the hourly commitment that maximised net savings on its lookback): do not add their savings."),
    h("div", { id: "commitment-purchases" }, purchases(r)),
    h("div", { id: "commitment-unpriced" }, unpriced(r)));
}

async function alertList(account, reason) {
  const doc = await api("/v1/commitments/alerts", { params: { account, reason, limit: 50 } });
  return table(["Detected (UTC)", "Account", "Reason", "Commitment", { v: "Utilisation", num: true }, { v: "Threshold", num: true }, { v: "Unused cost", num: true }, "Ends (UTC)", { v: "Days left", num: true }],
    doc.items.map((a) => [datetime(a.detected_at), a.account_id, label(a.reason), id(a.arn), num(pct(a.utilisation, 1)), num(pct(a.threshold, 0)), num(currency(a.unused_cost)), day(a.end), num(number(a.days_left, 1))]),
    { empty: "No commitment alert." });
}

export async function render(root, { params, go }) {
  const account = params.get("account") || "";
  const reason = REASONS.includes(params.get("reason")) ? params.get("reason") : "";
  const form = h("form", { class: "filters", "aria-label": "Filter commitments" },
    field("Account", h("input", { name: "account", value: account, size: 14 })),
    field("Alert reason", select("reason", REASONS.map((x) => [x, x ? label(x) : "any"]), reason)),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go({ ...Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== "")), show: params.get("show") });
  });
  const reports = h("div", { id: "commitment-reports" });
  const chosen = h("div", { id: "commitment-account" });
  const alerts = h("div", { id: "commitment-alerts" });
  root.append(h("h1", {}, "Commitments"), form,
    h("p", { class: "muted" }, "Savings Plans and Reserved Instances from each account's newest CUR delivery (its window, up to today: month to date)."),
    reports, chosen, h("section", { class: "card" }, h("h2", {}, "Commitment alerts"), alerts));
  let shown = null;
  await Promise.all([
    fill(reports, async () => {
      const doc = await api("/v1/commitments", { params: { account, limit: 50 } });
      if (!doc.items.length) {
        return h("p", { class: "state empty" }, "No Savings Plan or Reserved Instance data yet: reports appear once a CUR delivery of your accounts has been ingested.");
      }
      shown = doc.items.some((r) => r.account_id === params.get("show")) ? params.get("show") : doc.items[0].account_id;
      return [h("section", { class: "card" }, coverageChart(doc.items)), summary(doc.items, shown, (p) => go({ account, reason, ...p }))];
    }),
    fill(alerts, () => alertList(account, reason)),
  ]);
  // The account picked in the table (?show=), else the first listed: always one the list holds.
  if (shown) await fill(chosen, () => detail(shown));
}
