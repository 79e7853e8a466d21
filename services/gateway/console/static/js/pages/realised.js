// Realised savings: recommendations carried out (right-sizing saw the change in inventory)
// and what the bill after the change says they save, next to the estimate. The totals are
// the gateway's; the per-kind rows sum the list, every page of it.

import { api, pages } from "../api.js";
import { fill, h, table } from "../dom.js";
import { currency, datetime } from "../format.js";

const KINDS = { type_change: "Type change", schedule: "Off-hours schedule", terminated: "Terminated (idle)" };
// Pages of 500 read for the per-kind sums; beyond that the rows say they are partial.
const MAX_PAGES = 10;
const num = (v) => ({ v, num: true });
const awaiting = (r) => (r.realised_monthly_savings === null ? "awaiting the bill" : currency(r.realised_monthly_savings));

function totals(t) {
  return h("dl", { class: "kv", id: "realised-totals" },
    h("dt", {}, "Implemented"), h("dd", { dataset: { total: "implemented" } }, String(t.implemented)),
    h("dt", {}, "Measured on the bill"), h("dd", { dataset: { total: "measured" } }, String(t.measured)),
    h("dt", {}, "Estimated / month (measured ones)"), h("dd", { dataset: { total: "measured_estimated_monthly_savings" } }, currency(t.measured_estimated_monthly_savings)),
    h("dt", {}, "Realised / month (the bill)"), h("dd", { dataset: { total: "realised_monthly_savings" } }, currency(t.realised_monthly_savings)),
    h("dt", {}, "Estimated / month (all implemented)"), h("dd", { dataset: { total: "estimated_monthly_savings" } }, currency(t.estimated_monthly_savings)));
}

function perKind(items, complete) {
  const rows = new Map();
  for (const r of items) {
    const k = rows.get(r.kind) || { implemented: 0, measured: 0, estimate: 0, measuredEstimate: 0, realised: 0 };
    k.implemented += 1;
    k.estimate += r.estimated_monthly_savings;
    if (r.realised_monthly_savings !== null) {
      k.measured += 1;
      k.measuredEstimate += r.estimated_monthly_savings;
      k.realised += r.realised_monthly_savings;
    }
    rows.set(r.kind, k);
  }
  return table(["Kind", { v: "Implemented", num: true }, { v: "Measured", num: true }, { v: "Estimated / month (measured)", num: true }, { v: "Realised / month", num: true }, { v: "Estimated / month (all)", num: true }],
    [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, k]) => [
      KINDS[kind] || kind, num(k.implemented), num(k.measured), num(currency(k.measuredEstimate)), num(currency(k.realised)), num(currency(k.estimate)),
    ]), { empty: "No recommendation carried out yet.", caption: complete ? null : `Summed over the newest ${items.length} implementations only.` });
}

function list(items) {
  return table(["Changed (UTC)", "Instance", "Account", "Kind", "From → to", { v: "Estimated / month", num: true }, { v: "Before / month", num: true }, { v: "After / month", num: true }, { v: "Realised / month", num: true }, "Billed through (UTC)"],
    items.map((r) => [datetime(r.implemented_at), r.resource_id, r.account_id, KINDS[r.kind] || r.kind, `${r.from_type} → ${r.to_type || "—"}`,
      num(currency(r.estimated_monthly_savings)), num(currency(r.before_monthly_cost)), num(currency(r.after_monthly_cost)), num(awaiting(r)), datetime(r.measured_through)]),
    { empty: "No recommendation carried out yet: one shows here once inventory shows the change." });
}

/** The realised-savings card; resolves once both of its parts have loaded (or failed). */
export function realised() {
  const sums = h("div", { id: "realised-sums" });
  const rows = h("div", { id: "realised-rows" });
  const card = h("section", { class: "card", id: "realised" },
    h("h2", {}, "Realised savings"),
    h("p", { class: "muted" }, "Recommendations carried out, and what the CUR after the change shows each saves a month. Compare the realised figure with the estimate over the measured ones."),
    sums, h("h3", {}, "Per kind"), rows);
  const ready = Promise.all([
    fill(sums, async () => totals(await api("/v1/savings/realised/totals"))),
    fill(rows, async () => {
      const { items, truncated } = await pages("/v1/savings/realised", {}, { maxPages: MAX_PAGES });
      if (!items.length) return h("p", { class: "state empty" }, "No recommendation carried out yet: one shows here once inventory shows the change.");
      return [h("div", { id: "realised-kinds" }, perKind(items, !truncated)), h("h3", {}, "Carried out"), h("div", { id: "realised-items" }, list(items))];
    }),
  ]);
  return { card, ready };
}
