// The one way pages reach the gateway: the public /v1 API with the session's key.
//
// The key lives in sessionStorage (this tab only) and travels as an Authorization header,
// never in a URL. A request that cannot reach the gateway raises the "unreachable" banner
// and a probe of /healthz clears it when the gateway is back.

import { headers as apiHeaders, KEY, takeEarly, url } from "./early.js";

const PROBE_MS = 2000;

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) { sessionStorage.setItem(KEY, value); },
  clear() { sessionStorage.clear(); },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Unreachable extends Error {
  constructor() {
    super("the gateway cannot be reached");
  }
}

const listeners = { down: [], up: [], unauthorized: [] };
export const on = (what, fn) => listeners[what].push(fn);
const emit = (what, arg) => listeners[what].forEach((fn) => fn(arg));

let probing = null;

/** Called by every transport failure: show the banner once and probe until the gateway answers. */
export function gatewayDown() {
  if (probing) return;
  emit("down");
  probing = setInterval(async () => {
    try {
      const res = await fetch("/healthz", { cache: "no-store" });
      if (res.ok) {
        clearInterval(probing);
        probing = null;
        emit("up");
      }
    } catch {
      // still away; the next probe tries again
    }
  }, PROBE_MS);
}

export const isDown = () => probing !== null;

function detailOf(doc, status) {
  const detail = doc && doc.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return `HTTP ${status}`;
}

/** One API call; resolves to the JSON body (null for 204), rejects with ApiError/Unreachable. */
export async function api(path, { method = "GET", params, body, key = session.key, signal } = {}) {
  const headers = apiHeaders(key);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const u = url(path, params);
  const early = method === "GET" && !signal ? takeEarly(u.href, key) : null;
  let res;
  try {
    res = await (early ?? fetch(u, {
      method, headers, signal, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }));
  } catch (err) {
    if (err.name === "AbortError") throw err;
    gatewayDown();
    throw new Unreachable();
  }
  if (res.status === 204) return null;
  const doc = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new ApiError(res.status, detailOf(doc, res.status));
    if (res.status === 401) emit("unauthorized", error);
    throw error;
  }
  return doc;
}

/**
 * Follow next_cursor up to `maxPages` pages of `limit` rows; `truncated` says whether more
 * remained (the page tells the user instead of fetching without bound).
 */
export async function pages(path, params = {}, { limit = 500, maxPages = 20 } = {}) {
  const items = [];
  let cursor;
  for (let i = 0; i < maxPages; i++) {
    const doc = await api(path, { params: { ...params, limit, cursor } });
    items.push(...doc.items);
    cursor = doc.next_cursor;
    if (!cursor) return { items, truncated: false };
  }
  return { items, truncated: true };
}
