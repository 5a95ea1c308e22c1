// The delivery log: newest first, filtered by the API's own filters (one event's deliveries to every hook among
// them), paged by its cursor, able to follow new deliveries as they land by polling the first page; a page's
// undelivered deliveries retried in one go, and every hook's failed ones recovered in a window.

import { call, cursorOf, describeError, hookIdOf, need } from "../api.js";
import {
  announce,
  busy,
  cell,
  h,
  heldTag,
  hidden,
  httpStatus,
  isoFromUtcInput,
  notice,
  statusBadge,
  tableRegion,
  time,
  waitingNote,
} from "../dom.js";
import { recoverForm } from "../recover_form.js";
import { allHooks } from "./hooks.js";

const FOLLOW_EVERY_MS = 3000;
const PAGE_SIZES = ["10", "25", "50", "100"];
const STATUSES = [
  ["", "Any status"],
  ["pending", "Pending (not attempted yet)"],
  ["retrying", "Retrying"],
  ["deferred", "Deferred (rate limit or open circuit)"],
  ["delivered", "Delivered"],
  ["failed", "Failed (no more attempts)"],
];
const COLUMNS = ["Created", "Event", "Hook", "Status", "Last answer", "Attempts", "Next attempt"];

/** The API query of the filters in the page's address (#/deliveries?webhook=3&status=failed...). */
function apiQuery(filters, cursor) {
  return {
    webhook: filters.get("webhook"),
    event_type: filters.get("event_type"),
    status: filters.get("status"),
    delivered: filters.get("delivered"),
    response_http_status: filters.get("response_http_status"),
    uuid: filters.get("uuid"),
    object_id: filters.get("object_id"),
    event_id: filters.get("event_id"),
    created_date__gte: isoFromUtcInput(filters.get("since")),
    created_date__lte: isoFromUtcInput(filters.get("until")),
    limit: filters.get("limit") || "25",
    cursor,
  };
}

function select(id, name, options, chosen) {
  return h(
    "select",
    { id, name },
    options.map(([value, label]) => h("option", { value, selected: value === (chosen || "") }, label)),
  );
}

function text(id, name, value, extra = {}) {
  return h("input", { id, name, type: "text", autocomplete: "off", spellcheck: "false", value: value || "", ...extra });
}

function filterForm(filters, hooks, eventTypes, go) {
  const fields = {
    webhook: select("filter-webhook", "webhook", [["", "All hooks"], ...hooks.map((hook) => [String(hook.id), `${hook.id} · ${hook.event_type} → ${hook.target_url}`])], filters.get("webhook")),
    event_type: select("filter-event_type", "event_type", [["", "All event types"], ...eventTypes.map((name) => [String(name), String(name)])], filters.get("event_type")),
    status: select("filter-status", "status", STATUSES, filters.get("status")),
    delivered: select("filter-delivered", "delivered", [["", "Any"], ["true", "Delivered"], ["false", "Not delivered (any other status)"]], filters.get("delivered")),
    response_http_status: text("filter-response_http_status", "response_http_status", filters.get("response_http_status"), { inputmode: "numeric", size: "4" }),
    object_id: text("filter-object_id", "object_id", filters.get("object_id")),
    event_id: text("filter-event_id", "event_id", filters.get("event_id")),
    uuid: text("filter-uuid", "uuid", filters.get("uuid")),
    since: h("input", { id: "filter-since", name: "since", type: "datetime-local", value: filters.get("since") || "" }),
    until: h("input", { id: "filter-until", name: "until", type: "datetime-local", value: filters.get("until") || "" }),
    limit: select("filter-limit", "limit", PAGE_SIZES.map((size) => [size, size]), filters.get("limit") || "25"),
  };
  const labels = {
    webhook: "Hook",
    event_type: "Event type",
    status: "Status",
    delivered: "Outcome",
    response_http_status: "Last HTTP status",
    object_id: "Object id (payload's id)",
    event_id: "Event id",
    uuid: "Delivery uuid",
    since: "Created from (UTC)",
    until: "Created until (UTC)",
    limit: "Rows per page",
  };
  const form = h(
    "form",
    { class: "filters", novalidate: true, "aria-label": "Filter deliveries" },
    Object.entries(fields).map(([name, control]) => h("div", { class: "field" }, h("label", { for: control.id }, labels[name]), control)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button primary" }, "Apply filters"), h("a", { class: "button", href: "#/deliveries" }, "Clear")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, control] of Object.entries(fields)) if (control.value.trim()) query.set(name, control.value.trim());
    go(`deliveries${query.toString() ? `?${query}` : ""}`);
  });
  // On a phone the filters start folded, so the deliveries are what shows first.
  const active = Object.keys(labels).filter((name) => name !== "limit" && filters.get(name)).length;
  const wide = window.matchMedia("(min-width: 641px)").matches;
  return h("details", { class: "filter-box", open: wide }, h("summary", {}, active ? `Filters (${active} active)` : "Filters"), form);
}

function hookCell(delivery, hooksById) {
  const id = hookIdOf(delivery.webhook);
  const hook = hooksById.get(String(id)) || (typeof delivery.webhook === "object" ? delivery.webhook : null);
  return cell("td", "Hook", { class: "hook-cell" }, h("a", { href: `#/hooks/${id}` }, `Hook ${id}`), hook && hook.target_url ? h("span", { class: "url small" }, hook.target_url) : null);
}

function eventCell(delivery) {
  const others = delivery.event_id
    ? h("a", { class: "small-link", href: `#/deliveries?event_id=${encodeURIComponent(delivery.event_id)}` }, "to every hook", hidden(`: event ${delivery.event_id}`))
    : null;
  return cell("td", "Event", {}, delivery.event_type, delivery.test ? h("span", { class: "tag" }, "test") : null, others ? h("span", { class: "block" }, others) : null);
}

function deliveryRow(delivery, hooksById, isNew) {
  const attempts = delivery.attempts || [];
  return h(
    "tr",
    { class: isNew ? "new" : null, dataset: { uuid: delivery.uuid } },
    // The link's name starts with what it shows (the time), then says which delivery it opens.
    cell("th", "Created", { scope: "row" }, h("a", { href: `#/deliveries/${delivery.uuid}` }, time(delivery.created_date), hidden(`, delivery ${delivery.uuid.slice(0, 8)}`))),
    eventCell(delivery),
    hookCell(delivery, hooksById),
    cell("td", "Status", { class: "status-cell" }, statusBadge(delivery.status, delivery), waitingNote(delivery, { when: false }), heldTag(delivery)),
    cell("td", "Last answer", {}, httpStatus(delivery.response_http_status)),
    cell("td", "Attempts", { class: "num" }, String(attempts.length)),
    cell("td", "Next attempt", {}, delivery.next_attempt_at ? time(delivery.next_attempt_at, { relative: true }) : h("span", { class: "muted" }, "—")),
  );
}

/** "Retry these": one manual attempt (forced) for each undelivered delivery on the page, one request after the
 * other, with its progress; at most a page (100) at a time. */
function bulkRetry(shown, signal, reload) {
  const button = h("button", { type: "button", class: "button" }, "Retry the undelivered ones on this page");
  const progress = h("progress", { id: "bulk-progress", max: "1", value: "0", hidden: true, "aria-label": "Retry progress" });
  const outcome = h("p", { class: "help", role: "status" });
  button.addEventListener("click", () =>
    busy(button, async () => {
      const wanted = shown().filter((d) => d.status !== "delivered");
      if (!wanted.length) {
        outcome.textContent = "Nothing to retry: every delivery on this page is delivered.";
        return;
      }
      progress.max = wanted.length;
      progress.value = 0;
      progress.hidden = false;
      const tally = { delivered: 0, failed: 0, refused: 0 };
      for (const [i, delivery] of wanted.entries()) {
        if (signal.aborted) return;
        const answer = await call("POST", `hook_events/${delivery.uuid}/retry/`, { body: { force: true }, signal });
        const data = answer.data || {};
        if (answer.status === 200) tally.delivered += 1;
        else if (answer.status === 406 && "delivered" in data) tally.failed += 1;
        else tally.refused += 1;
        progress.value = i + 1;
        outcome.textContent = `${i + 1} of ${wanted.length} retried: ${tally.delivered} delivered, ${tally.failed} not delivered${tally.refused ? `, ${tally.refused} refused` : ""}.`;
      }
      announce(outcome.textContent);
      await reload();
    }),
  );
  return h(
    "div",
    { class: "bulk", "data-write": true },
    button,
    h("p", { class: "help" }, "One attempt now for each delivery shown that is not delivered (forced: even those waiting for a retry); one request each."),
    progress,
    outcome,
  );
}

/** Every hook's failed deliveries in a window, queued again (POST hook_events/recover/), with the log's event type. */
function recoverPanel(filters, eventTypes, signal) {
  const type = select("recover-all-event_type", "event_type", [["", "Every event type"], ...eventTypes.map((name) => [String(name), String(name)])], filters.get("event_type"));
  const form = recoverForm({
    prefix: "recover-all",
    path: "hook_events/recover/",
    labels: { since: "Created from (UTC)", until: "Created until (UTC; empty: now)", submit: "Re-send failed deliveries of every hook", queued: " of every active hook" },
    formAttributes: { class: "recover-all", "aria-label": "Recover failed deliveries of every hook" },
    values: { since: filters.get("since"), until: filters.get("until") },
    extra: [["event_type", "Only deliveries of", type]],
    signal,
  });
  return h(
    "details",
    { class: "panel recover-box", "data-write": true },
    h("summary", {}, "Recover after an outage: every hook"),
    h("p", { class: "help" }, "Sends again, once each, the failed deliveries of all your active hooks created in a window (at most 1,000 a call)."),
    form,
  );
}

export async function deliveriesPage({ view, query, signal, go }) {
  document.title = "Delivery log · Delivery console";
  const eventId = query.get("event_id");
  view.append(h("h1", {}, eventId ? "One event's deliveries" : "Delivery log"));
  const [hooks, registry] = await Promise.all([allHooks(signal), need("GET", "hooks/registry/", { signal })]);
  const eventTypes = Array.isArray(registry) ? registry : (registry && registry.results) || [];
  const hooksById = new Map(hooks.map((hook) => [String(hook.id), hook]));
  const follow = h("input", { id: "follow", type: "checkbox" });
  const followState = h("span", { class: "help", id: "follow-state" });
  const tbody = h("tbody", {});
  const table = h(
    "table",
    { class: "data deliveries cards" },
    h("caption", {}, eventId ? `The deliveries of event ${eventId}, one per hook it reached` : "Deliveries, newest first"),
    h("thead", {}, h("tr", {}, COLUMNS.map((label) => h("th", { scope: "col" }, label)))),
    tbody,
  );
  const status = h("div", { class: "log-status" });
  const newer = h("button", { type: "button", class: "button" }, "← Newer");
  const older = h("button", { type: "button", class: "button" }, "Older →");
  const pageLabel = h("span", { class: "page-label" });
  const cursors = [null]; // cursors[i] fetches page i + 1; the first page has none
  let page = 0;
  let nextCursor = null;
  let seen = new Set();
  let shown = null;
  let results = [];
  let loads = 0; // loads started: an answer that lands after a later load has started (a poll, then "Older") is dropped

  async function load({ quiet = false } = {}) {
    const mine = (loads += 1);
    const answer = await call("GET", "hook_events/", { query: apiQuery(query, cursors[page]), signal });
    if (mine !== loads) return;
    if (!answer.ok) {
      status.replaceChildren(notice("error", `The log could not be read: ${describeError(answer)}`));
      return;
    }
    status.replaceChildren();
    results = answer.data.results || [];
    nextCursor = cursorOf(answer.data.next);
    // While following, the rows are redrawn only when something changed, so focus and reading stay put.
    const signature = results.map((d) => `${d.uuid}:${d.status}:${d.held}:${(d.attempts || []).length}`).join(" ");
    if (quiet && signature === shown) return;
    shown = signature;
    const fresh = quiet ? results.filter((d) => !seen.has(d.uuid)) : [];
    tbody.replaceChildren(...results.map((d) => deliveryRow(d, hooksById, fresh.includes(d))));
    if (!results.length) tbody.append(h("tr", {}, h("td", { colspan: String(COLUMNS.length), class: "empty" }, page ? "No older deliveries." : "No deliveries match these filters.")));
    seen = new Set(results.map((d) => d.uuid));
    if (fresh.length) announce(`${fresh.length} new deliver${fresh.length === 1 ? "y" : "ies"}.`);
    newer.disabled = page === 0;
    older.disabled = !nextCursor;
    pageLabel.textContent = `Page ${page + 1}`;
  }

  newer.addEventListener("click", async () => {
    page = Math.max(0, page - 1);
    await load();
  });
  older.addEventListener("click", async () => {
    if (!nextCursor) return;
    cursors[page + 1] = nextCursor;
    page += 1;
    // The next page's cursor comes with this page's answer: a second press before it would take this page again.
    nextCursor = null;
    older.disabled = true;
    follow.checked = false;
    followState.textContent = "";
    await load();
  });

  let timer = null;
  const poll = async () => {
    timer = null;
    if (signal.aborted || !follow.checked) return;
    try {
      if (!document.hidden) await load({ quiet: true });
    } finally {
      if (!signal.aborted && follow.checked) timer = setTimeout(poll, FOLLOW_EVERY_MS);
    }
  };
  follow.addEventListener("change", async () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!follow.checked) {
      followState.textContent = "";
      return;
    }
    followState.textContent = "Following: new deliveries appear at the top every few seconds.";
    if (page !== 0) {
      page = 0;
      await load();
    }
    timer = setTimeout(poll, FOLLOW_EVERY_MS);
  });
  signal.addEventListener("abort", () => timer && clearTimeout(timer));

  if (eventId) {
    view.append(notice("info", "Event ", h("code", { class: "wrap" }, eventId), ": its delivery to each of your hooks it reached. ", h("a", { href: "#/deliveries" }, "Back to the whole log")));
  }
  view.append(
    filterForm(query, hooks, eventTypes, go),
    h("div", { class: "field check follow" }, follow, h("label", { for: "follow" }, "Follow new deliveries live"), followState),
    status,
    tableRegion("Deliveries", table),
    h("nav", { class: "pager", "aria-label": "Pages of the delivery log" }, newer, pageLabel, older),
    h("div", { class: "log-actions" }, bulkRetry(() => results, signal, () => load()), recoverPanel(query, eventTypes, signal)),
  );
  await load();
}
