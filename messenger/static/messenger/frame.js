/* The Messenger inside its iframe (or full-page behind a link): who the visitor is, their
   conversations, the composer, the rating card. Talks to its own origin's endpoints with the
   session token in a header (W4), and to the host page only through postMessage, with the
   host's origin checked both ways (W7). No build step, no dependency. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("mx-config").textContent);
  // L2: the words this script shows, in the visitor's language (drawn by csat in the config).
  var words = config.words || {};
  function word(key, english) { return words[key] || english; }
  var root = document.querySelector("[data-messenger]");
  var threads = root.querySelector("[data-threads]");
  var status = root.querySelector("[data-status]");
  var compose = root.querySelector("[data-compose]");
  var composeLabel = root.querySelector("[data-compose-label]");
  var message = compose.elements.body;
  var lead = root.querySelector("[data-lead]");
  var leadForm = root.querySelector("[data-lead-form]");
  var back = root.querySelector("[data-back]");
  var closer = root.querySelector("[data-close]");
  var title = root.querySelector("[data-title]");
  var newButton = root.querySelector("[data-new]");

  var inFrame = config.mode === "frame" && window.parent !== window;
  var host = config.host; // the host page's origin, checked against the allowed list
  var state = {
    session: "", contact: null, etag: "", open: null, shown: inFrame ? false : true,
    timer: null, busy: false
  };
  document.body.classList.add("mx-js");

  // --- the host page ------------------------------------------------------------------------

  function tellHost(data) {
    if (inFrame && host) { window.parent.postMessage(data, host); }
  }

  window.addEventListener("message", function (event) {
    // W7: only the page that embeds us, from an allowed origin, is listened to.
    if (!inFrame || !host || event.source !== window.parent || event.origin !== host) { return; }
    if (config.allowed.indexOf(event.origin) === -1) { return; }
    var data = event.data;
    if (!data || typeof data !== "object") { return; }
    if (data.type === "csat:identify") {
      var who = data.config && typeof data.config === "object" ? data.config : {};
      if (who.user_id !== undefined && who.user_id !== null && who.user_id !== "") {
        identify({
          user_id: String(who.user_id), user_hash: String(who.user_hash || ""),
          email: String(who.email || ""), name: String(who.name || ""),
          language: String(who.language || "")
        });
      } else {
        // W2: the lead's visitor id, from csat's storage in this frame, or else from the host
        // page's (a browser that blocks storage in third-party frames keeps none here).
        // L1: a new lead takes the host page's language, else the browser's when supported.
        identify({
          visitor_id: stored("csat-visitor") || String(data.visitor || ""),
          language: String(who.language || ""),
          browser_language: String(navigator.language || "")
        });
      }
    } else if (data.type === "csat:open") {
      state.shown = true;
      seen();
      schedule();
      (state.open ? message : (threads.querySelector("[data-open]") || message)).focus();
    } else if (data.type === "csat:closed") {
      state.shown = false;
      schedule();
    }
  });

  // --- storage (the visitor id of a lead, what was last seen) --------------------------------

  // A browser that blocks third-party storage (third-party cookies off) refuses localStorage
  // in this iframe: then what was seen is remembered in memory, for as long as the page lives.
  var memory = {};
  function stored(key) {
    try {
      var value = window.localStorage.getItem(key);
      if (value !== null) { return value; }
    } catch (e) { /* storage off: the memory below */ }
    return memory[key] || "";
  }
  function store(key, value) {
    memory[key] = value;
    try { window.localStorage.setItem(key, value); } catch (e) { /* storage off: memory only */ }
  }

  // --- talking to csat --------------------------------------------------------------------------

  function say(text, kind) {
    status.textContent = text || "";
    status.hidden = !text;
    status.className = "mx-status notice" + (kind ? " " + kind : "");
  }

  function reason(response) {
    return response.json().then(function (data) {
      return data.message || word("failed", "Something went wrong. Please try again.");
    }, function () { return word("failed", "Something went wrong. Please try again.") + " (" + response.status + ")"; });
  }

  function call(method, url, body) {
    var headers = { "X-Messenger-Session": state.session, "Accept": "application/json" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(url, {
      method: method, headers: headers, credentials: "omit", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  function offline() {
    say(word("offline", "We could not reach the Messenger. Check your connection; we will keep trying."), "warn");
  }

  function identify(identity) {
    return fetch(config.urls.session, {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(identity)
    }).then(function (response) {
      if (!response.ok) { return reason(response).then(refused); }
      return response.json().then(function (data) {
        state.session = data.session;
        state.contact = data.contact;
        state.etag = "";
        if (data.visitor_id) {
          store("csat-visitor", data.visitor_id);
          tellHost({ type: "csat:visitor", id: data.visitor_id });
        }
        say("");
        return refresh(true).then(schedule);
      });
    }, offline);
  }

  function refused(words) {
    // W1: nothing of anyone's conversations stays on screen.
    state.session = "";
    state.contact = null;
    threads.innerHTML = "";
    compose.hidden = true;
    lead.hidden = true;
    back.hidden = true;
    clearTimeout(state.timer);
    say(words, "warn");
    tellHost({ type: "csat:unread", count: 0 });
  }

  function typing() {
    // A poll never replaces a card the visitor is filling in.
    var active = document.activeElement;
    if (active && threads.contains(active) && /^(TEXTAREA|INPUT)$/.test(active.tagName)) {
      return true;
    }
    var boxes = threads.querySelectorAll("textarea");
    for (var i = 0; i < boxes.length; i++) { if (boxes[i].value) { return true; } }
    return threads.querySelector("input[type=checkbox]:checked") !== null;
  }

  function refresh(force) {
    if (!state.session) { return Promise.resolve(); }
    if (!force && typing()) { return Promise.resolve(); }
    var headers = { "X-Messenger-Session": state.session };
    if (state.etag && !force) { headers["If-None-Match"] = state.etag; }
    return fetch(config.urls.threads, { headers: headers, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) { return; }
        if (!response.ok) {
          if (response.status === 403) { return reason(response).then(refused); }
          return;
        }
        var etag = response.headers.get("ETag") || "";
        return response.text().then(function (html) {
          if (!state.session) { return; }
          state.etag = etag;
          threads.innerHTML = html;
          say("");
          show(state.open);
        });
      }, offline);
  }

  function schedule() {
    clearTimeout(state.timer);
    if (!state.session) { return; }
    // W6: every few seconds while open; a fifth as often while closed (for the badge);
    // not at all while the page is in a background tab.
    var seconds = config.poll * (state.shown ? 1 : 5);
    state.timer = setTimeout(function () {
      if (document.hidden) { schedule(); return; }
      refresh(false).then(schedule, schedule);
    }, seconds * 1000);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.session) { refresh(false).then(schedule); }
  });

  // --- what is shown ----------------------------------------------------------------------------

  function sections() { return threads.querySelectorAll("section[data-conversation]"); }

  function show(open) {
    var home = threads.querySelector("[data-home]");
    var found = null;
    Array.prototype.forEach.call(sections(), function (section) {
      var match = open !== null && section.getAttribute("data-conversation") === String(open);
      section.hidden = !match;
      if (match) { found = section; }
    });
    if (open !== null && !found) { open = null; }
    state.open = open;
    if (home) { home.hidden = open !== null; }
    back.hidden = open === null;
    title.textContent = found ? found.querySelector("h2").textContent : word("messages", "Messages");
    compose.hidden = false;
    composeLabel.textContent = open === null ? word("start", "Start a conversation") : word("reply", "Reply");
    message.placeholder = open === null ? word("help", "How can we help?") : word("write_reply", "Write a reply…");
    var contact = state.contact;
    lead.hidden = !(open === null && contact && contact.role === "lead" && !contact.email);
    if (found && (open !== state.scrolled || threads.innerHTML.length !== state.drawn)) {
      // The newest message comes into view, or the rating card below it (D1, D3), when a
      // conversation opens or something new arrives (not on every poll: reading stays put).
      var parts = found.querySelector(".parts");
      var last = found.querySelector(".rating-card, .app-card") || (parts && parts.lastElementChild);
      if (last) { last.scrollIntoView({ block: "nearest" }); }
    }
    state.scrolled = open;
    state.drawn = threads.innerHTML.length;
    seen();
  }

  function seenKey() { return "csat-seen-" + (state.contact ? state.contact.role : "") + state.session.split(":")[0]; }

  function seen() {
    // The badge: teammates' and the bot's messages newer than the last one seen.
    var times = Array.prototype.map.call(threads.querySelectorAll("[data-at]"), function (el) {
      return parseInt(el.getAttribute("data-at"), 10) || 0;
    });
    var newest = times.length ? Math.max.apply(null, times) : 0;
    var key = seenKey();
    var last = parseInt(stored(key), 10);
    if (isNaN(last) || (state.shown && (!inFrame || !document.hidden))) {
      store(key, String(newest));
      last = newest;
    }
    tellHost({ type: "csat:unread", count: times.filter(function (t) { return t > last; }).length });
  }

  threads.addEventListener("click", function (event) {
    var link = event.target.closest("[data-open]");
    if (!link) { return; }
    event.preventDefault();
    show(link.getAttribute("data-open"));
    message.focus();
  });

  back.addEventListener("click", function () { show(null); });
  newButton.addEventListener("click", function () { show(null); message.focus(); });
  if (closer) { closer.addEventListener("click", function () { tellHost({ type: "csat:close" }); }); }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { tellHost({ type: "csat:close" }); }
  });

  // --- writing ------------------------------------------------------------------------------------

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy || !state.session) { return; }
    var body = message.value;
    if (!body.trim()) { say(word("empty", "Write a message first."), "warn"); message.focus(); return; }
    var url = state.open === null
      ? config.urls.start
      : config.urls.reply.replace("/0/", "/" + encodeURIComponent(state.open) + "/");
    state.busy = true;
    call("POST", url, { body: body }).then(function (response) {
      if (!response.ok) { return reason(response).then(function (words) { say(words, "warn"); }); }
      return response.json().then(function (data) {
        message.value = "";
        state.open = String(data.conversation);
        return refresh(true);
      });
    }, offline).then(function () { state.busy = false; }, function () { state.busy = false; });
  });

  leadForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var fields = leadForm.elements;
    call("POST", config.urls.me, { email: fields.email.value, name: fields.name.value })
      .then(function (response) {
        if (!response.ok) { return reason(response).then(function (words) { say(words, "warn"); }); }
        return response.json().then(function (data) {
          state.contact = data;
          lead.hidden = true;
          say(word("lead_saved", "Thanks: we can also answer you at {email}.").replace("{email}", data.email), "ok");
        });
      }, offline);
  });

  // The rating card: the same card as the rating page (one template), its forms sent to the
  // card API with the same services and rules (A1–A9); a refusal is said in its words (A7).
  var lastPressed = null;
  threads.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=value]");
    if (button) { lastPressed = button; }
  });

  threads.addEventListener("submit", function (event) {
    var form = event.target;
    var match = /\/rate\/([^/]+)\/(comment\/)?$/.exec(new URL(form.action, location.href).pathname);
    if (!match) { return; }
    event.preventDefault();
    var token = decodeURIComponent(match[1]);
    // The card is found again by its conversation: each drawing signs a new token.
    var section = form.closest("[data-conversation]");
    var conversation = section ? section.getAttribute("data-conversation") : "";
    var url = config.urls.card + encodeURIComponent(token) + "/" + (match[2] ? "comment/" : "reaction/");
    var body;
    if (match[2]) {
      body = {
        comment: form.elements.comment ? form.elements.comment.value : "",
        reasons: Array.prototype.map.call(
          form.querySelectorAll("input[name=reasons]:checked"), function (box) { return box.value; })
      };
    } else {
      var button = event.submitter || lastPressed;
      if (!button || !button.value) { return; }
      body = { value: parseInt(button.value, 10) };
    }
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    // K11: this site's own cookies go with the answer (same-origin only), so a browser signed
    // in as staff is told it cannot rate; they grant the card API nothing.
    fetch(url, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.ok) {
        if (form.elements.comment) { form.elements.comment.value = ""; }
        return refresh(true);
      }
      return reason(response).then(function (words) {
        Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox]"), function (b) { b.checked = false; });
        if (form.elements.comment) { form.elements.comment.value = ""; }
        return refresh(true).then(function () { cardSays(conversation, words); });
      });
    }, offline);
  });

  function cardSays(conversation, words) {
    Array.prototype.forEach.call(sections(), function (section) {
      var note = section.querySelector("[data-card] .mx-card-status");
      if (section.getAttribute("data-conversation") !== conversation || !note) { return; }
      note.textContent = words;
      note.hidden = false;
      note.scrollIntoView({ block: "nearest" });
    });
  }

  // --- start --------------------------------------------------------------------------------------

  if (config.mode === "page") {
    show(null);
    identify({ link: config.link });
  } else if (inFrame && host) {
    tellHost({ type: "csat:ready" });
  } else {
    say(word("frame_only", "This page is the Messenger's frame: it opens from the company's website."), "warn");
  }
})();
