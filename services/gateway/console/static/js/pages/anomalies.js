// Anomalies: a server-paged, filterable list (filters and cursor live in the URL) and a
// detail view with the series, its expected band, the root cause and feedback.

import { api } from "../api.js";
import { band, canvas, colour, draw, lower } from "../charts.js";
import { field, fill, h, select, table } from "../dom.js";
import { LIST_FILTERS as FILTERS, listQuery as query } from "../early.js";
import { addDays, currency, datetime, day, number, pct, startOfDay } from "../format.js";

const SEVERITIES = ["", "low", "medium", "high", "critical"];
// Days of series drawn either side of the incident window.
const SIDE_DAYS = 21;
// How long the page watches an incident after feedback (the detector answers in seconds).
const WATCH_MS = 60000;
const WATCH_EVERY_MS = 2000;

function filterBar(params, go) {
  const form = h("form", { class: "filters", "aria-label": "Filter anomalies" },
    field("Account", h("input", { name: "account", value: params.get("account") || "", placeholder: "12 digits", size: 14, pattern: "[0-9]{12}" })),
    field("Service", h("input", { name: "service", value: params.get("service") || "", placeholder: "AmazonEC2", size: 14 })),
    field("Severity", select("severity", SEVERITIES.map((s) => [s, s || "any"]), params.get("severity"))),
    field("State", select("status", [["", "any"], ["open", "open"], ["resolved", "resolved"]], params.get("status"))),
    field("Detected from (UTC)", h("input", { type: "date", name: "since", value: params.get("since") || "" })),
    field("to (UTC)", h("input", { type: "date", name: "until", value: params.get("until") || "" })),
    field("Min impact $", h("input", { type: "number", name: "min_impact", min: 0, step: "any", value: params.get("min_impact") || "", size: 8 })),
    h("button", { type: "submit" }, "Apply"),
    h("button", { type: "button", class: "secondary", onclick: () => go({}) }, "Clear"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go(Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== "")));
  });
  return form;
}

async function list(root, params, go) {
  const slot = h("div", { id: "anomaly-list" });
  root.append(h("h1", {}, "Anomalies"), filterBar(params, go), slot);
  const filters = Object.fromEntries(FILTERS.filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  await fill(slot, async () => {
    const doc = await api("/v1/anomalies", { params: query(params) });
    const rows = doc.items.map((a) => [
      h("a", { href: `#/anomalies/${encodeURIComponent(a.incident_id)}` }, a.service || a.metric || a.series_id),
      a.kind, a.account_id, h("span", { class: `sev-${a.severity}` }, a.severity), a.status,
      { v: currency(a.impact_usd), num: true }, datetime(a.detected_at), h("span", { class: "muted" }, a.reason),
    ]);
    return [
      table(["Anomaly", "Kind", "Account", "Severity", "State", { v: "Impact", num: true }, "Detected", "Why"], rows, { empty: "No anomaly matches these filters." }),
      h("div", { class: "row" },
        params.get("cursor") ? h("button", { type: "button", class: "secondary", onclick: () => go(filters) }, "First page") : null,
        doc.next_cursor ? h("button", { type: "button", id: "next-page", onclick: () => go({ ...filters, cursor: doc.next_cursor }) }, "Next page") : null,
        h("span", { class: "muted" }, `${doc.items.length} shown; newest first; pages come from the server.`)),
    ];
  });
}

/** Per day, the band of the latest lifecycle step whose judged window covers it. */
function bandByDay(labels, bands) {
  const steps = [...bands].sort((x, y) => x.revision - y.revision);
  return labels.map((label) => {
    let found = null;
    for (const b of steps) {
      const [ws, we] = [day(b.window_start), day(b.window_end)];
      if (label === ws || (label >= ws && label < we)) found = b;
    }
    return found;
  });
}

async function seriesChart(a) {
  let labels;
  let actual;
  let steps;
  if (a.kind === "cost") {
    const doc = await api(`/v1/anomalies/${encodeURIComponent(a.incident_id)}/series`, { params: { days: SIDE_DAYS } });
    labels = doc.actual.map((p) => day(p.period_start));
    actual = doc.actual.map((p) => p.cost);
    steps = bandByDay(labels, doc.bands);
  } else {
    // CloudWatch incidents have no stored series: the judged window alone.
    labels = [datetime(a.window_start), datetime(a.window_end)];
    actual = [a.actual, a.actual];
    steps = [a, a];
  }
  const pick = (key) => steps.map((b) => (b ? b[key] : null));
  const { box, el } = canvas("anomaly-series", "Actual against expected value and band");
  draw(el, {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "Actual", data: actual, borderColor: colour(0), backgroundColor: colour(0), pointRadius: 2 },
        { label: "Expected", data: pick("expected"), borderColor: colour(2), backgroundColor: colour(2), borderDash: [6, 3], pointRadius: 4, spanGaps: false },
        lower("Band low", pick("lower"), 1),
        band("Band high", pick("upper"), 1),
      ],
    },
    options: { scales: { y: { beginAtZero: false } } },
  }, { plain: a.kind !== "cost" });
  return box;
}

function rootCause(a) {
  if (!a.root_cause.length) return h("p", { class: "state empty" }, "No root cause breakdown for this incident.");
  const ranked = [...a.root_cause].filter((r) => r.dimension !== "series").sort((x, y) => y.share - x.share);
  const { box, el } = canvas("root-cause", "Root cause shares");
  draw(el, {
    type: "bar",
    data: { labels: ranked.map((r) => `${r.dimension}: ${r.value.split("/").pop()}`), datasets: [{ label: "Share of the deviation", data: ranked.map((r) => r.share), backgroundColor: ranked.map((r, i) => colour(i)) }] },
    options: { indexAxis: "y", scales: { x: { min: 0, max: 1, ticks: { callback: (v) => pct(v) } } } },
  }, { plain: true });
  return [
    box,
    table(["Dimension", "Value", { v: "Share", num: true }, { v: "Actual", num: true }, { v: "Expected", num: true }, { v: "Contribution", num: true }],
      ranked.map((r) => [r.dimension, r.value, { v: pct(r.share, 1), num: true }, { v: number(r.actual), num: true }, { v: number(r.expected), num: true }, { v: number(r.contribution), num: true }])),
  ];
}

function feedback(a, rerender) {
  const status = h("p", { id: "feedback-status", role: "status", class: "muted" });
  const from = h("input", { type: "date", name: "planned_from", "aria-label": "Planned from (UTC)", value: day(a.window_start) });
  const to = h("input", { type: "date", name: "planned_to", "aria-label": "Planned to (UTC)", value: day(a.window_end) });
  const send = async (verdict, window) => {
    status.textContent = `Sending “${verdict}”…`;
    status.className = "muted";
    try {
      await api(`/v1/anomalies/${encodeURIComponent(a.incident_id)}/feedback`, { method: "POST", body: { verdict, ...window } });
    } catch (err) {
      status.textContent = `Feedback not sent: ${err.message}`;
      status.className = "error";
      return;
    }
    if (verdict !== "false_positive" && verdict !== "expected") {
      status.textContent = `Recorded “${verdict}”: the detector keeps this incident and learns from it.`;
      return;
    }
    status.textContent = `Sent “${verdict}”; waiting for the detector to close the incident…`;
    const until = Date.now() + WATCH_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, WATCH_EVERY_MS));
      const now = await api(`/v1/anomalies/${encodeURIComponent(a.incident_id)}`).catch(() => null);
      if (now && (now.revision !== a.revision || now.status !== a.status)) return rerender();
    }
    status.textContent = `Sent “${verdict}”; the incident has not changed yet — reload later.`;
  };
  const button = (verdict, text, window) => h("button", { type: "button", class: "secondary", dataset: { verdict }, onclick: () => send(verdict, window?.()) }, text);
  // A planned change needs its window (UTC days, the end day included).
  const plannedWindow = () => (from.value && to.value ? { window_start: startOfDay(from.value), window_end: startOfDay(addDays(to.value, 1)) } : {});
  return [
    h("div", { class: "row" },
      button("false_positive", "False positive"),
      button("expected", "Expected"),
      button("true_positive", "True positive"),
      h("span", {}, "Planned from ", from, " to ", to, " "),
      button("planned", "Planned", plannedWindow)),
    status,
  ];
}

async function detail(root, id) {
  const slot = h("div", { id: "anomaly-detail" });
  root.append(h("p", {}, h("a", { href: "#/anomalies" }, "← All anomalies")), slot);
  const rerender = () => fill(slot, build);
  const build = async () => {
    const a = await api(`/v1/anomalies/${encodeURIComponent(id)}`);
    return [
      h("h1", {}, `${a.severity} ${a.kind} anomaly · ${a.service || a.metric || a.series_id}`),
      h("dl", { class: "kv" },
        h("dt", {}, "State"), h("dd", { id: "anomaly-state" }, `${a.status} (revision ${a.revision}, ${a.action})`),
        h("dt", {}, "Account"), h("dd", {}, a.account_id),
        h("dt", {}, "Series"), h("dd", {}, a.series_id),
        h("dt", {}, "Window"), h("dd", {}, `${datetime(a.window_start)} → ${datetime(a.window_end)}`),
        h("dt", {}, "Actual / expected"), h("dd", {}, `${number(a.actual)} vs ${number(a.expected)} (band ${number(a.lower)} – ${number(a.upper)})`),
        h("dt", {}, "Impact"), h("dd", {}, currency(a.impact_usd)),
        h("dt", {}, "Why"), h("dd", {}, a.reason)),
      h("section", { class: "card" }, h("h2", {}, "Actual against expected"), await seriesChart(a)),
      h("div", { class: "grid" },
        h("section", { class: "card" }, h("h2", {}, "Root cause"), rootCause(a)),
        h("section", { class: "card" }, h("h2", {}, "Lifecycle"),
          table(["When", "Action", "Revision", "Severity", { v: "Impact", num: true }, "Reason"],
            [...a.history].sort((x, y) => x.revision - y.revision).map((e) => [datetime(e.detected_at), e.action, e.revision, e.severity, { v: currency(e.impact_usd), num: true }, e.reason]),
            { empty: "No history." }))),
      h("section", { class: "card" }, h("h2", {}, "Was this real?"), feedback(a, rerender)),
    ];
  };
  await rerender();
}

export async function render(root, { id, params, go }) {
  if (id) await detail(root, id);
  else await list(root, params, go);
}
