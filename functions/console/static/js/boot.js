// The console's first script: it loads the rest, and if any module fails to load (a network error, or a file of
// another version after a deploy), says so with a way out instead of leaving a blank page. No static imports, so
// this script runs whatever happens to the others.

import("./app.js").catch((failure) => {
  const main = document.getElementById("main");
  const title = document.createElement("h1");
  title.textContent = "The console could not load";
  title.tabIndex = -1;
  const what = document.createElement("p");
  what.textContent =
    "A part of it failed to load. The console may have been updated since this page opened, or the network " +
    "dropped: reload the page to get the current version.";
  const detail = document.createElement("p");
  detail.className = "help";
  detail.textContent = String((failure && failure.message) || failure);
  const reload = document.createElement("button");
  reload.type = "button";
  reload.className = "button primary";
  reload.textContent = "Reload";
  reload.addEventListener("click", () => location.reload());
  const box = document.createElement("div");
  box.className = "notice notice-error load-error";
  box.setAttribute("role", "alert");
  box.append(title, what, detail, reload);
  main.replaceChildren(box);
  title.focus();
});
