// The event catalog: each OMS event type with its description, JSON Schema and an example payload, so an
// integrator knows what arrives before the first event does.

import { call, describeError, need } from "../api.js";
import { h, notice, pretty } from "../dom.js";

function entry(item) {
  const name = String(item.event_type);
  const id = `event-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return h(
    "section",
    { class: "catalog-entry", "aria-labelledby": id, dataset: { eventType: name } },
    h("h2", { id }, h("code", {}, name)),
    item.description ? h("p", {}, String(item.description)) : null,
    item.example !== undefined
      ? h("details", {}, h("summary", {}, "Example payload"), h("pre", { class: "body" }, pretty(item.example)))
      : null,
    item.schema !== undefined ? h("details", {}, h("summary", {}, "JSON Schema of the payload"), h("pre", { class: "body" }, pretty(item.schema))) : null,
  );
}

export async function catalogPage({ view, signal }) {
  document.title = "Event catalog · Delivery console";
  view.append(h("h1", {}, "Event catalog"));
  const answer = await call("GET", "event_types/", { query: { limit: 100 }, signal });
  let items;
  if (answer.ok && answer.data && Array.isArray(answer.data.results)) {
    items = answer.data.results;
  } else {
    const names = await need("GET", "hooks/registry/", { signal });
    items = (Array.isArray(names) ? names : []).map((name) => ({ event_type: name }));
    view.append(notice("info", `Descriptions, schemas and examples are not available from this API (${describeError(answer)}); these are the event types you can subscribe to.`));
  }
  const filter = h("input", { id: "catalog-filter", type: "search", autocomplete: "off", spellcheck: "false" });
  const count = h("p", { class: "help", role: "status" });
  const entries = items.map((item) => [String(item.event_type), entry(item)]);
  const list = h("div", { class: "catalog" }, entries.map(([, element]) => element));
  const apply = () => {
    const wanted = filter.value.trim().toLowerCase().replace(/-/g, ".");
    let shown = 0;
    for (const [name, element] of entries) {
      element.hidden = Boolean(wanted) && !name.toLowerCase().includes(wanted);
      if (!element.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${entries.length} event types`;
  };
  filter.addEventListener("input", apply);
  view.append(h("div", { class: "field" }, h("label", { for: "catalog-filter" }, "Find an event type"), filter, count), list);
  apply();
}
