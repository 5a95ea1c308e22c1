// The owner's hooks: state, 24-hour health from the stats route, and the everyday actions.

import { call, cursorOf, describeError, need } from "../api.js";
import { sparkline } from "../charts.js";
import { busy, cell, confirmAction, h, hidden, hookState, notice, percent, tableRegion, time } from "../dom.js";

const MAX_PAGES = 20; // 500 hooks a page: 10,000 hooks is far beyond one owner's
const STATS_CONCURRENCY = 4;

/** Every hook of the owner, following the API's cursor. */
export async function allHooks(signal) {
  const hooks = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const data = await need("GET", "hooks/", { query: { limit: 500, cursor }, signal });
    hooks.push(...(data.results || []));
    cursor = cursorOf(data.next);
    if (!cursor) break;
  }
  return hooks;
}

/** Runs `work` over items with at most `limit` at once. */
export async function eachLimited(items, limit, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  });
  await Promise.all(runners);
}

/** The hook's 24 h figures (stats route), or its newest delivery's time where that route is not there. */
async function health(hook, cells, signal) {
  const stats = await call("GET", `hooks/${hook.id}/stats/`, { query: { period: "24h" }, signal });
  if (stats.ok && stats.data) {
    const data = stats.data;
    cells.rate.replaceChildren(percent(data.success_rate));
    cells.latency.replaceChildren(sparkline(data.series, { label: `p95 latency of hook ${hook.id}, last 24 h` }));
    const last = [data.last_success_at, data.last_failure_at].filter(Boolean).sort().pop();
    cells.last.replaceChildren(time(last, { relative: true }));
    return;
  }
  const unavailable = h("span", { class: "muted", title: `stats: ${describeError(stats)}` }, "n/a");
  cells.rate.replaceChildren(unavailable);
  cells.latency.replaceChildren(unavailable.cloneNode(true));
  const newest = await call("GET", "hook_events/", { query: { webhook: hook.id, limit: 1 }, signal });
  const [delivery] = (newest.ok && newest.data && newest.data.results) || [];
  cells.last.replaceChildren(time(delivery && (delivery.modified_date || delivery.created_date), { relative: true }));
}

export async function setActive(hook, active) {
  return need("PATCH", `hooks/${hook.id}/`, { body: { is_active: active } });
}

export async function deleteHook(hook) {
  const sure = await confirmAction({
    title: `Delete hook ${hook.id}?`,
    message:
      `${hook.event_type} → ${hook.target_url} stops receiving events. As in whisperer, a deleted hook is deactivated ` +
      "and stays listed with its delivery log; Activate brings it back.",
    confirmLabel: "Delete hook",
  });
  if (!sure) return false;
  await need("DELETE", `hooks/${hook.id}/`);
  return true;
}

function row(hook, view, refresh) {
  // These cells fill in later (the stats route answers after the list): class "late" gives them, from the start,
  // the size of what comes (console.css), so its arrival moves nothing in the table, the actions included.
  const cells = {
    rate: cell("td", "Success (24 h)", { class: "num late rate" }, h("span", { class: "muted" }, "…")),
    latency: cell("td", "Latency p95", { class: "late latency" }, h("span", { class: "muted" }, "…")),
    last: cell("td", "Last delivery", { class: "late last" }, h("span", { class: "muted" }, "…")),
  };
  const values = Object.fromEntries(Object.entries(cells).map(([name, td]) => [name, td.firstChild]));
  // Each action's name says which hook it acts on ("Edit hook 12 (https://...)"); the screen shows "Edit".
  const about = () => hidden(` hook ${hook.id} (${hook.target_url})`);
  const toggle = h("button", { type: "button", class: "button small" }, hook.is_active ? "Deactivate" : "Activate", about());
  toggle.addEventListener("click", () =>
    busy(toggle, async () => {
      try {
        await setActive(hook, !hook.is_active);
        refresh(`Hook ${hook.id} ${hook.is_active ? "deactivated" : "activated"}.`);
      } catch (failure) {
        view.prepend(notice("error", failure.message));
      }
    }),
  );
  const remove = h("button", { type: "button", class: "button small danger" }, "Delete", about());
  remove.addEventListener("click", async () => {
    try {
      if (await deleteHook(hook)) refresh(`Hook ${hook.id} deleted.`);
    } catch (failure) {
      view.prepend(notice("error", failure.message));
    }
  });
  const tr = h(
    "tr",
    { dataset: { hookId: String(hook.id) } },
    cell("td", "Id", { class: "num" }, h("a", { href: `#/hooks/${hook.id}` }, String(hook.id), hidden(`: hook ${hook.id}`))),
    cell("th", "Event type", { scope: "row" }, h("a", { href: `#/hooks/${hook.id}` }, hook.event_type)),
    cell("td", "Target URL", { class: "url" }, hook.target_url),
    cell("td", "State", {}, hookState(hook)),
    cells.rate,
    cells.latency,
    cells.last,
    cell("td", "Actions", { class: "actions", "data-write": true }, h("a", { class: "button small", href: `#/hooks/${hook.id}/edit` }, "Edit", about()), toggle, remove),
  );
  return { tr, cells: values };
}

export async function hooksPage({ view, signal, go }) {
  document.title = "Hooks · Delivery console";
  view.append(
    h("div", { class: "page-head" }, h("h1", {}, "Hooks"), h("a", { class: "button primary", href: "#/hooks/new", "data-write": true }, "New hook")),
  );
  const hooks = await allHooks(signal);
  if (!hooks.length) {
    view.append(h("p", { class: "empty" }, "No hooks yet. Create one to start receiving OMS events."));
    return;
  }
  const refresh = (message) => go("hooks", message);
  const rows = hooks.map((hook) => row(hook, view, refresh));
  const table = h(
    "table",
    { class: "data hooks cards" },
    h("caption", {}, `${hooks.length} hook${hooks.length === 1 ? "" : "s"}; success rate, p95 latency and last delivery over the last 24 h`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Id", "Event type", "Target URL", "State", "Success (24 h)", "Latency p95 (24 h)", "Last delivery", "Actions"].map((label) =>
          h("th", { scope: "col", "data-write": label === "Actions" }, label),
        ),
      ),
    ),
    h("tbody", {}, rows.map((r) => r.tr)),
  );
  view.append(tableRegion("Hooks", table));
  eachLimited(rows.map((r, i) => [hooks[i], r.cells]), STATS_CONCURRENCY, ([hook, cells]) =>
    health(hook, cells, signal).catch(() => {
      if (!signal.aborted) cells.rate.replaceChildren(h("span", { class: "muted" }, "n/a"));
    }),
  );
}
