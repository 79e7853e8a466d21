// The console shell: sign-in, hash routes (#/page/id?filters, so a link keeps its filters),
// the live-alert badge and the "gateway unreachable" banner.

import { api, ApiError, on, session } from "./api.js";
import { destroyAll, loadChart } from "./charts.js";
import * as live from "./live.js";
import * as overview from "./pages/overview.js";
import * as anomalies from "./pages/anomalies.js";
import * as costs from "./pages/costs.js";
import * as savings from "./pages/savings.js";
import * as commitments from "./pages/commitments.js";
import * as forecasts from "./pages/forecasts.js";
import * as budgets from "./pages/budgets.js";
import * as alerts from "./pages/alerts.js";

const PAGES = { overview, anomalies, costs, savings, commitments, forecasts, budgets, live: alerts };
// The pages that draw (an anomaly's detail, not the list): Chart.js is loaded for them only.
const DRAWS = { overview: true, anomalies: (id) => Boolean(id), costs: true, savings: true, commitments: true, forecasts: true };
const $ = (id) => document.getElementById(id);

/** The current route: page name, optional id, and its filters. */
export function route() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return { name: PAGES[name] ? name : "overview", id: rest.length ? decodeURIComponent(rest.join("/")) : null, params: new URLSearchParams(query) };
}

/** Go to a page with filters; empty values are dropped so URLs stay short. */
export function go(name, params = {}, id = null) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const hash = `#/${name}${id ? `/${encodeURIComponent(id)}` : ""}${q.size ? `?${q}` : ""}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

function showSignin(message) {
  $("top").hidden = true;
  $("page").replaceChildren();
  $("signin").hidden = false;
  const error = $("signin-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("key").focus();
}

let rendering = 0;

async function render() {
  if (!session.key) return showSignin();
  const { name, id, params } = route();
  $("signin").hidden = true;
  $("top").hidden = false;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  destroyAll();
  const token = ++rendering;
  const root = document.createElement("div");
  root.className = `page page-${name}`;
  $("page").replaceChildren(root);
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · spendstream`;
  const draws = DRAWS[name];
  // A failed load shows as each chart's error state (draw() says why); the page still renders.
  if (draws === true || (draws && draws(id))) await loadChart().catch(() => {});
  await PAGES[name].render(root, { id, params, go: (p, pid) => go(name, p, pid) });
  if (token === rendering) root.dataset.ready = "true";
  updateBadge();
}

function updateBadge() {
  const n = route().name === "live" ? 0 : live.unseen();
  const badge = $("badge");
  badge.hidden = n === 0;
  badge.textContent = String(n);
}

async function signIn(event) {
  event.preventDefault();
  const key = $("key").value.trim();
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    // Any cheap authenticated read proves the key.
    await api("/v1/budgets", { params: { limit: 1 }, key });
    session.key = key;
    $("key").value = "";
    live.start();
    render();
  } catch (err) {
    const why = err instanceof ApiError && err.status === 401
      ? "That API key was not accepted: it is unknown, revoked or mistyped. Check it and try again."
      : `Could not sign in: ${err.message}.`;
    showSignin(why);
  } finally {
    button.disabled = false;
  }
}

function banner(text) {
  const el = $("banner");
  el.hidden = !text;
  el.textContent = text || "";
}

on("down", () => banner("The gateway cannot be reached. Showing what was loaded; retrying every 2 s…"));
on("up", () => {
  banner(null);
  render();
});
on("unauthorized", () => {
  live.stop();
  session.clear();
  showSignin("Your API key is no longer accepted (revoked or expired). Sign in again.");
});
live.onAlert(updateBadge);

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", () => {
  live.stop();
  session.clear();
  location.hash = "";
  showSignin();
});
window.addEventListener("hashchange", render);
if (session.key) live.start();
render();
