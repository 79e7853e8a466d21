// The alert stream (/v1/alerts/stream, Server-Sent Events) read with fetch(), because an
// EventSource cannot send the Authorization header and the key must not go in the URL.
// It resumes after a drop with Last-Event-ID, so no alert is missed or repeated.

import { gatewayDown, session } from "./api.js";

const LAST = "spendstream.lastSeq";
const SEEN = "spendstream.seenSeq";
const RETRY_MS = 2000;
const KEEP = 500;

export const received = [];
const listeners = [];
export const onAlert = (fn) => listeners.push(fn);
let controller = null;

export const lastSeq = () => Number(sessionStorage.getItem(LAST) || 0);
export const seenSeq = () => Number(sessionStorage.getItem(SEEN) || 0);
export const markSeen = () => sessionStorage.setItem(SEEN, String(lastSeq()));

/** How many received alerts the person has not looked at on the Live page yet. */
export const unseen = () => received.filter((a) => a.seq > seenSeq()).length;

function deliver(block) {
  let id = null;
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue; // heartbeat
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (name === "id") id = value;
    else if (name === "event") event = value;
    else if (name === "data") data.push(value);
  }
  if (event !== "alert" || !data.length) return;
  const alert = JSON.parse(data.join("\n"));
  if (id !== null) sessionStorage.setItem(LAST, id);
  if (received.some((a) => a.seq === alert.seq)) return;
  received.unshift(alert);
  received.length = Math.min(received.length, KEEP);
  listeners.forEach((fn) => fn(alert));
}

async function readOnce(signal) {
  const headers = { Authorization: `Bearer ${session.key}`, Accept: "text/event-stream" };
  if (lastSeq()) headers["Last-Event-ID"] = String(lastSeq());
  const res = await fetch("/v1/alerts/stream", { headers, signal, cache: "no-store" });
  if (!res.ok) throw new Error(`stream answered HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = blocks.pop();
    blocks.forEach(deliver);
  }
}

/** Keep one stream open for the signed-in session; reconnect after any drop. */
export function start() {
  if (controller) return;
  controller = new AbortController();
  const { signal } = controller;
  (async () => {
    while (!signal.aborted) {
      try {
        await readOnce(signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof TypeError) gatewayDown();
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  })();
}

export function stop() {
  controller?.abort();
  controller = null;
  received.length = 0;
}
