// The delivery log: newest first, filtered by the API's own filters, paged by its cursor, and able to follow
// new deliveries as they land by polling the first page.

import { call, cursorOf, describeError, hookIdOf, need } from "../api.js";
import { announce, cell, h, httpStatus, notice, statusBadge, tableRegion, time } from "../dom.js";
import { allHooks } from "./hooks.js";

const FOLLOW_EVERY_MS = 3000;
const PAGE_SIZES = ["10", "25", "50", "100"];

function isoFromLocal(value) {
  if (!value) return undefined;
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
}

/** The API query of the filters in the page's address (#/deliveries?webhook=3&delivered=false...). */
function apiQuery(filters, cursor) {
  return {
    webhook: filters.get("webhook"),
    event_type: filters.get("event_type"),
    delivered: filters.get("delivered"),
    response_http_status: filters.get("response_http_status"),
    created_date__gte: isoFromLocal(filters.get("since")),
    created_date__lte: isoFromLocal(filters.get("until")),
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

function filterForm(filters, hooks, eventTypes, go) {
  const fields = {
    webhook: select("filter-webhook", "webhook", [["", "All hooks"], ...hooks.map((hook) => [String(hook.id), `${hook.id} · ${hook.event_type} → ${hook.target_url}`])], filters.get("webhook")),
    event_type: select("filter-event_type", "event_type", [["", "All event types"], ...eventTypes.map((name) => [String(name), String(name)])], filters.get("event_type")),
    delivered: select("filter-delivered", "delivered", [["", "Any"], ["true", "Delivered"], ["false", "Not delivered (retrying, failed, pending)"]], filters.get("delivered")),
    response_http_status: h("input", { id: "filter-response_http_status", name: "response_http_status", type: "text", inputmode: "numeric", size: "4", value: filters.get("response_http_status") || "" }),
    since: h("input", { id: "filter-since", name: "since", type: "datetime-local", value: filters.get("since") || "" }),
    until: h("input", { id: "filter-until", name: "until", type: "datetime-local", value: filters.get("until") || "" }),
    limit: select("filter-limit", "limit", PAGE_SIZES.map((size) => [size, size]), filters.get("limit") || "25"),
  };
  const labels = {
    webhook: "Hook",
    event_type: "Event type",
    delivered: "Outcome",
    response_http_status: "Last HTTP status",
    since: "Created from",
    until: "Created until",
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

function deliveryRow(delivery, hooksById, isNew) {
  const attempts = delivery.attempts || [];
  return h(
    "tr",
    { class: isNew ? "new" : null, dataset: { uuid: delivery.uuid } },
    cell("th", "Created", { scope: "row" }, h("a", { href: `#/deliveries/${delivery.uuid}`, "aria-label": `Delivery ${delivery.uuid}` }, time(delivery.created_date))),
    cell("td", "Event type", {}, delivery.event_type, delivery.test ? h("span", { class: "tag" }, "test") : null),
    hookCell(delivery, hooksById),
    cell("td", "Status", {}, statusBadge(delivery.status)),
    cell("td", "Last answer", {}, httpStatus(delivery.response_http_status)),
    cell("td", "Attempts", { class: "num" }, String(attempts.length)),
    cell("td", "Next attempt", {}, delivery.next_attempt_at ? time(delivery.next_attempt_at, { relative: true }) : h("span", { class: "muted" }, "—")),
  );
}

export async function deliveriesPage({ view, query, signal, go }) {
  document.title = "Delivery log · Delivery console";
  view.append(h("h1", {}, "Delivery log"));
  const [hooks, registry] = await Promise.all([allHooks(signal), need("GET", "hooks/registry/", { signal })]);
  const eventTypes = Array.isArray(registry) ? registry : (registry && registry.results) || [];
  const hooksById = new Map(hooks.map((hook) => [String(hook.id), hook]));
  const follow = h("input", { id: "follow", type: "checkbox" });
  const followState = h("span", { class: "help", id: "follow-state" });
  const tbody = h("tbody", {});
  const caption = h("caption", {}, "Deliveries, newest first");
  const table = h(
    "table",
    { class: "data deliveries cards" },
    caption,
    h("thead", {}, h("tr", {}, ["Created", "Event type", "Hook", "Status", "Last answer", "Attempts", "Next attempt"].map((label) => h("th", { scope: "col" }, label)))),
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

  async function load({ quiet = false } = {}) {
    const answer = await call("GET", "hook_events/", { query: apiQuery(query, cursors[page]), signal });
    if (!answer.ok) {
      status.replaceChildren(notice("error", `The log could not be read: ${describeError(answer)}`));
      return;
    }
    status.replaceChildren();
    const results = answer.data.results || [];
    nextCursor = cursorOf(answer.data.next);
    // While following, the rows are redrawn only when something changed, so focus and reading stay put.
    const signature = results.map((d) => `${d.uuid}:${d.status}:${(d.attempts || []).length}`).join(" ");
    if (quiet && signature === shown) return;
    shown = signature;
    const fresh = quiet ? results.filter((d) => !seen.has(d.uuid)) : [];
    tbody.replaceChildren(...results.map((d) => deliveryRow(d, hooksById, fresh.includes(d))));
    if (!results.length) tbody.append(h("tr", {}, h("td", { colspan: "7", class: "empty" }, page ? "No older deliveries." : "No deliveries match these filters.")));
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

  view.append(
    filterForm(query, hooks, eventTypes, go),
    h("div", { class: "field check follow" }, follow, h("label", { for: "follow" }, "Follow new deliveries live"), followState),
    status,
    tableRegion("Deliveries", table),
    h("nav", { class: "pager", "aria-label": "Pages of the delivery log" }, newer, pageLabel, older),
  );
  await load();
}
