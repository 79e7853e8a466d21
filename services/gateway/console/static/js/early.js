// The anomaly list's query and URL, and the call ../boot.js (inline in the page) may have
// sent already: api() answers the page's identical request (same URL, same key) from it
// instead of sending a second one. boot.js builds the same URL as listQuery and url.

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

/** The response promise of the early GET of `href` with `key`, once (null when none). */
export function takeEarly(href, key) {
  const early = window.spendstreamEarly;
  if (!early || early.href !== href || early.key !== key) return null;
  delete window.spendstreamEarly;
  return early.response;
}
