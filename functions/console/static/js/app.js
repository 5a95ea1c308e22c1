// The console's shell: sign in and out, and a hash router (#/hooks, #/hooks/3, #/deliveries?webhook=3, ...),
// so the whole console is one static page and every view has a link that can be shared or reloaded. A portal
// link (#session=<token>) signs in by itself; a read-only session's actions are hidden (the API refuses them).

import { ApiError, call, endPortalSession, forgetToken, portalSession, signIn, token, whenUnauthorized } from "./api.js";
import { announce, clear, h, notice, utc } from "./dom.js";
import { catalogPage } from "./pages/catalog.js";
import { deliveriesPage } from "./pages/deliveries.js";
import { deliveryPage } from "./pages/delivery.js";
import { hookDetailPage } from "./pages/hook_detail.js";
import { hookFormPage } from "./pages/hook_form.js";
import { hooksPage } from "./pages/hooks.js";

const main = document.getElementById("main");
const nav = document.getElementById("site-nav");
const sessionNote = document.getElementById("session-note");
const SESSION_LINK = /^#session=([A-Za-z0-9]+)$/;
const SESSION_ENDED = "The portal session has ended (it expired or was signed out). Ask the owner for a new link.";
const EXPIRY_RECHECK_MS = 5000; // the browser's clock may run ahead of the service's: the API has the last word
let expiryTimer = null;
let current = null; // the AbortController of the page on screen: aborting it stops its requests and polling
let flash = null; // a message for the next page (e.g. "Hook created.")

const ROUTES = [
  [/^hooks$/, () => hooksPage],
  [/^hooks\/new$/, () => hookFormPage],
  [/^hooks\/(\d+)$/, () => hookDetailPage],
  [/^hooks\/(\d+)\/edit$/, () => hookFormPage],
  [/^deliveries$/, () => deliveriesPage],
  [/^deliveries\/([0-9A-Fa-f-]{32,36})$/, () => deliveryPage],
  [/^catalog$/, () => catalogPage],
];

/** Goes to a route of the console, with an optional message shown on arrival. */
export function go(route, message) {
  flash = message || null;
  if (location.hash === `#/${route}`) render();
  else location.hash = `#/${route}`;
}

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "hooks";
  const [path, query = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, "") || "hooks", query: new URLSearchParams(query) };
}

function markNav(path) {
  for (const link of nav.querySelectorAll("a[data-nav]")) {
    if (path.startsWith(link.dataset.nav)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function signInView(message) {
  nav.hidden = true;
  document.title = "Sign in · Delivery console";
  const field = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-help",
  });
  const error = h("p", { id: "token-error", class: "field-error", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in", novalidate: true, "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title", tabindex: "-1" }, "Sign in"),
    message ? notice("info", message) : null,
    h(
      "div",
      { class: "field" },
      h("label", { for: "token" }, "API token"),
      field,
      h(
        "p",
        { id: "token-help", class: "help" },
        "Paste the token that ",
        h("code", {}, "oms-webhooks token create"),
        " printed. It is kept in this tab only (sessionStorage) and sent to the API as the Authorization header; ",
        "closing the tab or signing out forgets it.",
      ),
      error,
    ),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    field.removeAttribute("aria-invalid");
    submit.disabled = true;
    try {
      await signIn(field.value);
      field.value = "";
      showSession(portalSession());
      announce("Signed in.");
      if (!location.hash.startsWith("#/")) location.hash = "#/hooks";
      else render();
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : String(failure);
      error.hidden = false;
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", "token-help token-error");
      field.focus();
    } finally {
      submit.disabled = false;
    }
  });
  clear(main).append(form);
  field.focus();
}

export function signOut(message) {
  forgetToken();
  showSession(null);
  if (current) current.abort();
  current = null;
  announce("Signed out.");
  signInView(message || "Signed out. The token is forgotten in this tab.");
}

/** "Sign out": a portal session is ended on the server too, so its link stops working everywhere. */
async function signOutClicked() {
  if (!portalSession()) return signOut();
  try {
    await endPortalSession();
    signOut("Signed out. The portal session is ended: its link no longer works.");
  } catch (failure) {
    signOut(`Signed out in this tab, but the session could not be ended (${failure.message}); it ends by itself when it expires.`);
  }
}

/** Marks the page with the portal session's rights and end (null: an owner's own token, or signed out). */
function showSession(session) {
  clearTimeout(expiryTimer);
  document.body.toggleAttribute("data-read-only", Boolean(session && session.read_only));
  sessionNote.hidden = !session;
  if (!session) return;
  sessionNote.textContent = `Portal session${session.read_only ? " · read-only" : ""} · ends ${utc(session.expires_at)}`;
  const check = () => {
    expiryTimer = setTimeout(async () => {
      const answer = await call("GET", "portal/sessions/current/").catch(() => null); // a 401 signs out
      if (answer && token()) check();
    }, Math.max(Date.parse(session.expires_at) - Date.now(), EXPIRY_RECHECK_MS));
  };
  check();
}

function readOnlyView(view) {
  document.title = "Read-only session · Delivery console";
  view.append(
    h("h1", { tabindex: "-1" }, "This portal session is read-only"),
    h("p", {}, "It shows the hooks and their deliveries but changes nothing. ", h("a", { href: "#/hooks" }, "Back to the hooks")),
  );
}

async function render() {
  if (!location.hash.startsWith("#/") && location.hash !== "") return; // #main and other in-page anchors
  if (current) current.abort();
  if (!token()) return signInView();
  current = new AbortController();
  const { signal } = current;
  nav.hidden = false;
  const { path, query } = parseHash();
  markNav(path);
  const match = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([found]) => found);
  const view = h("div", { class: "view" });
  clear(main).append(view);
  if (flash) {
    view.append(notice("success", flash));
    announce(flash);
    flash = null;
  }
  if (!match) {
    document.title = "Not found · Delivery console";
    view.append(h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "#/hooks" }, "Back to your hooks")));
    return;
  }
  const [found, page] = match;
  if (portalSession()?.read_only && /^hooks\/(new|\d+\/edit)$/.test(path)) return readOnlyView(view);
  try {
    await page()({ view, params: found.slice(1), query, signal, go });
  } catch (failure) {
    if (failure.name === "AbortError" || signal.aborted) return;
    if (failure instanceof ApiError && failure.status === 401) return;
    view.append(notice("error", failure instanceof ApiError ? failure.message : `Something went wrong: ${failure.message}`));
  }
  const heading = view.querySelector("h1");
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

whenUnauthorized(() => signOut(portalSession() ? SESSION_ENDED : "The API refused the token (revoked or expired?). Sign in again."));
document.getElementById("sign-out").addEventListener("click", signOutClicked);
window.addEventListener("hashchange", () => (SESSION_LINK.test(location.hash) ? start() : render())); // a link pasted into this tab

/** A portal link's token goes from the address bar (and the history) to this tab's sessionStorage at once. */
async function start() {
  const link = SESSION_LINK.exec(location.hash);
  if (link) {
    history.replaceState(null, "", `${location.pathname}${location.search}#/hooks`);
    forgetToken();
    try {
      await signIn(link[1]);
    } catch (failure) {
      return signInView(`This portal link does not sign in: ${failure.message} Ask the owner for a new link.`);
    }
  }
  showSession(token() ? portalSession() : null);
  render();
}

start();
