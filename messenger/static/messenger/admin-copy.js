/* The Copy buttons of the admin's Messenger page (templates/admin/messenger/messengersettings/
   settings.html): each `button[data-copy]` copies the text of the element whose id it names.
   The buttons stay hidden without this script; the snippets can still be selected by hand. */
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function fallback(element) {
    // No clipboard API (a page served over plain HTTP): copy the selection instead.
    selectText(element);
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(element) {
    var text = element.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallback(element); });
    }
    return fallback(element);
  }

  function say(button, label) {
    button.textContent = label;
    window.clearTimeout(button.csatTimer);
    button.csatTimer = window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  function init() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) { return; }
      button.hidden = false;
      button.setAttribute("aria-live", "polite");
      button.addEventListener("click", function () {
        copy(target).then(
          function () { say(button, "Copied"); },
          function () { selectText(target); say(button, "Selected: copy it"); }
        );
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
