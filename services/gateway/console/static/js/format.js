// Money with thousands separators in the row's currency; dates always in UTC, zone shown.

const money = new Map();

export function currency(value, code = "USD", digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const key = `${code}:${digits}`;
  if (!money.has(key)) {
    money.set(key, new Intl.NumberFormat("en-US", {
      style: "currency", currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits,
    }));
  }
  return money.get(key).format(value);
}

export const number = (v, digits = 2) =>
  v === null || v === undefined ? "—" : v.toLocaleString("en-US", { maximumFractionDigits: digits });

export const pct = (v, digits = 0) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)}%`);

/** "2026-03-01 14:05 UTC" */
export function datetime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "2026-03-01" for a date or the UTC day of a timestamp. */
export const day = (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : "—");

/** RFC 3339 midnight UTC of a YYYY-MM-DD string (what the API's date filters take). */
export const startOfDay = (ymd) => `${ymd}T00:00:00Z`;

export function addDays(ymd, n) {
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export const today = () => new Date().toISOString().slice(0, 10);
