// The strangler operator console: plain JS over the operator API (/_strangler/api/...).
//
// The page holds no data of its own. The operator pastes the admin token; it stays in
// sessionStorage (this tab only) and goes out as a bearer token with every API call. Any
// 401 drops it and returns to the login form. Everything the API sends back is shown with
// textContent, never as HTML: mismatch bodies and reasons are other people's input.
//
// Where each grid column comes from:
//   mode            GET api/status (the flag document; operator-added organizations are
//                   passed as ?organization_id=)
//   traffic         GET /metrics, strangler_requests_total{flag,organization,mode}: per
//                   organization only while it is off legacy (legacy traffic counts as
//                   "other"), since this proxy process started
//   mismatch rate   GET /metrics, strangler_gate_comparisons_total{flag,organization,result}
//                   (mismatched / compared, since this proxy process started); when this
//                   process has compared nothing for the cell, the gate's own mismatch_rate
//                   budget (its window, its source) if it was evaluated
//   gate verdict    GET api/gate?flag=&organization_id= for cells off legacy (every 30 s and
//                   on demand: an evaluation costs the proxy a bootstrap)
"use strict";

(() => {
  const TOKEN_KEY = "strangler.console.token";
  const ORGANIZATIONS_KEY = "strangler.console.organizations";
  const REFRESH_MS = 5000;
  const GATE_EVERY = 6; // refreshes between gate evaluations (30 s)
  const MISMATCH_LIMIT = 25;
  const AUDIT_LIMIT = 50;
  const MODES = ["legacy", "shadow", "live", "plugin"];
  const PLUGIN_ANSWERS = new Set(["live", "plugin"]);

  const $ = (selector) => document.querySelector(selector);

  const state = {
    status: null, // api/status
    traffic: new Map(), // "flag|org" -> {total, byMode}
    comparisons: new Map(), // "flag|org" -> {matched, mismatched}
    metricsError: null,
    gates: new Map(), // "flag|org" -> {evaluation} | {error}
    gateApi: true, // false once the API said it has no gate route
    mismatches: [],
    mismatchFilter: { flag: "", organization: "" },
    audit: [],
    ticks: 0,
    busy: false,
    queued: null, // a refresh asked for while one was running
    gridKey: "",
    gateDetail: null, // {flag, org} shown in the detail panel
    mismatchShown: null, // id shown in the diff viewer
  };

  // -- the API ------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, payload) {
      super(message);
      this.status = status;
      this.payload = payload || {};
    }

    get detail() {
      return this.payload.detail;
    }
  }

  class LoggedOut extends Error {}

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  function url(path, query) {
    const target = new URL(path, document.baseURI);
    for (const [key, value] of Object.entries(query || {})) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null && item !== "") target.searchParams.append(key, String(item));
      }
    }
    return target;
  }

  async function api(path, { method = "GET", query, body } = {}) {
    const headers = { Authorization: `Bearer ${token()}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url(`api/${path}`, query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, `the proxy did not answer (${error.message})`, null);
    }
    let payload = null;
    const text = await response.text();
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      payload = null;
    }
    if (response.status === 401) {
      logOut(`The proxy refused the token (401: ${detailMessage(payload && payload.detail) || "unauthorized"}). Log in again with the operator token.`);
      throw new LoggedOut();
    }
    if (!response.ok) {
      const message = detailMessage(payload && payload.detail) || text.slice(0, 300) || response.statusText;
      throw new ApiError(response.status, `${response.status}: ${message}`, payload);
    }
    return payload;
  }

  // The API's errors are {"detail": ...}: a string, FastAPI's list of field errors, or an object.
  function detailMessage(detail) {
    if (detail === null || detail === undefined) return "";
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((item) => {
          if (typeof item !== "object" || item === null) return String(item);
          const where = (item.loc || []).filter((part) => part !== "body").join(".");
          return where ? `${where}: ${item.msg}` : item.msg;
        })
        .join("; ");
    }
    if (typeof detail === "object") {
      return detail.message || detail.detail || detail.summary || JSON.stringify(detail);
    }
    return String(detail);
  }

  // The gate's verdict table in an answer: a refused flip is 409 {"detail", "gate": {...}}.
  function evaluationIn(payload) {
    const gate = payload && payload.gate;
    return gate && typeof gate === "object" && Array.isArray(gate.budgets) ? gate : null;
  }

  // -- login --------------------------------------------------------------------------

  function showLogin(message) {
    $("#console").hidden = true;
    $("#session").hidden = true;
    $("#login").hidden = false;
    $("#login-message").textContent = message || "";
    $("#token").value = "";
    $("#token").focus();
  }

  function logOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    state.gridKey = "";
    showLogin(message);
  }

  async function logIn(event) {
    event.preventDefault();
    const given = $("#token").value.trim();
    if (!given) {
      $("#login-message").textContent = "Paste the operator token first.";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, given);
    $("#login-message").textContent = "Checking the token…";
    try {
      await api("audit", { query: { limit: 1 } });
    } catch (error) {
      if (error instanceof LoggedOut) return;
      if (error.status === 0) {
        sessionStorage.removeItem(TOKEN_KEY);
        $("#login-message").textContent = `Cannot reach the operator API: ${error.message}`;
        return;
      }
      // Any other answer got past the token check: the console shows what went wrong.
    }
    $("#login-message").textContent = "";
    $("#login").hidden = true;
    $("#console").hidden = false;
    $("#session").hidden = false;
    await refresh({ gate: true });
    $("#grid-title").focus();
  }

  // -- loading ------------------------------------------------------------------------

  function extraOrganizations() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(ORGANIZATIONS_KEY) || "[]");
      return Array.isArray(stored) ? stored.filter((id) => Number.isInteger(id) && id > 0) : [];
    } catch {
      return [];
    }
  }

  async function refresh({ gate = false } = {}) {
    if (!token()) return;
    if (state.busy) {
      // One refresh at a time; the one asked for meanwhile runs right after.
      state.queued = { gate: gate || Boolean(state.queued && state.queued.gate) };
      return;
    }
    state.busy = true;
    // Each part loads on its own: a broken flags file must not hide the audit log.
    const problems = [];
    const part = async (name, load) => {
      try {
        await load();
      } catch (error) {
        if (error instanceof LoggedOut) throw error;
        problems.push(`the ${name} (${error.message})`);
      }
    };
    try {
      await part("flags", async () => {
        state.status = null;
        state.status = await api("status", { query: { organization_id: extraOrganizations() } });
      });
      const filter = state.mismatchFilter;
      await Promise.all([
        loadMetrics(),
        part("mismatches", async () => {
          const query = { limit: MISMATCH_LIMIT, flag: filter.flag, organization_id: filter.organization };
          state.mismatches = (await api("mismatches", { query })).mismatches || [];
        }),
        part("audit log", async () => {
          state.audit = (await api("audit", { query: { limit: AUDIT_LIMIT } })).entries || [];
        }),
        gate ? part("gate verdicts", loadGates) : null,
      ]);
      showError(problems.length ? `Could not load ${problems.join("; ")}.` : "");
      render();
      $("#updated").textContent = `Updated ${clock(new Date())}`;
    } catch (error) {
      if (!(error instanceof LoggedOut)) showError(`Could not refresh: ${error.message}`);
    } finally {
      state.busy = false;
    }
    if (state.queued) {
      const queued = state.queued;
      state.queued = null;
      await refresh(queued);
    }
  }

  async function loadMetrics() {
    state.traffic = new Map();
    state.comparisons = new Map();
    state.metricsError = null;
    let text;
    try {
      const response = await fetch(new URL("../metrics", document.baseURI), { cache: "no-store" });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      text = await response.text();
    } catch (error) {
      state.metricsError = `the proxy's /metrics could not be read (${error.message})`;
      return;
    }
    for (const line of text.split("\n")) {
      const sample = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!sample) continue;
      const [, name, labelText, valueText] = sample;
      if (name !== "strangler_requests_total" && name !== "strangler_gate_comparisons_total") continue;
      const labels = {};
      for (const match of (labelText || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]] = match[2];
      const value = Number(valueText);
      if (!Number.isFinite(value) || !/^\d+$/.test(labels.organization || "")) continue;
      const key = cellKey(labels.flag, Number(labels.organization));
      if (name === "strangler_requests_total") {
        const traffic = state.traffic.get(key) || { total: 0, byMode: {} };
        traffic.total += value;
        traffic.byMode[labels.mode] = (traffic.byMode[labels.mode] || 0) + value;
        state.traffic.set(key, traffic);
      } else {
        const counts = state.comparisons.get(key) || { matched: 0, mismatched: 0 };
        if (labels.result === "mismatched") counts.mismatched += value;
        else if (labels.result === "matched") counts.matched += value;
        state.comparisons.set(key, counts);
      }
    }
  }

  async function loadGates() {
    if (!state.status || !state.gateApi) return;
    const cells = [];
    for (const organization of state.status.organizations) {
      for (const flag of state.status.flags) {
        const key = cellKey(flag, organization.organization_id);
        if (organization.modes[flag] !== "legacy") cells.push([flag, organization.organization_id]);
        else state.gates.delete(key); // back on legacy: an old verdict no longer says anything
      }
    }
    // One at a time: each evaluation runs a bootstrap in the proxy.
    for (const [flag, org] of cells) {
      if (!state.gateApi) return;
      await loadGate(flag, org);
    }
  }

  async function loadGate(flag, org) {
    const key = cellKey(flag, org);
    try {
      const evaluation = await api("gate", { query: { flag, organization_id: org } });
      state.gates.set(key, { evaluation });
    } catch (error) {
      if (error instanceof LoggedOut) throw error;
      const message = detailMessage(error.detail);
      if ((error.status === 404 && message === "Not Found") || /no cutover gate/.test(message)) {
        state.gateApi = false; // an operator API without the proxy's gate
        state.gates.clear();
        return;
      }
      state.gates.set(key, { error: error.message });
    }
  }

  // -- rendering ----------------------------------------------------------------------

  function render() {
    renderMismatches();
    renderAudit();
    if (!state.status) {
      renderUnknownFlags();
      return;
    }
    const filter = $("#mismatch-flag");
    if (filter.options.length === 1) {
      for (const flag of state.status.flags) filter.append(el("option", { value: flag }, flag));
    }
    renderKillSwitch();
    renderGrid();
    if (state.gateDetail) renderGateDetail();
  }

  function renderUnknownFlags() {
    const badge = $("#kill-switch-state");
    badge.textContent = "unknown: the flags could not be read";
    badge.className = "badge danger";
    $("#kill-switch-button").hidden = true;
    $("#grid tbody").replaceChildren();
    $("#grid-empty").hidden = true;
    state.gridKey = "";
  }

  function renderKillSwitch() {
    const on = Boolean(state.status.kill_switch);
    const badge = $("#kill-switch-state");
    badge.textContent = on
      ? "ON: every request goes to legacy, nothing is mirrored"
      : "off: requests are routed by the flags";
    badge.className = `badge ${on ? "danger" : "ok"}`;
    $("#kill-switch-button").textContent = on ? "Turn the kill switch off…" : "Turn the kill switch on…";
    $("#kill-switch-button").hidden = false;
    document.body.classList.toggle("killed", on);
  }

  function renderGrid() {
    const { flags, organizations } = state.status;
    const rows = organizations.map((organization) => ({
      org: organization.organization_id,
      cells: flags.map((flag) => cellView(flag, organization.organization_id, organization.modes[flag])),
    }));
    // Rebuilt only when something shown changed, so focus and hover survive a refresh.
    const key = JSON.stringify([flags, rows, state.metricsError]);
    if (key === state.gridKey) return;
    state.gridKey = key;

    const head = $("#grid-head");
    head.replaceChildren(el("th", { scope: "col" }, "Organization"));
    for (const flag of flags) head.append(el("th", { scope: "col" }, flag));
    head.append(el("th", { scope: "col" }, "Actions"));

    const body = $("#grid tbody");
    body.replaceChildren();
    for (const row of rows) {
      const tr = el("tr", { "data-organization": row.org });
      tr.append(el("th", { scope: "row" }, `Organization ${row.org}`));
      row.cells.forEach((cell, index) => tr.append(renderCell(flags[index], row.org, cell)));
      tr.append(
        el(
          "td",
          { class: "actions" },
          el(
            "button",
            { type: "button", class: "rollback", "aria-label": `Roll back organization ${row.org}` },
            "Roll back…",
          ),
        ),
      );
      tr.querySelector("button.rollback").addEventListener("click", () => openRollback(row.org));
      body.append(tr);
    }
    $("#grid-empty").hidden = rows.length > 0;
  }

  function cellView(flag, org, mode) {
    const key = cellKey(flag, org);
    const traffic = state.traffic.get(key);
    const counts = state.comparisons.get(key);
    const gate = state.gates.get(key);
    let rate;
    const compared = counts ? counts.matched + counts.mismatched : 0;
    if (compared > 0) {
      rate = {
        text: `${percent(counts.mismatched / compared)} mismatched (${counts.mismatched} of ${compared})`,
        title: "Compared pairs that differed, since this proxy process started (/metrics)",
        bad: counts.mismatched > 0,
      };
    } else {
      const budget = gate && gate.evaluation ? budgetOf(gate.evaluation, "mismatch_rate") : null;
      if (budget && budget.samples > 0 && budget.measured !== null) {
        rate = {
          text: `${percent(budget.measured)} mismatched (of ${budget.samples}, gate window)`,
          title: `The gate's mismatch_rate over its ${seconds(gate.evaluation.window_s)} window (${gate.evaluation.source})`,
          bad: budget.measured > 0,
        };
      } else {
        rate = { text: "no comparisons yet", title: "Nothing of this flag and organization was compared", bad: false };
      }
    }
    let trafficText;
    let trafficTitle;
    if (state.metricsError) {
      trafficText = "traffic unknown";
      trafficTitle = state.metricsError;
    } else if (traffic) {
      trafficText = `${count(traffic.total)} requests`;
      trafficTitle = Object.entries(traffic.byMode)
        .map(([name, value]) => `${name}: ${count(value)}`)
        .join(", ");
      trafficTitle = `Routed since this proxy process started, by mode: ${trafficTitle}`;
    } else {
      trafficText = mode === "legacy" ? "no per-organization count" : "no requests yet";
      trafficTitle = "The proxy counts requests per organization only while it is off legacy";
    }
    let verdict;
    if (!state.gateApi) verdict = { text: "gate: n/a", value: "unavailable", title: "This proxy has no gate API" };
    else if (!gate) verdict = { text: "gate: not evaluated", value: "unknown", title: "Select to evaluate the gate now" };
    else if (gate.error) verdict = { text: "gate: error", value: "error", title: gate.error };
    else {
      verdict = {
        text: `gate: ${gate.evaluation.verdict}`,
        value: gate.evaluation.verdict,
        title: gate.evaluation.summary || gate.evaluation.verdict,
      };
    }
    return { mode, trafficText, trafficTitle, rate, verdict };
  }

  function renderCell(flag, org, cell) {
    const td = el("td", { "data-flag": flag, class: "cell" });
    td.append(
      el("span", { class: `mode mode-${cell.mode.split("=")[0]}`, title: `mode of ${flag}` }, cell.mode),
      el("span", { class: "traffic", title: cell.trafficTitle }, cell.trafficText),
      el("span", { class: `rate${cell.rate.bad ? " bad" : ""}`, title: cell.rate.title }, cell.rate.text),
    );
    const verdict = el(
      "button",
      {
        type: "button",
        class: `verdict verdict-${cell.verdict.value}`,
        title: cell.verdict.title,
        "aria-label": `${cell.verdict.text} for ${flag} of organization ${org}: show the numbers`,
        "data-verdict": cell.verdict.value,
      },
      cell.verdict.text,
    );
    verdict.disabled = !state.gateApi;
    verdict.addEventListener("click", () => openGateDetail(flag, org));
    const change = el(
      "button",
      { type: "button", class: "change", "aria-label": `Change the mode of ${flag} for organization ${org}` },
      "Change mode…",
    );
    change.addEventListener("click", () => openFlip(org, flag));
    td.append(verdict, change);
    return td;
  }

  function renderMismatches() {
    const body = $("#mismatches tbody");
    body.replaceChildren();
    for (const mismatch of state.mismatches) {
      const tr = el("tr", { "data-mismatch": mismatch.id, "data-organization": mismatch.organization_id });
      const view = el(
        "button",
        { type: "button", class: "view-diff", "aria-label": `Show the diff of mismatch ${mismatch.id}` },
        "Show diff",
      );
      view.addEventListener("click", () => showMismatch(mismatch.id));
      tr.append(
        el("td", {}, when(mismatch.created_at)),
        el("td", {}, mismatch.flag),
        el("td", {}, String(mismatch.organization_id ?? "—")),
        el("td", {}, mismatch.mode),
        el("td", {}, el("code", {}, mismatch.route)),
        el("td", {}, `${mismatch.legacy.status} / ${mismatch.plugin.status}`),
        el("td", {}, differenceSummary(mismatch.differences)),
        el("td", {}, view),
      );
      body.append(tr);
    }
    $("#mismatches-empty").hidden = state.mismatches.length > 0;
  }

  function differenceSummary(differences) {
    if (!differences || differences.length === 0) return "—";
    const first = differences
      .slice(0, 3)
      .map((difference) => difference.path || difference.kind)
      .join(", ");
    return differences.length > 3 ? `${first} (+${differences.length - 3})` : first;
  }

  function renderAudit() {
    const body = $("#audit tbody");
    body.replaceChildren();
    for (const entry of state.audit) {
      const tr = el("tr", { "data-audit": entry.id, "data-organization": entry.organization_id ?? "" });
      tr.append(
        el("td", {}, when(entry.changed_at)),
        el("td", {}, entry.actor),
        el("td", {}, entry.flag),
        el("td", {}, entry.organization_id === null ? "all" : String(entry.organization_id)),
        el("td", { class: "transition" }, `${entry.from} → ${entry.to}`),
        el("td", { class: "reason" }, entry.reason),
        el("td", { class: entry.gate_verdict ? `verdict-${entry.gate_verdict}` : "" }, entry.gate_verdict || "—"),
        el("td", { class: entry.forced ? "bad" : "" }, entry.forced ? "forced" : "no"),
      );
      body.append(tr);
    }
    $("#audit-empty").hidden = state.audit.length > 0;
  }

  // -- gate detail --------------------------------------------------------------------

  async function openGateDetail(flag, org) {
    state.gateDetail = { flag, org };
    $("#gate-detail").hidden = false;
    $("#gate-detail-title").textContent = `Gate verdict: ${flag}, organization ${org}`;
    if (!state.gates.has(cellKey(flag, org))) {
      $("#gate-summary").textContent = "Evaluating…";
      await evaluateShownGate();
    } else {
      renderGateDetail();
    }
    $("#gate-detail").scrollIntoView({ block: "nearest" });
    $("#gate-recheck").focus();
  }

  async function evaluateShownGate() {
    const { flag, org } = state.gateDetail;
    $("#gate-summary").textContent = "Evaluating…";
    try {
      await loadGate(flag, org);
    } catch (error) {
      if (error instanceof LoggedOut) return;
      throw error;
    }
    state.gridKey = "";
    render();
  }

  function renderGateDetail() {
    const { flag, org } = state.gateDetail;
    const gate = state.gates.get(cellKey(flag, org));
    const body = $("#gate-budgets tbody");
    body.replaceChildren();
    if (!state.gateApi) {
      $("#gate-summary").textContent = "This proxy has no gate API.";
      return;
    }
    if (!gate) {
      $("#gate-summary").textContent = `Not evaluated since ${flag} of organization ${org} went back to legacy. Select "Evaluate again" to evaluate it now.`;
      return;
    }
    if (gate.error) {
      $("#gate-summary").textContent = `The gate could not be evaluated: ${gate.error}`;
      return;
    }
    const evaluation = gate.evaluation;
    $("#gate-summary").textContent =
      `${evaluation.summary || evaluation.verdict} — evaluated ${evaluation.evaluated_at ? clock(new Date(evaluation.evaluated_at * 1000)) : ""}`;
    fillBudgets(body, evaluation);
  }

  function fillBudgets(body, evaluation) {
    for (const budget of evaluation.budgets || []) {
      const interval =
        budget.lower !== null && budget.lower !== undefined && budget.bound !== null && budget.bound !== undefined
          ? `${number(budget.lower)} – ${number(budget.bound)}`
          : "—";
      body.append(
        el(
          "tr",
          { "data-budget": budget.budget },
          el("th", { scope: "row" }, budget.budget),
          el("td", { class: `verdict-${budget.verdict}` }, budget.verdict),
          el("td", {}, budget.measured === null || budget.measured === undefined ? "—" : number(budget.measured)),
          el("td", {}, interval),
          el("td", {}, number(budget.limit)),
          el("td", {}, String(budget.samples)),
          el("td", {}, budget.reason || ""),
        ),
      );
    }
  }

  function budgetOf(evaluation, name) {
    return (evaluation.budgets || []).find((budget) => budget.budget === name) || null;
  }

  // -- mismatch diff viewer -----------------------------------------------------------

  function showMismatch(id) {
    const mismatch = state.mismatches.find((item) => item.id === id);
    if (!mismatch) return;
    state.mismatchShown = id;
    $("#diff").hidden = false;
    $("#diff-title").textContent = `Mismatch ${mismatch.id}: ${mismatch.route}`;
    const meta = $("#diff-meta");
    meta.replaceChildren();
    const facts = [
      ["When", when(mismatch.created_at)],
      ["Flag", mismatch.flag],
      ["Organization", String(mismatch.organization_id ?? "—")],
      ["Mode", mismatch.mode],
      ["Kind", mismatch.kind],
      ["Route", mismatch.route],
      ["Request", `${mismatch.method} ${mismatch.path}`],
      ["The client got", String(mismatch.primary_status)],
      [
        "Legacy",
        `${mismatch.legacy.status} ${mismatch.legacy.content_type || ""} in ${seconds(mismatch.legacy.seconds)}`,
      ],
      [
        "Plugin",
        `${mismatch.plugin.status} ${mismatch.plugin.content_type || ""} in ${seconds(mismatch.plugin.seconds)}`,
      ],
    ];
    if (mismatch.caller) facts.push(["Caller", mismatch.caller]);
    for (const [term, value] of facts) meta.append(el("dt", {}, term), el("dd", {}, value));
    if (mismatch.request_body) {
      meta.append(el("dt", {}, "Request body"), el("dd", {}, el("code", {}, mismatch.request_body)));
    }

    const differences = $("#diff-differences tbody");
    differences.replaceChildren();
    for (const difference of mismatch.differences || []) {
      differences.append(
        el(
          "tr",
          {},
          el("td", {}, el("code", {}, difference.path || "(whole body)")),
          el("td", {}, difference.kind || ""),
          el("td", { class: "removed" }, show(difference.legacy)),
          el("td", { class: "added" }, show(difference.plugin)),
        ),
      );
    }
    $("#diff-ignored").textContent =
      mismatch.ignored && mismatch.ignored.length
        ? `Ignored (rules and learned noise): ${mismatch.ignored.join(", ")}`
        : "";

    const legacy = bodyLines(mismatch.legacy);
    const plugin = bodyLines(mismatch.plugin);
    const legacySet = new Set(legacy);
    const pluginSet = new Set(plugin);
    fillLines($("#diff-legacy"), legacy, (line) => (pluginSet.has(line) ? "" : "removed"));
    fillLines($("#diff-plugin"), plugin, (line) => (legacySet.has(line) ? "" : "added"));
    $("#diff-legacy-caption").textContent = `Legacy: HTTP ${mismatch.legacy.status}${mismatch.legacy.body_truncated ? " (body cut)" : ""}`;
    $("#diff-plugin-caption").textContent = `Plugin: HTTP ${mismatch.plugin.status}${mismatch.plugin.body_truncated ? " (body cut)" : ""}`;
    fillLines($("#diff-unified"), (mismatch.unified_diff || "").split("\n"), (line) => {
      if (line.startsWith("+++") || line.startsWith("---")) return "file";
      if (line.startsWith("@@")) return "hunk";
      if (line.startsWith("+")) return "added";
      if (line.startsWith("-")) return "removed";
      return "";
    });
    $("#diff").scrollIntoView({ block: "start" });
    $("#diff-close").focus();
  }

  function bodyLines(side) {
    const body = side.body || "";
    let text = body;
    try {
      text = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // Not JSON (or cut short): shown as it came.
    }
    return [`HTTP ${side.status} ${side.content_type || ""}`.trim(), ...text.split("\n")];
  }

  function fillLines(pre, lines, classOf) {
    pre.replaceChildren();
    for (const line of lines) {
      const kind = classOf(line);
      pre.append(el("span", kind ? { class: `line ${kind}` } : { class: "line" }, `${line}\n`));
    }
  }

  // -- changes: flip, rollback, kill switch -------------------------------------------

  let pending = null; // what Confirm does: async (reason, force) => notice text

  function openChange({ title, flip, describe, submit }) {
    const dialog = $("#change-dialog");
    $("#change-title").textContent = title;
    $("#flip-fields").hidden = !flip;
    $("#change-reason").value = "";
    $("#change-error").textContent = "";
    $("#force-field").hidden = true;
    $("#change-force").checked = false;
    $("#change-budgets").hidden = true;
    $("#change-gate").textContent = "";
    $("#change-confirm").disabled = false;
    pending = { describe, submit };
    updateSummary();
    dialog.showModal();
    (flip ? $("#change-mode") : $("#change-reason")).focus();
  }

  function updateSummary() {
    if (pending) $("#change-summary").textContent = pending.describe();
  }

  function chosenMode() {
    const mode = $("#change-mode").value;
    return mode === "split" ? $("#change-split").value.trim() : mode;
  }

  function openFlip(org, flag) {
    const select = $("#change-flag");
    select.replaceChildren(...state.status.flags.map((name) => el("option", { value: name }, name)));
    select.value = flag;
    const current = () => modeOf(org, select.value);
    const mode = $("#change-mode");
    mode.value = MODES.includes(current()) ? nextMode(current()) : "legacy";
    $("#split-field").hidden = true;
    openChange({
      title: `Change a flag of organization ${org}`,
      flip: true,
      describe: () => {
        const target = chosenMode() || "(a split)";
        let text = `Move organization ${org}'s ${select.value} from ${current()} to ${target}.`;
        if (PLUGIN_ANSWERS.has(target.split("=")[0]) || /(^|,)\s*(live|plugin)\s*=/.test(target)) {
          const gate = state.gates.get(cellKey(select.value, org));
          text += " The plugin will answer, so the cutover gate must pass";
          text += gate && gate.evaluation ? ` (last verdict: ${gate.evaluation.verdict}).` : ".";
        }
        return text;
      },
      submit: async (reason, force) => {
        const target = chosenMode();
        if (!target) throw new ApiError(0, "Choose a mode, or write a split such as shadow=50,legacy=50.", null);
        const body = { flag: select.value, organization_id: org, mode: target, reason };
        if (force) body.force = true;
        const result = await api("flip", { method: "POST", body });
        const evaluation = evaluationIn(result);
        if (evaluation) state.gates.set(cellKey(select.value, org), { evaluation });
        return changedNotice(result, `${select.value} of organization ${org} is already ${target}`);
      },
    });
  }

  function openRollback(org) {
    const moved = state.status.flags.filter((flag) => modeOf(org, flag) !== "legacy");
    openChange({
      title: `Roll back organization ${org}`,
      flip: false,
      describe: () =>
        moved.length
          ? `Every flag of organization ${org} back to legacy (now: ${moved.map((flag) => `${flag} ${modeOf(org, flag)}`).join(", ")}). Never gated.`
          : `Every flag of organization ${org} is already on legacy; rolling back changes nothing.`,
      submit: async (reason) => {
        const result = await api("rollback", { method: "POST", body: { organization_id: org, reason } });
        return changedNotice(result, `organization ${org} was already on legacy`);
      },
    });
  }

  function openKillSwitch() {
    const on = !state.status.kill_switch;
    openChange({
      title: on ? "Turn the kill switch on" : "Turn the kill switch off",
      flip: false,
      describe: () =>
        on
          ? "Every request of every organization goes to legacy, with no mirroring, until the switch is turned off."
          : "Requests are routed by the flags again (shadow, live and plugin modes resume).",
      submit: async (reason) => {
        const result = await api("kill-switch", { method: "POST", body: { on, reason } });
        return changedNotice(result, `the kill switch was already ${on ? "on" : "off"}`);
      },
    });
  }

  function changedNotice(result, unchanged) {
    if (!result || !result.changed) return `Nothing changed: ${unchanged}.`;
    const changes = result.changes
      .map((change) => `${change.flag}${change.organization_id ? ` of ${change.organization_id}` : ""}: ${change.from} → ${change.to}`)
      .join("; ");
    const gate = result.gate_verdict ? ` (gate: ${result.gate_verdict}${result.forced ? ", forced" : ""})` : "";
    return `Changed ${changes}${gate}.`;
  }

  async function confirmChange(event) {
    event.preventDefault();
    if (!pending) return;
    const reason = $("#change-reason").value.trim();
    if (!reason) {
      $("#change-error").textContent = "A reason is required: the audit log keeps it.";
      $("#change-reason").focus();
      return;
    }
    const force = !$("#force-field").hidden && $("#change-force").checked;
    $("#change-confirm").disabled = true;
    $("#change-error").textContent = "Working…";
    try {
      const notice = await pending.submit(reason, force);
      pending = null;
      $("#change-dialog").close();
      showNotice(notice);
      state.gridKey = "";
      await refresh({ gate: true });
    } catch (error) {
      if (error instanceof LoggedOut) return;
      $("#change-error").textContent = error.message;
      const evaluation = evaluationIn(error.payload);
      if (error.status === 409 && (evaluation || /gate/i.test(error.message))) {
        // The gate refused: show its table, and offer to force the move with the reason.
        $("#force-field").hidden = false;
        $("#change-gate").textContent = evaluation
          ? `The cutover gate says ${evaluation.verdict}. Budgets:`
          : "The cutover gate refused this move.";
        const budgets = $("#change-budgets tbody");
        budgets.replaceChildren();
        $("#change-budgets").hidden = !evaluation;
        if (evaluation) {
          fillBudgets(budgets, evaluation);
          state.gates.set(cellKey(evaluation.flag, evaluation.organization_id), { evaluation });
        }
      }
    } finally {
      $("#change-confirm").disabled = false;
    }
  }

  // -- organizations added by the operator ----------------------------------------------

  async function addOrganization(event) {
    event.preventDefault();
    const value = Number($("#organization-id").value);
    if (!Number.isInteger(value) || value <= 0) {
      showError("An organization id is a positive whole number.");
      return;
    }
    const known = state.status && state.status.organizations.some((o) => o.organization_id === value);
    const extra = extraOrganizations();
    if (!extra.includes(value)) extra.push(value);
    sessionStorage.setItem(ORGANIZATIONS_KEY, JSON.stringify(extra));
    $("#organization-id").value = "";
    showNotice(known ? `Organization ${value} is already in the grid.` : `Organization ${value} added to the grid.`);
    await refresh();
  }

  // -- small helpers ------------------------------------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function cellKey(flag, org) {
    return `${flag}|${org}`;
  }

  function modeOf(org, flag) {
    const organization = state.status.organizations.find((o) => o.organization_id === org);
    return organization ? organization.modes[flag] : "legacy";
  }

  function nextMode(mode) {
    return { legacy: "shadow", shadow: "live", live: "plugin", plugin: "legacy" }[mode] || "legacy";
  }

  function showError(message) {
    $("#error").textContent = message;
  }

  function showNotice(message) {
    $("#notice").textContent = message;
  }

  function percent(value) {
    return `${(value * 100).toFixed(value > 0 && value < 0.001 ? 3 : 1)}%`;
  }

  function number(value) {
    if (value === null || value === undefined) return "—";
    return Math.abs(value) >= 1000 ? value.toFixed(0) : Number(value.toPrecision(4)).toString();
  }

  function count(value) {
    return Math.round(value).toLocaleString("en");
  }

  function seconds(value) {
    if (value === null || value === undefined) return "—";
    return value >= 60 ? `${(value / 60).toFixed(value % 60 ? 1 : 0)} min` : value >= 1 ? `${value.toFixed(2)} s` : `${(value * 1000).toFixed(1)} ms`;
  }

  function show(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function clock(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : clock(date);
  }

  // -- wiring -------------------------------------------------------------------------

  function start() {
    $("#login-form").addEventListener("submit", logIn);
    $("#logout").addEventListener("click", () => logOut("Logged out."));
    $("#refresh").addEventListener("click", () => refresh({ gate: true }));
    $("#add-organization").addEventListener("submit", addOrganization);
    $("#kill-switch-button").addEventListener("click", openKillSwitch);
    $("#change-form").addEventListener("submit", confirmChange);
    $("#change-cancel").addEventListener("click", () => {
      pending = null;
      $("#change-dialog").close();
    });
    $("#change-dialog").addEventListener("close", () => {
      pending = null;
    });
    $("#change-mode").addEventListener("change", () => {
      $("#split-field").hidden = $("#change-mode").value !== "split";
      updateSummary();
    });
    $("#change-split").addEventListener("input", updateSummary);
    $("#change-flag").addEventListener("change", updateSummary);
    $("#gate-recheck").addEventListener("click", evaluateShownGate);
    $("#gate-close").addEventListener("click", () => {
      state.gateDetail = null;
      $("#gate-detail").hidden = true;
    });
    $("#diff-close").addEventListener("click", () => {
      state.mismatchShown = null;
      $("#diff").hidden = true;
    });
    $("#mismatch-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      state.mismatchFilter = { flag: $("#mismatch-flag").value, organization: $("#mismatch-organization").value };
      refresh();
    });
    $("#grid-title").setAttribute("tabindex", "-1");
    setInterval(() => {
      if (!token() || $("#console").hidden || document.hidden || $("#change-dialog").open) return;
      if (!$("#auto-refresh").checked) return;
      state.ticks += 1;
      refresh({ gate: state.ticks % GATE_EVERY === 0 });
    }, REFRESH_MS);

    if (token()) {
      $("#login").hidden = true;
      $("#console").hidden = false;
      $("#session").hidden = false;
      refresh({ gate: true });
    } else {
      showLogin("");
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
