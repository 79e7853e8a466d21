// The first page's main API call, started while the rest of the console's code loads.
//
// index.html loads this small module on its own (async, so it runs the moment it is in,
// without waiting for the others): when the tab opens on the anomaly list with a key in
// sessionStorage, the list's request goes out at once, and api() answers the page's
// identical request (same URL, same key) from it instead of sending a second one.

import { addDays, startOfDay } from "./format.js";

export const KEY = "spendstream.key";
// The list's filters, as the URL and the list page name them.
export const LIST_FILTERS = ["account", "service", "severity", "status", "since", "until", "min_impact"];

/** The /v1/anomalies query of the list page for the route's filters (dates as UTC days). */
export function listQuery(params) {
  const q = Object.fromEntries(LIST_FILTERS.map((k) => [k, params.get(k)]));
  if (q.since) q.since = startOfDay(q.since);
  if (q.until) q.until = startOfDay(addDays(q.until, 1));
  return { ...q, cursor: params.get("cursor"), limit: 50 };
}

/** An API URL; empty parameters are left out, arrays repeat the name. */
export function url(path, params) {
  const u = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of [value].flat()) u.searchParams.append(name, v);
  }
  return u;
}

/** The headers of every API call. */
export const headers = (key) => ({ Authorization: `Bearer ${key}`, Accept: "application/json" });

const started = new Map();

/** The response promise of an early GET of `href` with `key`, once (null when none). */
export function takeEarly(href, key) {
  const early = started.get(href);
  started.delete(href);
  return early && early.key === key ? early.response : null;
}

function start() {
  const key = sessionStorage.getItem(KEY);
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  if (!key || path !== "anomalies") return;
  const href = url("/v1/anomalies", listQuery(new URLSearchParams(query))).href;
  const response = fetch(href, { headers: headers(key), cache: "no-store" });
  response.catch(() => {}); // a failure is reported by api(), which awaits the same promise
  started.set(href, { key, response });
}

start();
