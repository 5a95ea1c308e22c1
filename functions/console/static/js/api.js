// The API as the console uses it: the token in sessionStorage (never localStorage, never a URL), sent as
// `Authorization: Token <token>` to the whisperer API beside the console (../ of this page, stage included).

const TOKEN_KEY = "oms-webhooks.token";
const SESSION_KEY = "oms-webhooks.portal-session"; // what GET portal/sessions/current/ said of a portal session
const TOKEN_SHAPE = /^[A-Za-z0-9]+$/; // what the authorizer accepts after "Token "

export const apiBase = new URL("../", document.baseURI);

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SESSION_KEY);
}

/** The portal session signed in with ({owner, read_only, expires_at, ...}), or null for an owner's own token. */
export function portalSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

/** Ends the portal session on the server (its token is refused from then on); the caller forgets it here. */
export async function endPortalSession() {
  const answer = await call("DELETE", "portal/sessions/current/");
  if (!answer.ok && answer.status !== 404) throw new ApiError(describeError(answer), answer.status, answer.data);
}

export class ApiError extends Error {
  constructor(message, status = 0, data = null) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

let onUnauthorized = () => {};

/** Called when the API refuses the token (revoked, or a stale tab): the app signs out. */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * One API call. Answers of any status come back as {status, data}; a refused token signs out and
 * throws; a network failure throws with a message a person can act on.
 */
export async function call(method, path, { query, body, rawBody, signal, tokenOverride } = {}) {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  const headers = { Accept: "application/json", Authorization: `Token ${tokenOverride || token() || ""}` };
  const init = { method, headers, signal, cache: "no-store", credentials: "omit", redirect: "error" };
  if (body !== undefined || rawBody !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = rawBody !== undefined ? rawBody : JSON.stringify(body); // rawBody: JSON text sent as it is
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(`Could not reach the API at ${apiBase.pathname} (${error.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 300) };
    }
  }
  if (response.status === 401 && !tokenOverride) {
    onUnauthorized();
    throw new ApiError("The API no longer accepts this token. Sign in again.", 401, data);
  }
  return { status: response.status, ok: response.ok, data };
}

/** Like call(), but anything but a 2xx throws an ApiError whose message says what the API said. */
export async function need(method, path, options) {
  const answer = await call(method, path, options);
  if (!answer.ok) throw new ApiError(describeError(answer), answer.status, answer.data);
  return answer.data;
}

/** Signs in: the token is kept only once the API has accepted it. A portal session's token (from a link, or
 * pasted) is found out by the API's answer, so the page knows its rights and its end. */
export async function signIn(candidate) {
  const value = candidate.trim().replace(/^Token\s+/i, "");
  if (!TOKEN_SHAPE.test(value)) {
    throw new ApiError("A token is letters and digits only, as `oms-webhooks token create` prints it.");
  }
  const answer = await call("GET", "portal/sessions/current/", { tokenOverride: value });
  if (answer.status === 401 || answer.status === 403) {
    throw new ApiError("The API did not accept this token.", answer.status, answer.data);
  }
  if (!answer.ok && answer.status !== 404) throw new ApiError(describeError(answer), answer.status, answer.data);
  forgetToken();
  sessionStorage.setItem(TOKEN_KEY, value);
  if (answer.ok) sessionStorage.setItem(SESSION_KEY, JSON.stringify(answer.data)); // 404: an owner's own token
}

/** The message of an error answer: DRF's detail, whisperer's {code, en}, or field messages flattened. */
export function describeError({ status, data }) {
  if (data && typeof data === "object") {
    if (typeof data.detail === "string") return `${data.detail} (HTTP ${status})`;
    if (typeof data.en === "string") return `${data.en} (${data.code || "HTTP " + status})`;
    const messages = flattenErrors(data).map(([field, message]) => (field ? `${field}: ${message}` : message));
    if (messages.length) return messages.join(" ");
  }
  return `The API answered HTTP ${status}.`;
}

/** DRF's nested {"field": {"inner": ["message"]}} as [["field.inner", "message"], ...]. */
export function flattenErrors(data, prefix = "") {
  const found = [];
  if (Array.isArray(data)) {
    for (const item of data) {
      if (typeof item === "string") found.push([prefix, item]);
      else found.push(...flattenErrors(item, prefix));
    }
  } else if (data && typeof data === "object") {
    for (const [key, value] of Object.entries(data)) {
      const name = key === "non_field_errors" ? prefix : prefix ? `${prefix}.${key}` : key;
      found.push(...flattenErrors(value, name));
    }
  } else if (typeof data === "string") {
    found.push([prefix, data]);
  }
  return found;
}

/** The cursor of a page's `next` URL: followed through this API base, so only `self` is ever contacted. */
export function cursorOf(nextUrl) {
  if (!nextUrl) return null;
  try {
    return new URL(nextUrl, apiBase).searchParams.get("cursor");
  } catch {
    return null;
  }
}

/** A hook id from a delivery's `webhook`, which is a number today and an object {id, ...} later. */
export function hookIdOf(webhook) {
  if (webhook && typeof webhook === "object") return webhook.id;
  return webhook;
}
