// Savings: right-sizing recommendations, largest monthly savings first (paged on the
// server), their options compared, off-hours schedules drawn, and a savings calculator.

import { api } from "../api.js";
import { canvas, colour, draw } from "../charts.js";
import { field, fill, h, select, table } from "../dom.js";
import { addDays, currency, datetime, number, today } from "../format.js";
import { realised } from "./realised.js";

const FINDINGS = ["", "overprovisioned", "underprovisioned", "idle", "schedulable", "optimized", "insufficient_data"];
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const STATES = ["", "open", "accepted", "dismissed", "snoozed"];
const REASONS = ["not_applicable", "performance_risk", "workload_will_grow", "licensing_or_platform", "managed_elsewhere", "already_done", "other"];
// A snooze's default length.
const SNOOZE_DAYS = 30;
// The calculator's picks survive paging and filtering within the tab.
const picked = new Map();

function calculator() {
  const total = [...picked.values()].reduce((s, v) => s + v, 0);
  return `${picked.size} selected · ${currency(total)} / month · ${currency(total * 12)} / year`;
}

function schedule(rec) {
  const s = rec.schedule;
  const running = new Set(s.run_hours);
  const { box, el } = canvas("schedule", `Suggested weekly run hours for ${rec.resource_id}`);
  draw(el, {
    type: "bar",
    data: {
      labels: Array.from({ length: 168 }, (_, i) => `${DAYS[Math.floor(i / 24)]} ${String(i % 24).padStart(2, "0")}:00`),
      datasets: [{ label: `Running (${s.timezone})`, data: Array.from({ length: 168 }, (_, i) => (running.has(i) ? 1 : 0)), backgroundColor: colour(2), barPercentage: 1, categoryPercentage: 1 }],
    },
    options: { scales: { y: { min: 0, max: 1, ticks: { stepSize: 1 } }, x: { ticks: { maxTicksLimit: 14 } } } },
  }, { plain: true });
  return [
    h("p", {}, `Stop ${s.stopped_hours_per_week} h a week, saving ${currency(s.monthly_savings)} a month; ${Math.round(s.consistency * 100)}% of observed weeks matched this pattern.`),
    box,
  ];
}

function stateText(st) {
  if (!st || st.state === "open") return st?.lapse_reason ? `open (reopened: ${st.lapse_reason})` : "open";
  if (st.state === "dismissed") return `dismissed (${st.reason})`;
  if (st.state === "snoozed") return `snoozed until ${datetime(st.snoozed_until)}`;
  return st.state;
}

/** Accept, dismiss with a reason, snooze until a date, or reopen; stored by the gateway. */
function decide(rec, done) {
  const reason = select("reason", REASONS.map((r) => [r, r.replaceAll("_", " ")]), "not_applicable");
  const until = h("input", { type: "date", name: "snoozed_until", value: addDays(today(), SNOOZE_DAYS), "aria-label": "Snooze until (UTC)" });
  const note = h("input", { name: "note", placeholder: "note (optional)", maxlength: 2000, size: 24 });
  const status = h("span", { role: "status", class: "muted" });
  const put = async (body) => {
    if (note.value) body.note = note.value;
    try {
      await api(`/v1/recommendations/${encodeURIComponent(rec.resource_id)}/state`, { method: "PUT", body });
      done();
    } catch (err) {
      status.className = "error";
      status.textContent = `Not saved: ${err.message}`;
    }
  };
  return h("div", { class: "row", dataset: { decide: rec.resource_id } },
    h("button", { type: "button", dataset: { action: "accept" }, onclick: () => put({ state: "accepted" }) }, "Accept"),
    h("span", {}, reason, " ", h("button", { type: "button", class: "secondary", dataset: { action: "dismiss" }, onclick: () => put({ state: "dismissed", reason: reason.value }) }, "Dismiss")),
    h("span", {}, until, " ", h("button", { type: "button", class: "secondary", dataset: { action: "snooze" }, onclick: () => put({ state: "snoozed", snoozed_until: `${until.value}T00:00:00Z` }) }, "Snooze")),
    h("button", { type: "button", class: "secondary", dataset: { action: "reopen" }, onclick: () => put({ state: "open" }) }, "Reopen"),
    note, status);
}

function details(rec, done) {
  return h("div", { class: "card" },
    decide(rec, done),
    h("p", {}, rec.reason),
    table(["Option", "Type", "vCPU", "Memory GiB", { v: "$/hour", num: true }, { v: "Projected CPU", num: true }, { v: "Monthly cost", num: true }, { v: "Saves / month", num: true }, { v: "Risk (0–4)", num: true }, "Effort", "Platform differences"],
      rec.options.map((o) => [o.rank, o.instance_type, number(o.vcpu), number(o.memory_gib), { v: currency(o.hourly_price, "USD", 3), num: true }, { v: `${number(o.projected_cpu_pct, 1)}%`, num: true }, { v: currency(o.monthly_cost), num: true }, { v: currency(o.monthly_savings), num: true }, { v: number(o.performance_risk, 1), num: true }, o.migration_effort, o.platform_differences.join(", ") || "none"]),
      { empty: "No other instance type is suggested." }),
    rec.schedule ? schedule(rec) : null);
}

export async function render(root, { params, go }) {
  const form = h("form", { class: "filters", "aria-label": "Filter recommendations" },
    field("Account", h("input", { name: "account", value: params.get("account") || "", size: 14 })),
    field("Region", h("input", { name: "region", value: params.get("region") || "", size: 12 })),
    field("Finding", select("finding", FINDINGS.map((f) => [f, f || "any"]), params.get("finding"))),
    field("State", select("state", STATES.map((x) => [x, x || "any"]), params.get("state"))),
    field("Min savings $/month", h("input", { type: "number", name: "min_savings", min: 0, step: "any", value: params.get("min_savings") || "", size: 8 })),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go(Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== "")));
  });
  const calc = h("p", { class: "totals", id: "calculator", role: "status" }, calculator());
  const slot = h("div", { id: "savings" });
  const proven = realised();
  root.append(h("h1", {}, "Savings"), proven.card, form, h("section", { class: "card" }, h("h2", {}, "Savings calculator"), calc), slot);
  const filters = Object.fromEntries(["account", "region", "finding", "min_savings", "state"].filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  const list = fill(slot, async () => {
    const doc = await api("/v1/recommendations", { params: { ...filters, cursor: params.get("cursor"), limit: 50 } });
    const rows = [];
    for (const r of doc.items) {
      const box = h("input", { type: "checkbox", "aria-label": `Add ${r.resource_id} to the calculator`, checked: picked.has(r.id), dataset: { savings: r.estimated_monthly_savings } });
      box.addEventListener("change", () => {
        if (box.checked) picked.set(r.id, r.estimated_monthly_savings);
        else picked.delete(r.id);
        calc.textContent = calculator();
      });
      const open = h("button", { type: "button", class: "link", "aria-expanded": "false" }, "Options");
      const more = h("tr", { hidden: true }, h("td", { colspan: 10 }));
      open.addEventListener("click", () => {
        const show = more.hidden;
        more.hidden = !show;
        open.setAttribute("aria-expanded", String(show));
        if (show && !more.firstChild.firstChild) more.firstChild.append(details(r, () => go({ ...filters, cursor: params.get("cursor") })));
      });
      rows.push(h("tr", {}, h("td", {}, box), h("td", {}, r.resource_id), h("td", {}, r.account_id), h("td", {}, r.region), h("td", {}, r.finding), h("td", {}, r.current_type),
        h("td", { class: "num" }, currency(r.current_monthly_cost)), h("td", { class: "num" }, currency(r.estimated_monthly_savings)),
        h("td", { dataset: { state: r.state?.state ?? "open" } }, stateText(r.state)), h("td", {}, open)), more);
    }
    return [
      table(["", "Instance", "Account", "Region", "Finding", "Current type", { v: "Current / month", num: true }, { v: "Saves / month ▼", num: true }, "State", ""], rows, { empty: "No recommendation matches these filters." }),
      h("div", { class: "row" },
        params.get("cursor") ? h("button", { type: "button", class: "secondary", onclick: () => go(filters) }, "First page") : null,
        doc.next_cursor ? h("button", { type: "button", onclick: () => go({ ...filters, cursor: doc.next_cursor }) }, "Next page") : null,
        h("span", { class: "muted" }, "Sorted on the server by monthly savings, largest first.")),
    ];
  });
  await Promise.all([list, proven.ready]);
}
