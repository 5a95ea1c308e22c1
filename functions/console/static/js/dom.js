// Building the page. Everything a subscriber or an owner controls (answer bodies, headers, errors, URLs) goes in
// as text nodes through h(); nothing here ever assigns innerHTML, so no answer can become markup or script.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "value" || name === "checked" || name === "selected") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return element;
}

/** An HTML element: h("p", {class: "note"}, "text", child, ...). Strings become text, never markup. */
export function h(tag, attributes, ...children) {
  return append(setAttributes(document.createElement(tag), attributes), children);
}

/** An SVG element, the same way. */
export function s(tag, attributes, ...children) {
  return append(setAttributes(document.createElementNS(SVG_NS, tag), attributes), children);
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

/** Tells screen readers (and tests) what just happened, politely. */
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** A message box: role=alert for errors (read at once), role=status for outcomes. */
export function notice(kind, ...content) {
  const role = kind === "error" ? "alert" : "status";
  return h("div", { class: `notice notice-${kind}`, role }, ...content);
}

/** A table cell whose label shows beside its value when a narrow screen turns the table into cards. */
export function cell(tag, label, attributes, ...children) {
  return h(tag, { ...attributes, "data-label": label }, h("div", { class: "cell-value" }, ...children));
}

/** A scrollable region for a wide table, reachable by keyboard at narrow widths. A table that turns into cards on
 * a narrow screen keeps its table semantics by explicit roles (CSS display: block drops them in some browsers). */
export function tableRegion(label, table) {
  if (table.classList.contains("cards")) keepTableRoles(table);
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" }, table);
}

const TABLE_ROLES = { THEAD: "rowgroup", TBODY: "rowgroup", TR: "row", TD: "cell" };

function roleOf(element) {
  if (element.tagName === "TH") return element.getAttribute("scope") === "row" ? "rowheader" : "columnheader";
  return TABLE_ROLES[element.tagName];
}

function keepTableRoles(table) {
  table.setAttribute("role", "table");
  const apply = () => {
    for (const element of table.querySelectorAll("thead, tbody, tr, th, td")) {
      const role = roleOf(element);
      if (element.closest("table") === table && role && element.getAttribute("role") !== role) element.setAttribute("role", role);
    }
  };
  apply();
  new MutationObserver(apply).observe(table, { childList: true, subtree: true });
}

export function pad(n) {
  return String(n).padStart(2, "0");
}

/** A moment as "2024-05-01 10:00:00 UTC": the same for every reader, and what the API's times say. */
export function utc(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return String(iso);
  return `${moment.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** A datetime-local input's value read as UTC, as every time on the console is shown. */
export function isoFromUtcInput(value) {
  if (!value) return undefined;
  const moment = new Date(`${value}Z`);
  return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
}

/** A moment as a datetime-local input's value, in UTC. */
export function utcInputValue(moment) {
  return moment.toISOString().slice(0, 16);
}

/** An ISO time as a <time> in UTC with its zone; `relative` adds "(3 s ago)", kept current while it is shown. */
export function time(iso, { relative = false } = {}) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return h("span", {}, String(iso));
  return h(
    "time",
    { datetime: moment.toISOString() },
    utc(iso),
    relative ? [" (", h("span", { class: "ago", "data-ago": moment.toISOString() }, ago(moment)), ")"] : null,
  );
}

export function ago(moment) {
  const seconds = Math.round((Date.now() - moment.getTime()) / 1000);
  const future = seconds < 0;
  const size = Math.abs(seconds);
  const text =
    size < 60 ? `${size} s` : size < 3600 ? `${Math.round(size / 60)} min` : size < 172800 ? `${Math.round(size / 3600)} h` : `${Math.round(size / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** Every relative time on the page, brought up to date once a second (text only: nothing is announced). */
function tick() {
  for (const span of document.querySelectorAll("span.ago[data-ago]")) {
    const text = ago(new Date(span.dataset.ago));
    if (span.textContent !== text) span.textContent = text;
  }
}
setInterval(tick, 1000);

/** A duration as the API writes it: seconds as a number or numeric string (attempts, a retry's answer), or
 * Django REST framework's "[D ]HH:MM:SS[.ffffff]" (a delivery's response_time, as whisperer shows it). */
export function toSeconds(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  const drf = /^(?:(\d+) )?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (drf) return Number(drf[1] || 0) * 86400 + Number(drf[2]) * 3600 + Number(drf[3]) * 60 + Number(drf[4]);
  const number = Number(value);
  return value.trim() !== "" && Number.isFinite(number) ? number : null;
}

/** A duration in the unit a person reads. */
export function duration(value) {
  const seconds = toSeconds(value);
  if (seconds === null) return "—";
  const ms = seconds * 1000;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function milliseconds(ms) {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function percent(rate) {
  if (rate === null || rate === undefined) return "—";
  const tenths = Math.round(rate * 1000) / 10;
  return `${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)} %`;
}

const DELIVERY_STATUS = {
  delivered: "Delivered",
  retrying: "Retrying",
  failed: "Failed",
  pending: "Pending",
  deferred: "Deferred",
};
const FINISHED = new Set(["delivered", "failed"]);

/** Whether the service may still attempt the delivery (pending, retrying, deferred, or a state added later). */
export function unfinished(delivery) {
  return !FINISHED.has(delivery.status);
}

/** A delivery's status as a word (colour only reinforces it); a parked one says so. */
export function statusBadge(status, delivery) {
  const parked = Boolean(delivery && delivery.parked);
  const label = parked ? "Parked" : DELIVERY_STATUS[status] || String(status || "unknown");
  return h("span", { class: `badge badge-${DELIVERY_STATUS[status] ? status : "other"}` }, label);
}

/** Why a deferred delivery waits and when it goes next: its latest deferral's reason, and the next attempt (a
 * parked one's is its circuit's next probe) unless `when` is false (a table with its own column for it). Null for
 * any other status. */
export function waitingNote(delivery, { when = true } = {}) {
  if (!delivery || delivery.status !== "deferred") return null;
  const deferrals = delivery.deferrals || [];
  const latest = deferrals[deferrals.length - 1];
  const reason = latest && latest.reason ? String(latest.reason) : delivery.parked ? "its hook's circuit is open" : "waiting";
  const next = delivery.next_attempt_at || (latest && latest.until);
  return h(
    "span",
    { class: "wait-note" },
    reason,
    next && when ? [`; ${delivery.parked ? "next probe" : "next attempt"} `, time(next, { relative: true })] : null,
  );
}

/** Text for screen readers only (e.g. the hook a row's "Edit" is about). */
export function hidden(text) {
  return h("span", { class: "visually-hidden" }, text);
}

/** For a delivery of an ordered hook held behind an earlier one of its object: "held", linked to that one. */
export function heldTag(delivery) {
  if (!delivery.held) return null;
  const label = delivery.waits_for ? `held behind ${delivery.waits_for.slice(0, 8)}` : "held";
  return h("span", { class: "tag held", title: "Waits until the earlier delivery of its object ends" }, label);
}

/** A hook's state: active, inactive, or disabled by the service with its reason. */
export function hookState(hook) {
  if (hook.is_active) return h("span", { class: "badge badge-delivered" }, "Active");
  if (hook.disabled_reason) {
    return h(
      "span",
      { class: "hook-disabled" },
      h("span", { class: "badge badge-failed" }, "Disabled"),
      " ",
      h("span", { class: "reason" }, String(hook.disabled_reason)),
      hook.disabled_at ? [" (", time(hook.disabled_at), ")"] : null,
    );
  }
  return h("span", { class: "badge badge-other" }, "Inactive");
}

/** An HTTP status as text: "HTTP 500", or that no answer came. */
export function httpStatus(code) {
  return code === null || code === undefined ? "no answer" : `HTTP ${code}`;
}

/** Asks before something that cannot be undone, in a modal <dialog> (Esc or Cancel says no). */
export function confirmAction({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("p", {}, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "button danger", value: "yes", onclick: () => dialog.close("yes") }, confirmLabel),
        h("button", { type: "button", class: "button", autofocus: true, onclick: () => dialog.close("no") }, "Cancel"),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** JSON as indented text for a <pre>. */
export function pretty(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** JSON text indented for reading without parsing it: strings and numbers stay exactly as written (`1.0`, integers
 * above 2^53), only whitespace is added between tokens. Text that is not JSON comes back as it was. */
export function indentJson(text) {
  let out = "";
  let depth = 0;
  let inString = false;
  const newline = () => `\n${"  ".repeat(depth)}`;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[i + 1] ?? "";
        i += 1;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "{" || c === "[") {
      const closer = c === "{" ? "}" : "]";
      if (text[i + 1] === closer) {
        out += c + closer;
        i += 1;
      } else {
        depth += 1;
        out += c + newline();
      }
    } else if (c === "}" || c === "]") {
      depth = Math.max(0, depth - 1);
      out += newline() + c;
    } else if (c === ",") {
      out += c + newline();
    } else if (c === ":") {
      out += ": ";
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return inString || depth !== 0 ? text : out;
}

/** Copies text with the Clipboard API and says whether it worked next to the button. */
export async function copyText(text, status) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied.";
  } catch {
    status.textContent = "Could not copy: select the text and copy it by hand.";
  }
}

/** A toolbar of buttons; a disabled-while-busy helper for async actions. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
