// Tiny DOM helpers: every value from the API goes in as text, never as HTML.

/** Create an element: h("td", {class: "num"}, "text", childNode, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A table with a header row; rows are arrays of cells (strings, nodes or {v, num}). */
export function table(headers, rows, { empty = "Nothing to show.", caption } = {}) {
  if (!rows.length) return h("p", { class: "state empty" }, empty);
  const cell = (tag, c) =>
    c && typeof c === "object" && !(c instanceof Node) && "v" in c
      ? h(tag, { class: c.num ? "num" : null, ...(c.attrs || {}) }, c.v)
      : h(tag, {}, c);
  return h(
    "table",
    {},
    caption ? h("caption", { class: "muted" }, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((x) => cell("th", x)))),
    h("tbody", {}, rows.map((r) => (r instanceof Node ? r : h("tr", {}, r.map((c) => cell("td", c)))))),
  );
}

export const loading = (what = "Loading…") => h("p", { class: "state loading", role: "status" }, what);

/** The error state: what went wrong, as the gateway said it. */
export function failure(err) {
  return h("p", { class: "state error", role: "alert" }, `Could not load this: ${err.message}`);
}

/** Fill `slot` from an async builder, with loading and error states. */
export async function fill(slot, build, what) {
  slot.replaceChildren(loading(what));
  try {
    const content = await build();
    slot.replaceChildren(...[content].flat(Infinity).filter(Boolean));
  } catch (err) {
    if (err.name === "AbortError") return;
    slot.replaceChildren(failure(err));
  }
}

/** A <label> around a control, for filter bars. */
export const field = (text, control) => h("label", {}, text, control);

export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map(([v, label]) => h("option", { value: v, selected: v === (value ?? "") }, label)),
  );
}
