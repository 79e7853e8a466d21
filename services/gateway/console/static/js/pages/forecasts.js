// Forecasts: one series' history plus its 7/30/90-day forecast with 80% and 95% bands,
// the chosen model and every candidate's backtest accuracy.

import { api, pages } from "../api.js";
import { band, canvas, colour, draw, lower } from "../charts.js";
import { field, fill, h, select, table } from "../dom.js";
import { addDays, currency, datetime, day, number, pct, startOfDay } from "../format.js";

const HORIZONS = ["7", "30", "90"];
// History drawn before the forecast starts.
const HISTORY_DAYS = 90;

function why(doc) {
  if (doc.why_chosen) return `Chosen model: ${doc.model} — ${doc.why_chosen}.`;
  const scores = doc.backtest.filter((b) => b.mase !== null);
  const mine = scores.find((b) => b.model === doc.model);
  if (!mine) return `Chosen model: ${doc.model ?? "none"}.`;
  const best = scores.every((b) => b.mase >= mine.mase);
  return `Chosen model: ${doc.model} — ${best ? "the lowest" : "a low"} backtest MASE (${number(mine.mase, 3)}) among ${scores.length} candidates; MASE below 1 beats a seasonal-naive forecast.`;
}

async function chart(doc) {
  const start = addDays(doc.last_date, -HISTORY_DAYS + 1);
  const hist = await pages("/v1/costs", { series_id: doc.series_id, start: startOfDay(start), end: startOfDay(addDays(doc.last_date, 1)) }, { maxPages: 2 });
  const past = hist.items.map((p) => [day(p.period_start), p.cost]);
  const labels = [...past.map(([d]) => d), ...doc.points.map((p) => p.date)];
  const pad = (values, before) => [...new Array(before).fill(null), ...values];
  const n = past.length;
  const { box, el } = canvas("forecast", `History and ${doc.horizon}-day forecast of ${doc.series_id}`);
  draw(el, {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "History", data: [...past.map(([, v]) => v), ...new Array(doc.points.length).fill(null)], borderColor: colour(0), backgroundColor: colour(0), pointRadius: 0 },
        lower("95% low", pad(doc.points.map((p) => p.lo95), n), 4, "40"),
        band("95% high", pad(doc.points.map((p) => p.hi95), n), 4, "40"),
        lower("80% low", pad(doc.points.map((p) => p.lo80), n), 1, "66"),
        band("80% high", pad(doc.points.map((p) => p.hi80), n), 1, "66"),
        { label: "Forecast", data: pad(doc.points.map((p) => p.yhat), n), borderColor: colour(5), backgroundColor: colour(5), borderDash: [6, 3], pointRadius: 0 },
      ],
    },
  });
  return box;
}

export async function render(root, { params, go }) {
  const horizon = HORIZONS.includes(params.get("horizon")) ? params.get("horizon") : "30";
  const slot = h("div", { id: "forecast" });
  root.append(h("h1", {}, "Forecasts"), slot);
  await fill(slot, async () => {
    const { items } = await pages("/v1/forecasts", { account: params.get("account") }, { maxPages: 10 });
    if (!items.length) return h("p", { class: "state empty" }, "No forecasts yet: they need 63 days of cost history.");
    const series = items.some((f) => f.series_id === params.get("series")) ? params.get("series") : items[0].series_id;
    const form = h("form", { class: "filters", "aria-label": "Choose a forecast" },
      field("Series", select("series", items.map((f) => [f.series_id, `${f.account_id} · ${f.service || "all services"}${f.status === "ok" ? "" : " (not enough history)"}`]), series)),
      field("Horizon", select("horizon", HORIZONS.map((d) => [d, `${d} days`]), horizon)),
      h("button", { type: "submit" }, "Show"));
    const submit = () => go({ ...Object.fromEntries(new FormData(form)), account: params.get("account") });
    form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
    form.addEventListener("change", submit);
    const doc = await api(`/v1/forecasts/${series}`, { params: { horizon } }).catch((err) => (err.status === 404 ? api(`/v1/forecasts/${series}`) : Promise.reject(err)));
    if (doc.status !== "ok") return [form, h("p", { class: "state empty" }, `No forecast for this series: ${doc.reason || doc.status}.`)];
    const m = doc.month_end;
    return [
      form,
      h("p", {}, `${why(doc)} History ${doc.history_days} days up to ${doc.last_date} (UTC); generated ${datetime(doc.generated_at)}.`),
      m ? h("p", { class: "totals" }, `Month ${m.month.slice(0, 7)}: ${currency(m.actual_to_date)} so far, projected ${currency(m.projected)} (80% ${currency(m.lo80)} – ${currency(m.hi80)}, 95% ${currency(m.lo95)} – ${currency(m.hi95)})`) : null,
      h("section", { class: "card" }, await chart(doc)),
      h("h2", {}, "Backtest (rolling origin)"),
      table(["Model", { v: "Horizon days", num: true }, { v: "Folds", num: true }, { v: "MASE", num: true }, { v: "MAPE", num: true }, { v: "80% coverage", num: true }, { v: "95% coverage", num: true }],
        doc.backtest.map((b) => [b.model === doc.model ? `★ ${b.model} (chosen)` : b.model, { v: b.horizon_days, num: true }, { v: b.folds, num: true }, { v: number(b.mase, 3), num: true }, { v: b.mape === null ? "—" : `${number(b.mape, 1)}%`, num: true }, { v: pct(b.coverage80, 1), num: true }, { v: pct(b.coverage95, 1), num: true }]),
        { empty: "No backtest was run for this series." }),
    ];
  });
}
