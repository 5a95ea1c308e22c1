// Create or edit a hook: every field of the API, and the API's own validation messages beside each field.
// The form does no validation of its own beyond reading its inputs: the API is the one source of the rules.

import { call, flattenErrors, need } from "../api.js";
import { h, notice } from "../dom.js";

const KWARGS = {
  fixed: [["seconds", "Seconds between attempts", true]],
  linear: [
    ["base", "Base seconds (wait = base × retries made)", true],
    ["limit", "Limit in seconds (optional)", false],
  ],
  exponential: [
    ["base", "Base (wait = factor × base ^ retries made)", true],
    ["factor", "Factor (optional, default 1)", false],
    ["limit", "Limit in seconds (optional)", false],
  ],
  random: [
    ["min_value", "Shortest wait in seconds", true],
    ["max_value", "Longest wait in seconds", true],
  ],
};

/** A number where the input reads as one; otherwise the text itself, so the API names what is wrong. */
function numberOrText(text) {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

function headersText(headers) {
  return Object.entries(headers || {})
    .map(([name, value]) => `${name}: ${value}`)
    .join("\n");
}

/** "Name: value" lines to an object; a line without a colon is reported, as the API never sees it. */
function parseHeaders(text) {
  const headers = {};
  const problems = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const colon = line.indexOf(":");
    if (colon < 0) {
      problems.push(`Line ${i + 1}: write one header per line as "Name: value".`);
      return;
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  });
  return { headers, problems };
}

/** The config's keys other than auth, as JSON text for its textarea ("" when there are none). */
function otherConfigText(config) {
  const { auth, ...rest } = config && typeof config === "object" ? config : {};
  return Object.keys(rest).length ? JSON.stringify(rest, null, 2) : "";
}

/** The textarea's JSON object; a text that is not one is reported, as the API never sees it. */
function parseOtherConfig(text) {
  if (!text.trim()) return { value: {}, problems: [] };
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return { value, problems: [] };
  } catch (error) {
    return { value: null, problems: [`Not valid JSON: ${error.message}`] };
  }
  return { value: null, problems: ["Write a JSON object, e.g. {\"region\": \"eu\"}."] };
}

/** The filter's JSON text for its textarea ("" when the hook takes every event). */
function filterText(pattern) {
  return pattern && typeof pattern === "object" ? JSON.stringify(pattern, null, 2) : "";
}

/** Empty is null (every event); other text is sent as the JSON it says, and the API judges the pattern. */
function parseFilter(text) {
  if (!text.trim()) return { value: null, problems: [] };
  try {
    return { value: JSON.parse(text), problems: [] };
  } catch (error) {
    return { value: null, problems: [`Not valid JSON: ${error.message}`] };
  }
}

class ErrorSlots {
  constructor(formLevel) {
    this.slots = new Map();
    this.formLevel = formLevel;
  }

  /** A labelled control with its help and error text, wired by aria-describedby. */
  field(key, label, control, help) {
    const id = control.id;
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    const error = h("p", { id: errorId, class: "field-error", hidden: true });
    const described = [help ? helpId : null, errorId].filter(Boolean).join(" ");
    control.setAttribute("aria-describedby", described);
    this.slots.set(key, { error, control });
    const isCheck = control.type === "checkbox";
    return h(
      "div",
      { class: isCheck ? "field check" : "field" },
      isCheck ? [control, h("label", { for: id }, label)] : [h("label", { for: id }, label), control],
      help ? h("p", { id: helpId, class: "help" }, help) : null,
      error,
    );
  }

  /** A slot for messages about a group (e.g. retry_countdown_config) shown under its legend. */
  group(key, element, control) {
    this.slots.set(key, { error: element, control });
    return element;
  }

  clear() {
    for (const { error, control } of this.slots.values()) {
      error.hidden = true;
      error.textContent = "";
      if (control) control.removeAttribute("aria-invalid");
    }
    this.formLevel.replaceChildren();
  }

  /** Puts each of the API's messages beside the most specific field it names; returns the first field. */
  show(data) {
    let first = null;
    const loose = [];
    for (const [path, message] of flattenErrors(data)) {
      let key = path;
      while (key && !this.slots.has(key)) key = key.includes(".") ? key.slice(0, key.lastIndexOf(".")) : "";
      if (!key) {
        loose.push(path ? `${path}: ${message}` : message);
        continue;
      }
      const slot = this.slots.get(key);
      const rest = path.slice(key.length + 1);
      slot.error.hidden = false;
      slot.error.append(h("span", {}, rest ? `${rest}: ${message}` : message), " ");
      if (slot.control) slot.control.setAttribute("aria-invalid", "true");
      first = first || slot.control;
    }
    if (loose.length) {
      this.formLevel.append(notice("error", "The API refused the hook: ", loose.join(" ")));
    }
    return first;
  }
}

export async function hookFormPage({ view, params, signal, go }) {
  const editing = params.length > 0 && params[0] !== undefined;
  const id = editing ? params[0] : null;
  document.title = `${editing ? `Edit hook ${id}` : "New hook"} · Delivery console`;
  view.append(
    h(
      "nav",
      { class: "breadcrumbs", "aria-label": "Breadcrumbs" },
      h("a", { href: "#/hooks" }, "Hooks"),
      editing ? [" / ", h("a", { href: `#/hooks/${id}` }, `Hook ${id}`)] : null,
    ),
    h("h1", {}, editing ? `Edit hook ${id}` : "New hook"),
  );
  const [registry, catalog, hook] = await Promise.all([
    need("GET", "hooks/registry/", { signal }),
    call("GET", "event_types/", { query: { limit: 100 }, signal }),
    editing ? need("GET", `hooks/${id}/`, { signal }) : Promise.resolve(null),
  ]);
  const eventTypes = Array.isArray(registry) ? registry : (registry && registry.results) || [];
  // The catalog's types beyond the registry's OMS ones: the operational events about the owner's own hooks.
  const entries = (catalog && catalog.ok && catalog.data && catalog.data.results) || [];
  const operational = entries.map((entry) => entry.event_type).filter((name) => !eventTypes.includes(name));
  const formLevel = h("div", { class: "form-level" });
  const slots = new ErrorSlots(formLevel);
  const current = hook || { event_type: "", target_url: "", retry_countdown_config: { choice: "exponential", kwargs: { base: 2 } }, additional_headers: {}, is_active: true };

  const eventType = h(
    "select",
    { id: "f-event_type", name: "event_type", required: true },
    editing ? null : h("option", { value: "" }, "Choose an event type"),
    eventTypes.map((name) => h("option", { value: String(name), selected: name === current.event_type }, String(name))),
    operational.length
      ? h(
          "optgroup",
          { label: "About your own hooks (operational events)" },
          operational.map((name) => h("option", { value: String(name), selected: name === current.event_type }, String(name))),
        )
      : null,
  );
  const scheme = h(
    "select",
    { id: "f-signature_scheme", name: "signature_scheme" },
    [
      ["symmetric", "Symmetric: the secret key (HMAC, v1)"],
      ["asymmetric", "Asymmetric: an Ed25519 key pair (v1a)"],
    ].map(([value, label]) => h("option", { value, selected: value === (current.signature_scheme || "symmetric") }, label)),
  );
  const targetUrl = h("input", { id: "f-target_url", name: "target_url", type: "url", inputmode: "url", autocomplete: "off", spellcheck: "false", value: current.target_url || "" });
  const secret = h("input", { id: "f-secret_key", name: "secret_key", type: "password", autocomplete: "new-password", spellcheck: "false" });
  const removeSecret = h("input", { id: "f-remove_secret", name: "remove_secret", type: "checkbox" });
  const config = current.retry_countdown_config || {};
  const choice = h(
    "select",
    { id: "f-choice", name: "choice" },
    Object.keys(KWARGS).map((name) => h("option", { value: name, selected: name === config.choice }, name)),
  );
  const maxRetries = h("input", { id: "f-max_retries", name: "max_retries", type: "text", inputmode: "numeric", value: config.max_retries !== undefined ? String(config.max_retries) : "" });
  const rateLimit = h("input", { id: "f-rate_limit", name: "rate_limit", type: "text", inputmode: "decimal", value: typeof current.rate_limit === "number" ? String(current.rate_limit) : "" });
  const headers = h("textarea", { id: "f-additional_headers", name: "additional_headers", rows: "3", spellcheck: "false", value: headersText(current.additional_headers) });
  const active = h("input", { id: "f-is_active", name: "is_active", type: "checkbox", checked: current.is_active !== false });
  const storedAuth = (current.config && current.config.auth) || null;
  const authUser = h("input", { id: "f-auth-username", name: "username", type: "text", autocomplete: "off", spellcheck: "false", value: storedAuth ? String(storedAuth.username || "") : "" });
  const authPassword = h("input", { id: "f-auth-password", name: "password", type: "password", autocomplete: "new-password" });
  const otherConfig = h("textarea", { id: "f-config", name: "config", rows: "2", spellcheck: "false", value: otherConfigText(current.config) });
  const filter = h("textarea", { id: "f-filter", name: "filter", rows: "4", spellcheck: "false", value: filterText(current.filter) });
  const callback = h("input", { id: "f-callback", name: "callback", type: "text", spellcheck: "false", value: current.callback ? String(current.callback) : "" });
  const ordering = h(
    "select",
    { id: "f-ordering", name: "ordering" },
    [["none", "None: as they come"], ["object", "Per object: in the order of its events"]].map(([value, label]) => h("option", { value, selected: value === (current.ordering || "none") }, label)),
  );
  const configErrors = h("p", { id: "f-config-group-error", class: "field-error", hidden: true });
  slots.group("config.auth", configErrors, authUser);

  const kwargsBox = h("div", { class: "kwargs" });
  const kwargInputs = new Map();
  const kwargValues = { ...(config.kwargs || {}) };
  const drawKwargs = () => {
    for (const [name, input] of kwargInputs) if (input.value.trim() !== "") kwargValues[name] = input.value;
    kwargInputs.clear();
    for (const key of [...slots.slots.keys()]) if (key.startsWith("retry_countdown_config.kwargs.")) slots.slots.delete(key);
    kwargsBox.replaceChildren(
      ...KWARGS[choice.value].map(([name, label]) => {
        const input = h("input", { id: `f-kw-${name}`, name, type: "text", inputmode: "decimal", value: kwargValues[name] !== undefined ? String(kwargValues[name]) : "" });
        kwargInputs.set(name, input);
        return slots.field(`retry_countdown_config.kwargs.${name}`, label, input);
      }),
    );
  };
  choice.addEventListener("change", drawKwargs);

  const retryErrors = h("p", { id: "f-retry-error", class: "field-error", hidden: true });
  const kwargsErrors = h("p", { id: "f-kwargs-error", class: "field-error", hidden: true });
  slots.group("retry_countdown_config", retryErrors, choice);
  slots.group("retry_countdown_config.kwargs", kwargsErrors, choice);
  const submit = h("button", { type: "submit", class: "button primary" }, editing ? "Save changes" : "Create hook");
  const form = h(
    "form",
    { class: "hook-form", novalidate: true, "aria-label": editing ? `Edit hook ${id}` : "New hook" },
    formLevel,
    slots.field("event_type", "Event type", eventType, "The OMS event this URL receives."),
    slots.field("target_url", "Target URL", targetUrl, "Where each event is POSTed: an absolute http or https URL."),
    slots.field(
      "secret_key",
      "Secret key",
      secret,
      editing
        ? `${hook.secret_key_set ? "A secret is set" : "No secret is set"}; leave empty to keep it as it is. Deliveries are signed with it.`
        : "Optional. Deliveries are signed with it (X-Whisperer-Signature and Standard Webhooks' webhook-signature).",
    ),
    editing && hook.secret_key_set ? slots.field("remove_secret", "Remove the secret (deliveries go unsigned)", removeSecret) : null,
    slots.field(
      "signature_scheme",
      "Signature scheme",
      scheme,
      hook && hook.public_key
        ? `Public key to verify v1a signatures with: ${hook.public_key}. Switching to symmetric drops the key pair.`
        : "Asymmetric: the service makes a key pair and shows its public key once the hook is saved.",
    ),
    h(
      "fieldset",
      { class: "retry" },
      h("legend", {}, "Retries after a failed attempt"),
      retryErrors,
      slots.field("retry_countdown_config.choice", "Countdown", choice, "How the wait before each retry grows."),
      kwargsBox,
      kwargsErrors,
      slots.field("retry_countdown_config.max_retries", "Max retries", maxRetries, "Optional, default 10."),
    ),
    slots.field(
      "rate_limit",
      "Rate limit (deliveries a second)",
      rateLimit,
      "Optional, from 0.01 (one every 100 s) to 1000; empty: unlimited. Deliveries beyond it wait for their turn (deferred), they do not fail.",
    ),
    slots.field(
      "ordering",
      "Ordering",
      ordering,
      "Per object: one package's (transfer's...) deliveries to this URL go one at a time, each after the earlier ones ended; other objects are never held back.",
    ),
    slots.field("additional_headers", "Additional headers", headers, 'Optional, one per line as "Name: value". Sent with every delivery.'),
    h(
      "fieldset",
      { class: "auth" },
      h("legend", {}, "Basic auth sent with each delivery (config.auth)"),
      configErrors,
      slots.field("config.auth.username", "Username", authUser, "Optional. Leave empty to send no Authorization header."),
      slots.field(
        "config.auth.password",
        "Password",
        authPassword,
        storedAuth ? "A password is stored; leave empty to keep it." : "Needed with a username. Never shown again.",
      ),
    ),
    slots.field("config", "Other config keys (JSON object)", otherConfig, "Optional; kept and shown as written, for your own use."),
    slots.field(
      "filter",
      "Filter (EventBridge event pattern)",
      filter,
      'Optional. Only events whose payload matches are delivered, e.g. {"channel": ["web"], "total": [{"numeric": [">=", 100]}]}. Empty: every event.',
    ),
    slots.field("callback", "Callback", callback, "Optional, at most 64 characters; kept and shown (whisperer's name of code run after a delivery), never run here."),
    slots.field("is_active", "Active (deliver events to this hook)", active),
    h("div", { class: "actions" }, submit, h("a", { class: "button", href: editing ? `#/hooks/${id}` : "#/hooks" }, "Cancel")),
  );
  drawKwargs();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slots.clear();
    const { headers: headerMap, problems } = parseHeaders(headers.value);
    if (problems.length) {
      slots.show({ additional_headers: problems });
      headers.focus();
      return;
    }
    const kwargs = {};
    for (const [name, input] of kwargInputs) {
      const value = numberOrText(input.value);
      if (value !== undefined) kwargs[name] = value;
    }
    const retry = { choice: choice.value, kwargs };
    const retries = numberOrText(maxRetries.value);
    if (retries !== undefined) retry.max_retries = retries;
    const body = {
      event_type: eventType.value,
      target_url: targetUrl.value,
      retry_countdown_config: retry,
      additional_headers: headerMap,
      is_active: active.checked,
    };
    if (secret.value) body.secret_key = secret.value;
    else if (editing && removeSecret.checked) body.secret_key = null;
    if ("signature_scheme" in current || scheme.value !== "symmetric") body.signature_scheme = scheme.value;
    const other = parseOtherConfig(otherConfig.value);
    if (other.problems.length) {
      slots.show({ config: other.problems });
      otherConfig.focus();
      return;
    }
    const pattern = parseFilter(filter.value);
    if (pattern.problems.length) {
      slots.show({ filter: pattern.problems });
      filter.focus();
      return;
    }
    if ("filter" in current || pattern.value !== null) body.filter = pattern.value;
    const rate = numberOrText(rateLimit.value);
    if ("rate_limit" in current || rate !== undefined) body.rate_limit = rate === undefined ? null : rate;
    const config = { ...other.value };
    if (authUser.value.trim() || authPassword.value) {
      config.auth = { auth_type: "basic", username: authUser.value.trim() };
      if (authPassword.value) config.auth.password = authPassword.value;
    }
    // Sent where the API has these fields (its answers show them) or when the person filled them in.
    if ("config" in current || Object.keys(config).length) body.config = config;
    if ("callback" in current || callback.value.trim()) body.callback = callback.value.trim() || null;
    if ("ordering" in current || ordering.value !== "none") body.ordering = ordering.value;
    submit.disabled = true;
    try {
      const answer = await call(editing ? "PATCH" : "POST", editing ? `hooks/${id}/` : "hooks/", { body, signal });
      if (answer.ok) {
        secret.value = "";
        authPassword.value = "";
        go(`hooks/${answer.data.id}`, editing ? "Changes saved." : "Hook created.");
        return;
      }
      const data = answer.data && typeof answer.data === "object" ? answer.data : { non_field_errors: [`HTTP ${answer.status}`] };
      if (typeof data.en === "string" || typeof data.detail === "string") {
        formLevel.append(notice("error", data.en ? `${data.en} (${data.code})` : data.detail));
        formLevel.querySelector("[role=alert]").setAttribute("tabindex", "-1");
        formLevel.querySelector("[role=alert]").focus();
        return;
      }
      const first = slots.show(data);
      (first || formLevel).focus();
    } finally {
      submit.disabled = false;
    }
  });
  view.append(form);
}
