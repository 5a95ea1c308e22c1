// One delivery: "what did you send me, when, and what did I answer". Its attempts as a timeline (time, status,
// duration, error, the first 1 KiB of the answer), the exact request, and a retry that shows the new attempt.
// While the service may still attempt it (pending, retrying, deferred), the page follows it.

import { call, describeError, hookIdOf, need } from "../api.js";
import { announce, busy, copyText, duration, h, heldTag, httpStatus, indentJson, notice, statusBadge, time, unfinished, waitingNote } from "../dom.js";

const REFRESH_EVERY_MS = 3000;

/** The body exactly as sent (the API's request_body: the signed bytes as text). Never parsed and re-serialised
 * here: JavaScript would turn 1.0 into 1 and round integers above 2^53, and a signature check would fail. */
function sentBody(delivery) {
  return typeof delivery.request_body === "string" ? delivery.request_body : null;
}

function headersTable(headers, caption) {
  return h(
    "table",
    { class: "data headers" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Header"), h("th", { scope: "col" }, "Value"))),
    h(
      "tbody",
      {},
      Object.entries(headers).map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, h("code", {}, name)), h("td", {}, h("code", { class: "wrap" }, String(value))))),
    ),
  );
}

function attemptKind(attempt, delivery) {
  if (delivery.test || attempt.test) return "test";
  return attempt.manual ? "manual retry" : "automatic";
}

/** The answer body of an attempt: its own, or (for an attempt recorded before answers were kept per attempt) the
 * delivery's latest answer for the latest attempt. */
function answerOf(attempt, index, delivery) {
  if (typeof attempt.response_content === "string") return attempt.response_content;
  if (attempt.status_code === null || attempt.status_code === undefined) return null; // no answer came
  const latest = index === (delivery.attempts || []).length - 1;
  const ownHeaders = attempt.response_headers && Object.keys(attempt.response_headers).length;
  return latest && !ownHeaders ? delivery.response_content : null;
}

function timeline(delivery, highlightFrom) {
  const attempts = delivery.attempts || [];
  if (!attempts.length) return h("p", { class: "empty" }, "No attempt yet.");
  return h(
    "ol",
    { class: "timeline" },
    attempts.map((attempt, i) => {
      const ok = attempt.status_code >= 200 && attempt.status_code < 300;
      const answer = answerOf(attempt, i, delivery);
      return h(
        "li",
        { class: `attempt ${ok ? "ok" : "bad"}${i >= highlightFrom ? " new" : ""}`, "aria-label": `Attempt ${i + 1}` },
        h(
          "h3",
          {},
          `Attempt ${i + 1}: `,
          h("span", { class: ok ? "outcome-ok" : "outcome-bad" }, httpStatus(attempt.status_code)),
          ` in ${duration(attempt.duration)}`,
        ),
        h(
          "dl",
          { class: "facts compact" },
          h("dt", {}, "At"),
          h("dd", {}, time(attempt.at, { relative: true })),
          h("dt", {}, "Kind"),
          h("dd", {}, attemptKind(attempt, delivery)),
          attempt.error ? [h("dt", {}, "Error"), h("dd", { class: "error-text" }, attempt.error)] : null,
        ),
        answer !== null && answer !== undefined
          ? h("div", { class: "answer" }, h("h4", {}, "Answer body (first 1 KiB)"), h("pre", { class: "body" }, answer === "" ? "(empty)" : answer))
          : attempt.status_code === null || attempt.status_code === undefined
            ? null
            : h("p", { class: "help" }, "This attempt's answer body was not kept (recorded before answers were kept per attempt)."),
        attempt.response_headers && Object.keys(attempt.response_headers).length
          ? h("details", {}, h("summary", {}, "Answer headers"), h("div", { class: "table-scroll" }, headersTable(attempt.response_headers, `Headers of the answer to attempt ${i + 1} (at most 20, 4 KB)`)))
          : null,
        attempt.request_headers && typeof attempt.request_headers === "object"
          ? h("details", {}, h("summary", {}, "Headers sent with this attempt"), h("div", { class: "table-scroll" }, headersTable(attempt.request_headers, `Headers of attempt ${i + 1}`)))
          : null,
      );
    }),
  );
}

function requestSection(delivery, hook) {
  const attempts = delivery.attempts || [];
  const withHeaders = [...attempts].reverse().find((a) => a.request_headers && typeof a.request_headers === "object");
  const target = (typeof delivery.webhook === "object" && delivery.webhook && delivery.webhook.target_url) || delivery.target_url || (hook && hook.target_url);
  const body = sentBody(delivery);
  const copied = h("span", { class: "help", role: "status" });
  const copy = h("button", { type: "button", class: "button small", disabled: body === null }, "Copy body as sent");
  copy.addEventListener("click", () => copyText(body, copied));
  return h(
    "section",
    { "aria-labelledby": "request-title" },
    h("h2", { id: "request-title" }, "Request sent"),
    h("p", {}, h("code", { class: "wrap" }, `POST ${target || "(the hook's target URL)"}`)),
    withHeaders
      ? h("div", { class: "table-scroll" }, headersTable(withHeaders.request_headers, "Headers of the latest attempt (signatures included, the secret never)"))
      : h("p", { class: "help" }, "This API does not report the headers of each attempt; see the README for the headers every delivery carries."),
    h("div", { class: "section-head" }, h("h3", {}, "Body"), h("div", { class: "inline" }, copy, copied)),
    h("p", { class: "help" }, "Shown indented; the copy is the exact bytes sent and signed."),
    body === null
      ? h("p", { class: "help" }, "This API does not show the body as sent.")
      : h("pre", { class: "body", "aria-label": "Request body", tabindex: "0" }, indentJson(body)),
  );
}

/** Where a delivery of an ordered hook stands: its object, and the earlier delivery it waits for. */
function orderRows(delivery) {
  const ordering = delivery.ordering;
  if (!ordering) return [];
  if (!ordering.object) return [["Order", ordering.note || "not ordered"]];
  const waits = delivery.waits_for
    ? ["held: waits for ", h("a", { href: `#/deliveries/${delivery.waits_for}` }, h("code", {}, delivery.waits_for)), " to end"]
    : "not waiting for an earlier delivery";
  return [["Object", h("code", {}, ordering.object)], ["Waits for", waits]];
}

function summary(delivery, hook) {
  const id = hookIdOf(delivery.webhook);
  const rows = [
    ["Status", [statusBadge(delivery.status, delivery), heldTag(delivery), delivery.test ? h("span", { class: "tag" }, "test") : null]],
    ...(delivery.status === "deferred" ? [["Waiting because", waitingNote(delivery)]] : []),
    ...orderRows(delivery),
    ["Event type", delivery.event_type],
    ...(delivery.event_id
      ? [["Event", [h("code", { class: "wrap block" }, delivery.event_id), h("a", { href: `#/deliveries?event_id=${encodeURIComponent(delivery.event_id)}` }, "Its delivery to every hook")]]]
      : []),
    ...(delivery.object_id ? [["OMS object", h("a", { href: `#/deliveries?object_id=${encodeURIComponent(delivery.object_id)}` }, `id ${delivery.object_id}`)]] : []),
    ["Hook", [h("a", { href: `#/hooks/${id}` }, `Hook ${id}`), hook ? h("span", { class: "url small" }, hook.target_url) : null]],
    ["Created", time(delivery.created_date, { relative: true })],
    ["Attempts", String((delivery.attempts || []).length)],
    // whisperer's retry_count counts every attempt, the first try and manual retries included
    ["Retries made", String(Math.max(0, (delivery.retry_count ?? 0) - 1))],
    ["Next attempt", delivery.next_attempt_at ? time(delivery.next_attempt_at, { relative: true }) : "none scheduled"],
    ["Uuid", h("code", {}, delivery.uuid)],
  ];
  return h("dl", { class: "facts" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

export async function deliveryPage({ view, params, signal }) {
  const [uuid] = params;
  document.title = `Delivery ${uuid.slice(0, 8)} · Delivery console`;
  let delivery = await need("GET", `hook_events/${uuid}/`, { signal });
  const hookAnswer = await call("GET", `hooks/${hookIdOf(delivery.webhook)}/`, { signal });
  const hook = hookAnswer.ok ? hookAnswer.data : null;
  const summaryBox = h("div", {});
  const timelineBox = h("div", {});
  const requestBox = h("div", {});
  const following = h("p", { class: "help following", role: "status" });
  const draw = (highlightFrom = Infinity) => {
    following.textContent = unfinished(delivery) ? "Unfinished: this page refreshes every 3 s." : "";
    summaryBox.replaceChildren(summary(delivery, hook));
    timelineBox.replaceChildren(timeline(delivery, highlightFrom));
    requestBox.replaceChildren(requestSection(delivery, hook));
  };

  const force = h("input", { id: "retry-force", type: "checkbox" });
  const retry = h("button", { type: "button", class: "button primary" }, "Retry now");
  const outcome = h("div", { class: "result" });
  retry.addEventListener("click", () =>
    busy(retry, async () => {
      outcome.replaceChildren(h("p", { class: "muted" }, "Sending…"));
      const before = (delivery.attempts || []).length;
      const answer = await call("POST", `hook_events/${delivery.uuid}/retry/`, { body: { force: force.checked }, signal });
      const data = answer.data || {};
      if (answer.status === 202) {
        const message = "Queued behind the earlier deliveries of its object: it is sent when they have ended.";
        outcome.replaceChildren(notice("info", message));
        delivery = await need("GET", `hook_events/${delivery.uuid}/`, { signal });
        draw(before);
        announce(message);
      } else if (answer.status === 200 || (answer.status === 406 && "delivered" in data)) {
        const message = `${data.delivered ? "Delivered" : "Not delivered"}: ${httpStatus(data.response_status)} in ${duration(data.response_time)}.`;
        outcome.replaceChildren(notice(data.delivered ? "success" : "error", message));
        delivery = await need("GET", `hook_events/${delivery.uuid}/`, { signal });
        draw(before);
        announce(message);
      } else {
        const stillRetrying = data.code === "event_100_6";
        outcome.replaceChildren(notice("error", describeError(answer), stillRetrying ? " Tick Force to send it now anyway." : ""));
      }
    }),
  );

  view.append(
    h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "#/deliveries" }, "Delivery log"), " / ", `Delivery ${uuid.slice(0, 8)}`),
    h("h1", {}, `Delivery of ${delivery.event_type}`),
    // Retry comes before the summary: the refresh below redraws the summary, whose rows come and go as the
    // delivery moves on ("Waiting because", "refreshes every 3 s"); above it, they would move the button from
    // under a pointer pressing it (a click whose press and release fall on different elements does nothing).
    h(
      "section",
      { class: "panel", "aria-labelledby": "retry-title", "data-write": true },
      h("h2", { id: "retry-title" }, "Retry"),
      h("p", { class: "help" }, "One attempt now, to the hook's URL as it is today. A delivery still in its automatic retries needs force."),
      h("div", { class: "field check" }, force, h("label", { for: "retry-force" }, "Force (retry even while automatic retries are scheduled)")),
      retry,
      outcome,
    ),
    following,
    summaryBox,
    h("section", { "aria-labelledby": "attempts-title" }, h("h2", { id: "attempts-title" }, "Attempts"), timelineBox),
    requestBox,
  );
  draw();

  // While the service still works on it (pending, retrying, deferred), new attempts show up here as they land.
  const state = (d) => `${d.status}:${(d.attempts || []).length}:${d.deferral_count || 0}:${d.next_attempt_at}:${d.parked}`;
  const refresh = async () => {
    if (signal.aborted || !unfinished(delivery)) return;
    if (!document.hidden) {
      const latest = await call("GET", `hook_events/${delivery.uuid}/`, { signal }).catch(() => null);
      const before = (delivery.attempts || []).length;
      if (latest && latest.ok && state(latest.data) !== state(delivery)) {
        delivery = latest.data;
        draw(before);
        if ((delivery.attempts || []).length > before) announce(`New attempt: ${httpStatus(delivery.response_http_status)}.`);
        if (!unfinished(delivery)) announce(`The delivery is ${delivery.status}.`);
      }
    }
    if (!signal.aborted) setTimeout(refresh, REFRESH_EVERY_MS);
  };
  setTimeout(refresh, REFRESH_EVERY_MS);
}
