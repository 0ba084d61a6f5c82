/* A panel of the conversation page that is still changing by itself (the rating decision of a
   close while it is pending) carries data-refresh-url, the address that draws it alone
   (conversations.panels). This file fetches it again every couple of seconds and puts the
   new one in place, until the new one no longer carries the attribute (decided), the server
   refuses (signed out, gone), or two minutes have passed: then the panel's
   [data-refresh-stopped] note says to reload. [data-refresh-running] is shown while it
   refreshes. Loaded by the page, no inline script, no dependency. */
(function () {
  "use strict";

  var EVERY_MS = 2000;
  var FOR_MS = 120000;

  function show(panel, selector, shown) {
    var note = panel.querySelector(selector);
    if (note) { note.hidden = !shown; }
  }

  function fragment(html) {
    var box = document.createElement("template");
    box.innerHTML = html.trim();
    return box.content.firstElementChild;
  }

  function watch(panel) {
    var started = Date.now();

    function stop() {
      panel.removeAttribute("data-refresh-url");
      show(panel, "[data-refresh-running]", false);
      show(panel, "[data-refresh-stopped]", true);
    }

    function later() {
      if (Date.now() - started >= FOR_MS) { stop(); return; }
      window.setTimeout(refresh, EVERY_MS);
    }

    function refresh() {
      var url = panel.getAttribute("data-refresh-url");
      if (!url) { return; }
      if (document.hidden) { later(); return; } // a tab in the background asks nothing
      window.fetch(url, {
        credentials: "same-origin",
        headers: { "Accept": "text/html" },
        cache: "no-store"
      }).then(function (response) {
        if (response.status >= 400 && response.status < 500) { return null; }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      }).then(function (html) {
        var fresh = html === null ? null : fragment(html);
        if (!fresh || fresh.tagName !== panel.tagName) { stop(); return; }
        panel.replaceWith(fresh);
        panel = fresh;
        if (panel.hasAttribute("data-refresh-url")) {
          show(panel, "[data-refresh-running]", true);
          later();
        }
      }).catch(later); // a network blip or a 5xx: try again at the next turn
    }

    show(panel, "[data-refresh-running]", true);
    later();
  }

  function start() {
    var panels = document.querySelectorAll("[data-refresh-url]");
    for (var i = 0; i < panels.length; i += 1) { watch(panels[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
