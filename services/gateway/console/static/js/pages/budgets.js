// Budgets and alert subscriptions: create, edit, delete; a subscription's delivery log.

import { api, pages } from "../api.js";
import { field, fill, h, select, table } from "../dom.js";
import { currency, datetime } from "../format.js";

const SEVERITIES = ["low", "medium", "high", "critical"];
const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

function budgetForm(budget, done) {
  const form = h("form", { class: "filters", id: "budget-form", "aria-label": budget ? "Edit budget" : "New budget" },
    field("Name", h("input", { name: "name", required: true, value: budget?.name || "", maxlength: 200 })),
    field("Scope", select("scope", [["tenant", "all my accounts"], ["account", "one account"], ["service", "account × service"]], budget?.scope || "account")),
    field("Account", h("input", { name: "account_id", value: budget?.account_id || "", placeholder: "12 digits", size: 14 })),
    field("Service", h("input", { name: "service", value: budget?.service || "", size: 14 })),
    field("Monthly amount (USD)", h("input", { type: "number", name: "amount_usd", required: true, min: 0.01, step: "any", value: budget?.amount_usd ?? "" })),
    h("button", { type: "submit" }, budget ? "Save budget" : "Create budget"),
    budget ? h("button", { type: "button", class: "secondary", onclick: () => done() }, "Cancel") : null);
  const error = h("p", { class: "error", role: "alert", hidden: true });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { name: v.name, scope: v.scope, amount_usd: Number(v.amount_usd) };
    if (v.scope !== "tenant" && v.account_id) body.account_id = v.account_id;
    if (v.scope === "service" && v.service) body.service = v.service;
    try {
      await api(budget ? `/v1/budgets/${budget.id}` : "/v1/budgets", { method: budget ? "PUT" : "POST", body });
      done();
    } catch (err) {
      error.hidden = false;
      error.textContent = `Not saved: ${err.message}`;
    }
  });
  return [form, error];
}

async function budgets(slot) {
  const reload = () => fill(slot, () => budgets(slot));
  const { items } = await pages("/v1/budgets", {}, { limit: 100, maxPages: 10 });
  const editor = h("div");
  editor.append(...budgetForm(null, reload));
  const rows = items.map((b) => [
    b.name, [b.scope, b.account_id, b.service].filter(Boolean).join(" · "), { v: currency(b.amount_usd), num: true }, datetime(b.updated_at),
    h("span", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => editor.replaceChildren(...budgetForm(b, reload)) }, "Edit"),
      h("button", { type: "button", class: "secondary", "aria-label": `Delete budget ${b.name}`, onclick: async () => { if (confirm(`Delete budget “${b.name}”?`)) { await api(`/v1/budgets/${b.id}`, { method: "DELETE" }); reload(); } } }, "Delete")),
  ]);
  return [table(["Name", "Scope", { v: "Monthly amount", num: true }, "Updated", ""], rows, { empty: "No budgets yet." }), editor];
}

function subscriptionBody(s, overrides = {}) {
  const body = { name: s.name, channel: s.channel, body_format: s.body_format, accounts: s.accounts, services: s.services, min_severity: s.min_severity, min_impact_usd: s.min_impact_usd, active: s.active, ...overrides };
  if (s.channel === "webhook") body.url = s.url;
  else body.sns_topic_arn = s.sns_topic_arn;
  return body;
}

function subscriptionForm(done) {
  const form = h("form", { class: "filters", id: "subscription-form", "aria-label": "New subscription" },
    field("Name", h("input", { name: "name", required: true, maxlength: 200 })),
    field("Channel", select("channel", [["webhook", "webhook"], ["sns", "SNS topic"]], "webhook")),
    field("Webhook URL", h("input", { name: "url", type: "url", placeholder: "https://…", size: 28 })),
    field("Body", select("body_format", [["json", "JSON"], ["slack", "Slack"]], "json")),
    field("SNS topic ARN", h("input", { name: "sns_topic_arn", size: 24 })),
    field("Accounts (comma-separated, empty = all)", h("input", { name: "accounts", size: 20 })),
    field("Services", h("input", { name: "services", size: 14 })),
    field("Min severity", select("min_severity", SEVERITIES.map((s) => [s, s]), "low")),
    field("Min impact $", h("input", { type: "number", name: "min_impact_usd", min: 0, step: "any", value: 0, size: 6 })),
    h("button", { type: "submit" }, "Create subscription"));
  const out = h("p", { role: "status" });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { name: v.name, channel: v.channel, body_format: v.body_format, accounts: list(v.accounts), services: list(v.services), min_severity: v.min_severity, min_impact_usd: Number(v.min_impact_usd || 0) };
    if (v.channel === "webhook") body.url = v.url;
    else body.sns_topic_arn = v.sns_topic_arn;
    try {
      const created = await api("/v1/subscriptions", { method: "POST", body });
      done(created.channel === "webhook" ? `Created. Its signing secret is shown only now — store it: ${created.secret}` : "Created.");
    } catch (err) {
      out.className = "error";
      out.textContent = `Not created: ${err.message}`;
    }
  });
  return [form, out];
}

async function deliveries(sub) {
  const { items } = await api(`/v1/subscriptions/${sub.id}/deliveries`, { params: { limit: 50 } });
  return table(["Alert seq", "Status", { v: "Attempts", num: true }, "Last answer", "Created", "Delivered"],
    items.map((d) => [d.alert_seq, d.status, { v: d.attempts, num: true }, d.last_error || (d.last_status_code ? `HTTP ${d.last_status_code}` : "—"), datetime(d.created_at), datetime(d.delivered_at)]),
    { empty: "Nothing delivered to this subscription yet." });
}

async function subscriptions(slot, message) {
  const reload = (text) => fill(slot, () => subscriptions(slot, text));
  const { items } = await pages("/v1/subscriptions", {}, { limit: 100, maxPages: 10 });
  const rows = [];
  for (const s of items) {
    const log = h("tr", { hidden: true }, h("td", { colspan: 6 }));
    const toggle = h("button", { type: "button", class: "link", "aria-expanded": "false" }, "Delivery log");
    toggle.addEventListener("click", () => {
      log.hidden = !log.hidden;
      toggle.setAttribute("aria-expanded", String(!log.hidden));
      if (!log.hidden) fill(log.firstChild, () => deliveries(s));
    });
    rows.push(h("tr", {},
      h("td", {}, s.name), h("td", {}, s.channel === "webhook" ? s.url : s.sns_topic_arn),
      h("td", {}, `${s.min_severity}+, ≥ ${currency(s.min_impact_usd)}${s.accounts.length ? `, ${s.accounts.join(", ")}` : ""}${s.services.length ? `, ${s.services.join(", ")}` : ""}`),
      h("td", {}, s.active ? "active" : "paused"),
      h("td", {}, toggle),
      h("td", {}, h("span", { class: "row" },
        h("button", { type: "button", class: "secondary", onclick: async () => { await api(`/v1/subscriptions/${s.id}`, { method: "PUT", body: subscriptionBody(s, { active: !s.active }) }); reload(); } }, s.active ? "Pause" : "Resume"),
        h("button", { type: "button", class: "secondary", "aria-label": `Delete subscription ${s.name}`, onclick: async () => { if (confirm(`Delete subscription “${s.name}”?`)) { await api(`/v1/subscriptions/${s.id}`, { method: "DELETE" }); reload(); } } }, "Delete")))), log);
  }
  return [
    message ? h("p", { class: "card", role: "status" }, message) : null,
    table(["Name", "Target", "Which alerts", "State", "", ""], rows, { empty: "No subscriptions yet." }),
    subscriptionForm(reload),
  ];
}

export async function render(root) {
  const b = h("div", { id: "budgets" });
  const s = h("div", { id: "subscriptions" });
  root.append(h("h1", {}, "Budgets & alert subscriptions"),
    h("section", { class: "card" }, h("h2", {}, "Monthly budgets"), h("p", { class: "hint" }, "A budget whose month-end projection goes over it raises a forecast-breach alert."), b),
    h("section", { class: "card" }, h("h2", {}, "Alert subscriptions"), s));
  await Promise.all([fill(b, () => budgets(b)), fill(s, () => subscriptions(s))]);
}
