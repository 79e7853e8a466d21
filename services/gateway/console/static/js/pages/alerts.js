// Live alerts: the recent history, then new alerts as the stream delivers them.

import { api } from "../api.js";
import { h, table } from "../dom.js";
import { currency, datetime } from "../format.js";
import * as live from "../live.js";

// Alerts of history shown above what the stream brings.
const HISTORY = 100;
// The rendered Live page's "add a row"; one stream listener serves every render.
let addRow = null;
live.onAlert((a) => addRow?.(a, true));

function row(a) {
  const link = a.source === "anomaly" ? h("a", { href: `#/anomalies/${encodeURIComponent(a.alert_id)}` }, a.title) : a.title;
  return h("tr", { dataset: { seq: a.seq } }, h("td", {}, datetime(a.occurred_at)), h("td", {}, a.source), h("td", { class: `sev-${a.severity}` }, a.severity),
    h("td", {}, a.account_id), h("td", { class: "num" }, currency(a.impact_usd)), h("td", {}, link));
}

export async function render(root) {
  const status = h("p", { class: "muted", role: "status", id: "live-status" }, "Loading recent alerts…");
  const body = h("tbody", { id: "live-alerts" });
  root.append(h("h1", {}, "Live alerts"), status,
    h("table", {}, h("thead", {}, h("tr", {}, ["When", "Source", "Severity", "Account", "Impact", "Alert"].map((t) => h("th", {}, t)))), body));
  const shown = new Set();
  const add = (a, top) => {
    if (shown.has(a.seq) || !root.isConnected) return;
    shown.add(a.seq);
    if (top) body.prepend(row(a));
    else body.append(row(a));
    live.markSeen();
  };
  let history = [];
  try {
    const after = Math.max(0, live.lastSeq() - HISTORY);
    history = (await api("/v1/alerts", { params: { after, limit: HISTORY } })).items;
  } catch (err) {
    status.className = "error";
    status.textContent = `Could not load recent alerts: ${err.message}`;
  }
  const merged = [...new Map([...history, ...live.received].map((a) => [a.seq, a])).values()].sort((a, b) => b.seq - a.seq);
  merged.forEach((a) => add(a, false));
  addRow = add;
  if (status.className !== "error") status.textContent = merged.length ? "New alerts appear at the top as they arrive (UTC times)." : "No alerts yet; new ones appear here as they arrive.";
  live.markSeen();
}
