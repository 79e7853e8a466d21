// The anomaly list's API call, sent before any script file has arrived. The gateway puts
// this file inline into the page (its CSP admits it by hash alone): when the tab opens on
// #/anomalies with a key in sessionStorage, the call goes out while the page's script is
// still on its way, and api() takes its response (js/early.js) instead of asking again.
// Its URL must be the one api() builds for the list (js/early.js: listQuery and url); the
// browser tests check that a first load of a filtered list sends that call once.
(() => {
  try {
    const key = sessionStorage.getItem("spendstream.key");
    const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
    if (!key || path !== "anomalies") return;
    const params = new URLSearchParams(query);
    const nextDay = (ymd) => {
      const d = new Date(`${ymd}T00:00:00Z`);
      d.setUTCDate(d.getUTCDate() + 1);
      return d.toISOString().slice(0, 10);
    };
    const url = new URL("/v1/anomalies", location.origin);
    for (const name of ["account", "service", "severity", "status", "since", "until", "min_impact", "cursor"]) {
      const value = params.get(name);
      if (!value) continue;
      url.searchParams.append(name, name === "since" ? `${value}T00:00:00Z` : name === "until" ? `${nextDay(value)}T00:00:00Z` : value);
    }
    url.searchParams.append("limit", "50");
    const response = fetch(url, { headers: { Authorization: `Bearer ${key}`, Accept: "application/json" }, cache: "no-store" });
    response.catch(() => {}); // a failure is reported by api(), which awaits the same promise
    window.spendstreamEarly = { href: url.href, key, response };
  } catch {
    // an unreadable route: the page sends its own call
  }
})();
