// One hook: its settings, its newest deliveries, deliveries per hour (or day) by outcome, and the self-service
// actions (test event, recover, rotate secret) of the API's hooks/{id}/test/, recover/ and rotate_secret/ routes.

import { call, describeError, need } from "../api.js";
import { deliveriesChart } from "../charts.js";
import {
  busy,
  cell,
  copyText,
  duration,
  h,
  hidden,
  hookState,
  httpStatus,
  milliseconds,
  notice,
  percent,
  statusBadge,
  tableRegion,
  time,
  waitingNote,
} from "../dom.js";
import { recoverForm } from "../recover_form.js";
import { deleteHook, setActive } from "./hooks.js";

const PERIODS = [
  ["24h", "24 hours"],
  ["7d", "7 days"],
  ["30d", "30 days"],
];
const TEST_EVENT_TYPE = "webhook.test";

function retrySummary(config) {
  if (!config || !config.choice) return "default";
  const kwargs = Object.entries(config.kwargs || {})
    .map(([name, value]) => `${name} ${value}`)
    .join(", ");
  const retries = config.max_retries !== undefined ? `; at most ${config.max_retries} retries` : "";
  return `${config.choice}${kwargs ? ` (${kwargs})` : ""}${retries}`;
}

function facts(hook) {
  const headers = Object.entries(hook.additional_headers || {});
  const rows = [
    ["Event type", hook.event_type],
    ["Target URL", h("span", { class: "url" }, hook.target_url)],
    ["State", hookState(hook)],
    ["Secret", hook.secret_key_set ? "set (deliveries are signed)" : "none (deliveries are not signed)"],
    ...(hook.signature_scheme === "asymmetric"
      ? [["Public key (Ed25519, v1a)", h("code", { class: "wrap", id: "public-key" }, String(hook.public_key || ""))]]
      : []),
    ["Retries", retrySummary(hook.retry_countdown_config)],
    ["Rate limit", typeof hook.rate_limit === "number" ? `at most ${hook.rate_limit} deliveries a second (the rest wait, deferred)` : "none"],
    ...("ordering" in hook ? [["Ordering", hook.ordering === "object" ? "each object's deliveries in the order of its events" : "none (as they come)"]] : []),
    [
      "Additional headers",
      headers.length ? h("ul", { class: "plain" }, headers.map(([name, value]) => h("li", {}, h("code", {}, `${name}: ${value}`)))) : "none",
    ],
    ...("config" in hook ? [["Basic auth", hook.config && hook.config.auth ? `as ${hook.config.auth.username} (password stored, never shown)` : "none"]] : []),
    ...(hook.config && Object.keys(hook.config).some((key) => key !== "auth")
      ? [["Other config", h("code", { class: "wrap" }, JSON.stringify(Object.fromEntries(Object.entries(hook.config).filter(([key]) => key !== "auth"))))]]
      : []),
    ["Filter", hook.filter ? h("pre", { class: "filter" }, h("code", {}, JSON.stringify(hook.filter, null, 2))) : "Every event"],
    ...(hook.callback ? [["Callback", h("code", {}, String(hook.callback))]] : []),
    ["Created", time(hook.created_date)],
    ["Changed", time(hook.modified_date)],
  ];
  return h("dl", { class: "facts" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** Stats of one period: the chart and the figures around it, or why there are none. */
async function statsOf(hook, period, signal) {
  const answer = await call("GET", `hooks/${hook.id}/stats/`, { query: { period }, signal });
  if (!answer.ok) return [notice("info", `Statistics are not available: ${describeError(answer)}`)];
  const stats = answer.data;
  const latency = stats.latency_ms || {};
  const attempts = stats.attempts || {};
  const deliveries = stats.deliveries || {};
  return [
    h(
      "dl",
      { class: "figures" },
      [
        ["Success rate", percent(stats.success_rate)],
        ["Attempts", `${attempts.total ?? 0} (${attempts.succeeded ?? 0} ok, ${attempts.failed ?? 0} failed)`],
        ["Deliveries", `${deliveries.delivered ?? 0} delivered, ${deliveries.retrying ?? 0} retrying, ${deliveries.failed ?? 0} failed, ${deliveries.pending ?? 0} pending, ${deliveries.deferred ?? 0} deferred`],
        ["Latency p50 / p95 / p99", `${milliseconds(latency.p50)} / ${milliseconds(latency.p95)} / ${milliseconds(latency.p99)}`],
        ["Last success", time(stats.last_success_at, { relative: true })],
        ["Last failure", time(stats.last_failure_at, { relative: true })],
      ].map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
    ),
    deliveriesChart(stats),
  ];
}

function attemptSummary(delivery) {
  const attempts = delivery.attempts || [];
  const last = attempts[attempts.length - 1] || {};
  return h(
    "ul",
    { class: "plain" },
    h("li", {}, statusBadge(delivery.status, delivery), " ", httpStatus(last.status_code ?? delivery.response_http_status), " in ", duration(last.duration ?? delivery.response_time)),
    last.error ? h("li", {}, "Error: ", h("span", { class: "error-text" }, last.error)) : null,
    delivery.response_content ? h("li", {}, "Answer (first 1 KiB): ", h("pre", { class: "body" }, delivery.response_content)) : null,
    delivery.uuid ? h("li", {}, h("a", { href: `#/deliveries/${delivery.uuid}` }, "Open this delivery's attempts and request")) : null,
  );
}

/** The catalog's example payload of each type (GET event_types/), for the test event's payload box. */
async function catalogExamples(signal) {
  const answer = await call("GET", "event_types/", { query: { limit: 100 }, signal });
  const items = answer.ok && answer.data && Array.isArray(answer.data.results) ? answer.data.results : [];
  return new Map(items.filter((item) => item.example !== undefined).map((item) => [String(item.event_type), item.example]));
}

function testEventPanel(hook, signal) {
  const result = h("div", { class: "result", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "button primary" }, "Send test event");
  const type = h("select", { id: "test-event_type", name: "event_type", "aria-describedby": "test-event_type-help" }, h("option", { value: TEST_EVENT_TYPE }, `${TEST_EVENT_TYPE} (safe: receivers ignore it)`));
  const payload = h("textarea", { id: "test-payload", name: "payload", rows: "6", spellcheck: "false", "aria-describedby": "test-payload-help" });
  const payloadError = h("p", { id: "test-payload-error", class: "field-error", hidden: true });
  let examples = new Map();
  catalogExamples(signal)
    .then((found) => {
      examples = found;
      type.append(...[...found.keys()].map((name) => h("option", { value: name }, name)));
    })
    .catch(() => {});
  type.addEventListener("change", () => {
    payload.value = type.value === TEST_EVENT_TYPE ? "" : JSON.stringify(examples.get(type.value) ?? {}, null, 2);
  });
  const form = h(
    "form",
    { novalidate: true, "aria-labelledby": "test-title" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "test-event_type" }, "Event type"),
      type,
      h("p", { id: "test-event_type-help", class: "help" }, "Another type arrives as that event: your endpoint may act on it as on a real one."),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "test-payload" }, "Payload (JSON; empty: the default)"),
      payload,
      h("p", { id: "test-payload-help", class: "help" }, "Choosing a type fills in the catalog's example; edit it as you like."),
      payloadError,
    ),
    button,
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    payloadError.hidden = true;
    payload.removeAttribute("aria-invalid");
    // The payload goes as the text typed, checked but never re-serialised, so `1.0` or a long integer arrive as
    // written; the rest of the body is built around it.
    const parts = [];
    if (type.value !== TEST_EVENT_TYPE) parts.push(`"event_type":${JSON.stringify(type.value)}`);
    if (payload.value.trim()) {
      try {
        JSON.parse(payload.value);
      } catch (error) {
        payloadError.textContent = `Not valid JSON: ${error.message}`;
        payloadError.hidden = false;
        payload.setAttribute("aria-invalid", "true");
        payload.setAttribute("aria-describedby", "test-payload-help test-payload-error");
        payload.focus();
        return;
      }
      parts.push(`"payload":${payload.value.trim()}`);
    }
    const rawBody = `{${parts.join(",")}}`;
    busy(button, async () => {
      result.replaceChildren(h("p", { class: "muted" }, "Sending…"));
      const answer = await call("POST", `hooks/${hook.id}/test/`, { rawBody, signal });
      if (answer.status === 200 || (answer.status === 406 && answer.data && answer.data.test)) {
        const delivered = answer.status === 200;
        result.replaceChildren(
          notice(delivered ? "success" : "error", delivered ? "Test event delivered." : "Test event not delivered.", answer.data.detail ? ` ${answer.data.detail}` : ""),
          attemptSummary(answer.data),
        );
      } else {
        result.replaceChildren(notice("error", `The test event could not be sent: ${describeError(answer)}`));
      }
    });
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "test-title", "data-write": true },
    h("h2", { id: "test-title" }, "Test event"),
    h("p", { class: "help" }, "Sends one signed test event to this hook now and shows what your endpoint answered. Test deliveries are never retried."),
    form,
  );
}

function recoverPanel(hook, signal) {
  const form = recoverForm({
    prefix: "recover",
    path: `hooks/${hook.id}/recover/`,
    labels: { since: "Since (UTC)", until: "Until (UTC; optional, default now)", submit: "Re-send failed deliveries", queued: "" },
    formAttributes: { "aria-labelledby": "recover-title" },
    signal,
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "recover-title", "data-write": true },
    h("h2", { id: "recover-title" }, "Recover after an outage"),
    h("p", { class: "help" }, "Sends again, once each, the deliveries of this hook that failed in a time window."),
    form,
  );
}

function rotatePanel(hook, signal, onRotated) {
  const own = h("input", { id: "rotate-secret", type: "password", autocomplete: "new-password", spellcheck: "false", "aria-describedby": "rotate-secret-help" });
  const overlap = h("input", { id: "rotate-overlap", type: "text", inputmode: "numeric", value: "86400", "aria-describedby": "rotate-overlap-help" });
  const result = h("div", { class: "result" });
  const submit = h("button", { type: "submit", class: "button" }, "Rotate secret");
  const form = h(
    "form",
    { novalidate: true, "aria-labelledby": "rotate-title" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "rotate-secret" }, "New secret (optional)"),
      own,
      h("p", { id: "rotate-secret-help", class: "help" }, "Leave empty to have a strong one generated and shown once."),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "rotate-overlap" }, "Old secret keeps signing for (seconds)"),
      overlap,
      h("p", { id: "rotate-overlap-help", class: "help" }, "0 to 604800; during the overlap deliveries carry both signatures."),
    ),
    submit,
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const body = {};
      if (own.value) body.secret_key = own.value;
      if (overlap.value.trim() !== "") body.overlap_seconds = Number.isFinite(Number(overlap.value)) ? Number(overlap.value) : overlap.value;
      const answer = await call("POST", `hooks/${hook.id}/rotate_secret/`, { body, signal });
      own.value = "";
      if (!answer.ok || !answer.data) {
        result.replaceChildren(notice("error", `The secret was not rotated: ${describeError(answer)}`));
        return;
      }
      const expires = answer.data.previous_secret_expires_at;
      const after = expires ? ["The previous secret keeps signing until ", time(expires), "."] : "The previous secret no longer signs.";
      if (answer.data.secret_key) {
        const shown = h("input", { id: "new-secret", type: "text", readonly: true, value: answer.data.secret_key, class: "secret", spellcheck: "false" });
        const copied = h("span", { class: "help", role: "status" });
        const copy = h("button", { type: "button", class: "button small" }, "Copy");
        copy.addEventListener("click", () => copyText(shown.value, copied));
        result.replaceChildren(
          notice(
            "success",
            h("p", {}, h("strong", {}, "Secret rotated. "), "This is the only time the new secret is shown: store it with your receiver now."),
            h("div", { class: "field" }, h("label", { for: "new-secret" }, "New secret"), h("div", { class: "inline" }, shown, copy, copied)),
            h("p", {}, after),
          ),
        );
        shown.focus();
        shown.select();
      } else {
        result.replaceChildren(notice("success", h("p", {}, "Secret rotated to the one you gave. "), h("p", {}, after)));
      }
      if (answer.data.hook) onRotated(answer.data.hook);
    });
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "rotate-title", "data-write": true },
    h("h2", { id: "rotate-title" }, "Rotate secret"),
    h("p", { class: "help" }, "Replace a leaked or old secret without missing a delivery: both sign during the overlap."),
    form,
  );
}

async function recentDeliveries(box, hook, signal) {
  const answer = await need("GET", "hook_events/", { query: { webhook: hook.id, limit: 10 }, signal });
  const results = answer.results || [];
  if (!results.length) {
    box.replaceChildren(h("p", { class: "empty" }, "No deliveries yet."));
    return;
  }
  const table = h(
    "table",
    { class: "data cards" },
    h("caption", {}, "The 10 newest deliveries of this hook"),
    h("thead", {}, h("tr", {}, ["Created", "Event type", "Status", "Last answer", "Attempts"].map((label) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      results.map((d) =>
        h(
          "tr",
          {},
          cell("th", "Created", { scope: "row" }, h("a", { href: `#/deliveries/${d.uuid}` }, time(d.created_date), hidden(`, delivery ${d.uuid.slice(0, 8)}`))),
          cell("td", "Event type", {}, d.event_type, d.test ? h("span", { class: "tag" }, "test") : null),
          cell("td", "Status", { class: "status-cell" }, statusBadge(d.status, d), waitingNote(d)),
          cell("td", "Last answer", {}, httpStatus(d.response_http_status)),
          cell("td", "Attempts", { class: "num" }, String((d.attempts || []).length)),
        ),
      ),
    ),
  );
  box.replaceChildren(tableRegion("Recent deliveries", table));
}

export async function hookDetailPage({ view, params, signal, go }) {
  const [id] = params;
  document.title = `Hook ${id} · Delivery console`;
  const hook = await need("GET", `hooks/${id}/`, { signal });
  const heading = h("h1", {}, `Hook ${hook.id}: ${hook.event_type}`);
  const factsBox = h("div", {}, facts(hook));
  const about = hidden(` hook ${hook.id} (${hook.target_url})`);
  const toggle = h("button", { type: "button", class: "button", "data-write": true }, hook.is_active ? "Deactivate" : "Activate", about.cloneNode(true));
  toggle.addEventListener("click", () =>
    busy(toggle, async () => {
      await setActive(hook, !hook.is_active);
      go(`hooks/${hook.id}`, hook.is_active ? "Hook deactivated." : "Hook activated.");
    }),
  );
  const remove = h("button", { type: "button", class: "button danger", "data-write": true }, "Delete", about.cloneNode(true));
  remove.addEventListener("click", async () => {
    if (await deleteHook(hook)) go("hooks", `Hook ${hook.id} deleted.`);
  });
  const statsBox = h("div", { class: "stats" }, h("p", { class: "muted" }, "Loading…"));
  let periodShown = "24h"; // the period last chosen: an answer for an earlier choice that lands after it is dropped
  const showStats = async (period) => {
    periodShown = period;
    statsBox.setAttribute("aria-busy", "true"); // the figures on screen stay until the new ones replace them
    const shown = await statsOf(hook, period, signal).catch((failure) => [notice("error", failure.message)]);
    if (period !== periodShown) return;
    statsBox.replaceChildren(...shown);
    statsBox.removeAttribute("aria-busy");
  };
  const periodButtons = PERIODS.map(([period, label]) => {
    const button = h("button", { type: "button", class: "button small", "aria-pressed": period === "24h" ? "true" : "false" }, label);
    button.addEventListener("click", () => {
      for (const other of periodButtons) other.setAttribute("aria-pressed", other === button ? "true" : "false");
      showStats(period);
    });
    return button;
  });
  const recentBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const panels = h("div", { class: "panels" }, testEventPanel(hook, signal), recoverPanel(hook, signal), rotatePanel(hook, signal, (changed) => factsBox.replaceChildren(facts(changed))));
  view.append(
    h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "#/hooks" }, "Hooks"), " / ", `Hook ${hook.id}`),
    h("div", { class: "page-head" }, heading),
    h(
      "div",
      { class: "toolbar", role: "group", "aria-label": "Hook actions" },
      h("a", { class: "button", href: `#/hooks/${hook.id}/edit`, "data-write": true }, "Edit", about.cloneNode(true)),
      toggle,
      remove,
      h("a", { class: "button", href: `#/deliveries?webhook=${hook.id}` }, "Delivery log of this hook"),
    ),
    factsBox,
    h("section", { "aria-labelledby": "recent-title" }, h("h2", { id: "recent-title" }, "Recent deliveries"), recentBox),
    h(
      "section",
      { "aria-labelledby": "stats-title" },
      h("div", { class: "section-head" }, h("h2", { id: "stats-title" }, "Deliveries by status"), h("div", { class: "toggle", role: "group", "aria-label": "Period" }, periodButtons)),
      statsBox,
    ),
  );
  // The action panels come once the sections above them are filled in: were they shown before, the figures, the
  // chart and the deliveries landing above would push them down, from under a pointer pressing one of their
  // buttons (a click whose press and release fall on different elements does nothing).
  await Promise.all([
    showStats("24h"),
    recentDeliveries(recentBox, hook, signal).catch((failure) => recentBox.replaceChildren(notice("error", failure.message))),
  ]);
  view.append(panels);
}

