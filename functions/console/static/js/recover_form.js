// The recover form, as the hook page (one hook: POST hooks/{id}/recover/) and the delivery log (every hook: POST
// hook_events/recover/) show it: a window in UTC, deliveries still being retried or not, and any other fields the
// caller adds (the log's event type), each sending its value when set.

import { call, describeError } from "./api.js";
import { busy, h, isoFromUtcInput, notice, time, utcInputValue } from "./dom.js";

const DAY_MS = 24 * 3600 * 1000;

/**
 * prefix: the ids' start; path: the API route; labels: {since, until, submit, queued}; formAttributes: the form's
 * name (aria-label or aria-labelledby); values: {since, until} to start from; extra: [[name, label, control], ...].
 */
export function recoverForm({ prefix, path, labels, formAttributes, values = {}, extra = [], signal }) {
  const since = h("input", { id: `${prefix}-since`, type: "datetime-local", value: values.since || utcInputValue(new Date(Date.now() - DAY_MS)) });
  const until = h("input", { id: `${prefix}-until`, type: "datetime-local", value: values.until || "" });
  const retrying = h("input", { id: `${prefix}-retrying`, type: "checkbox" });
  const result = h("div", { class: "result", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button" }, labels.submit);
  const form = h(
    "form",
    { novalidate: true, ...formAttributes },
    h("div", { class: "field" }, h("label", { for: `${prefix}-since` }, labels.since), since),
    h("div", { class: "field" }, h("label", { for: `${prefix}-until` }, labels.until), until),
    extra.map(([, label, control]) => h("div", { class: "field" }, h("label", { for: control.id }, label), control)),
    h("div", { class: "field check" }, retrying, h("label", { for: `${prefix}-retrying` }, "Include deliveries still being retried")),
    submit,
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const body = { since: isoFromUtcInput(since.value) };
      if (until.value) body.until = isoFromUtcInput(until.value);
      for (const [name, , control] of extra) if (control.value) body[name] = control.value;
      if (retrying.checked) body.include_retrying = true;
      const answer = await call("POST", path, { body, signal });
      if (answer.ok && answer.data) {
        const queued = Number(answer.data.queued) || 0;
        result.replaceChildren(
          notice("success", `Queued ${queued} deliver${queued === 1 ? "y" : "ies"}${labels.queued} to be sent again, from `, time(answer.data.since), " to ", time(answer.data.until), "."),
        );
      } else {
        result.replaceChildren(notice("error", `Nothing was queued: ${describeError(answer)}`));
      }
    });
  });
  return form;
}
