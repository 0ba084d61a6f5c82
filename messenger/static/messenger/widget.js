/* csat Messenger: the one script a company adds to its site (README, "Messenger").

     <script>window.csatMessenger = {user_id: "42", email: "ann@example.com",
                                     name: "Ann", user_hash: "<HMAC from your server>",
                                     language: "fr"};</script>
     <script src="https://csat.example.com/messenger/widget.js" async></script>

   It draws a launcher button (with a badge of unread replies) and opens the Messenger in an
   iframe served by csat, so the visitor's session with csat never touches this page. The two
   talk only through postMessage, each checking the other's origin (W7). No dependency.
   `window.CsatMessenger.update({...})` tells it of a sign-in or sign-out without a reload. */
(function () {
  "use strict";
  if (window.CsatMessenger) { return; }
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var csat = new URL(script.src).origin;
  var identity = window.csatMessenger || {};
  var open = false;
  var ready = false;

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "Open messages");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "csat-messenger-frame");
  launcher.innerHTML =
    '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5' +
    'a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z"/></svg>';
  style(launcher, {
    position: "fixed", right: "20px", bottom: "20px", width: "60px", height: "60px",
    borderRadius: "50%", border: "0", background: "#1d4ed8", color: "#fff", cursor: "pointer",
    boxShadow: "0 4px 14px rgba(16,24,40,.25)", zIndex: "2147483000", display: "flex",
    alignItems: "center", justifyContent: "center", padding: "0"
  });

  var badge = document.createElement("span");
  badge.setAttribute("aria-hidden", "true");
  style(badge, {
    position: "absolute", top: "-4px", right: "-4px", minWidth: "22px", height: "22px",
    padding: "0 6px", borderRadius: "11px", background: "#dc2626", color: "#fff",
    font: "600 12px/22px system-ui, sans-serif", textAlign: "center", display: "none",
    boxSizing: "border-box"
  });
  launcher.appendChild(badge);

  var frame = document.createElement("iframe");
  frame.id = "csat-messenger-frame";
  frame.title = "Messages";
  // L2: the frame speaks the host page's language for the visitor, else the browser's.
  frame.src = csat + "/messenger/frame/?host=" + encodeURIComponent(window.location.origin) +
    "&lang=" + encodeURIComponent(identity.language || navigator.language || "");
  frame.setAttribute("referrerpolicy", "origin");
  style(frame, {
    position: "fixed", right: "20px", bottom: "92px", width: "380px", height: "600px",
    maxWidth: "calc(100vw - 24px)", maxHeight: "calc(100vh - 112px)", border: "0",
    borderRadius: "14px", boxShadow: "0 8px 30px rgba(16,24,40,.28)", background: "#fff",
    zIndex: "2147483001", display: "none"
  });
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 440px)") : null;

  function style(element, rules) {
    for (var name in rules) { element.style[name] = rules[name]; }
  }

  function fit() {
    // A phone: the Messenger takes the whole screen.
    var full = narrow && narrow.matches;
    style(frame, full
      ? { right: "0", bottom: "0", width: "100%", height: "100%", maxWidth: "none",
          maxHeight: "none", borderRadius: "0" }
      : { right: "20px", bottom: "92px", width: "380px", height: "600px",
          maxWidth: "calc(100vw - 24px)", maxHeight: "calc(100vh - 112px)", borderRadius: "14px" });
    launcher.style.display = full && open ? "none" : "flex";
  }

  function tell(data) {
    if (frame.contentWindow) { frame.contentWindow.postMessage(data, csat); }
  }

  var VISITOR_KEY = "csat-messenger-visitor";

  function visitor(value) {
    // W2: a lead's visitor id, kept in this site's storage too, for browsers that keep no
    // storage in a third-party frame. Only a lead's; a signed-in user needs none.
    try {
      if (value === undefined) { return window.localStorage.getItem(VISITOR_KEY) || ""; }
      window.localStorage.setItem(VISITOR_KEY, value);
    } catch (e) { return ""; }
    return value;
  }

  function identify() {
    tell({
      type: "csat:identify",
      visitor: visitor(),
      config: {
        user_id: identity.user_id, email: identity.email, name: identity.name,
        user_hash: identity.user_hash, language: identity.language
      }
    });
  }

  function setOpen(value) {
    open = value;
    frame.style.display = open ? "block" : "none";
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close messages" : "Open messages");
    fit();
    tell({ type: open ? "csat:open" : "csat:closed" });
    if (open) { frame.focus(); } else { launcher.focus(); }
  }

  function setBadge(count) {
    count = Math.max(0, Math.min(99, parseInt(count, 10) || 0));
    badge.textContent = count ? String(count) : "";
    badge.style.display = count ? "block" : "none";
    launcher.setAttribute("aria-label", (open ? "Close messages" : "Open messages") +
      (count ? " (" + count + " unread)" : ""));
  }

  window.addEventListener("message", function (event) {
    // W7: only our own iframe, from csat's origin, is listened to.
    if (event.origin !== csat || event.source !== frame.contentWindow) { return; }
    var data = event.data;
    if (!data || typeof data !== "object") { return; }
    if (data.type === "csat:ready") { ready = true; identify(); if (open) { tell({ type: "csat:open" }); } }
    else if (data.type === "csat:unread") { setBadge(data.count); }
    else if (data.type === "csat:close") { setOpen(false); }
    else if (data.type === "csat:visitor" && typeof data.id === "string" && data.id.length <= 64) {
      visitor(data.id);
    }
  });

  launcher.addEventListener("click", function () { setOpen(!open); });
  if (narrow && narrow.addEventListener) { narrow.addEventListener("change", fit); }

  function mount() {
    document.body.appendChild(frame);
    document.body.appendChild(launcher);
    fit();
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }

  window.CsatMessenger = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    update: function (next) {
      identity = next || {};
      if (ready) { identify(); }
    }
  };
})();
