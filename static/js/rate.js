/* The rating page (templates/ratings/rate.html) and the Messenger's card (messenger/frame.html):
   no inline script, nothing from another site.

   1. A1, A10: the button marked data-autosubmit (the email link's reaction) is posted once on
      load, with auto=1 so the server can tell this post from a person's press on a button
      (a mail scanner opening every link runs this too; ratings.answers discards what it
      leaves). The marker is added for this one submission only: a later press sends none.
   2. The comment box says how much room is left ("4,950 characters left"), counted as its
      maxlength counts; without this script the hint says "Up to 5,000 characters." */
(function () {
  "use strict";

  // L2: numbers grouped as the page's language groups them ("4,950", "4 950", "4.950").
  function grouped(n) {
    try { return n.toLocaleString(document.documentElement.lang || "en"); }
    catch (e) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  }

  function autosubmit() {
    var button = document.querySelector("[data-autosubmit]");
    if (!button || !button.form) { return; }
    var form = button.form;
    var sending = document.querySelector("[data-sending]");
    if (sending) { sending.hidden = false; }
    var marker = document.createElement("input");
    marker.type = "hidden";
    marker.name = "auto";
    marker.value = "1";
    form.appendChild(marker);
    // The form data is taken synchronously: the marker is gone before anyone can press.
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
    form.removeChild(marker);
  }

  function room(box) {
    var hint = document.getElementById(box.getAttribute("data-room"));
    var max = parseInt(box.getAttribute("maxlength"), 10);
    if (!hint || !max) { return; }
    var left = Math.max(max - box.value.length, 0);
    // The words come from the page, in the customer's language (L2).
    var one = box.getAttribute("data-left-one") || "1 character left";
    var many = box.getAttribute("data-left-many") || "{n} characters left";
    hint.textContent = left === 1 ? one : many.replace("{n}", grouped(left));
    hint.classList.toggle("low", left <= Math.min(100, max / 10));
  }

  // Delegated, so that a box drawn later (the Messenger redraws its cards) counts too.
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-room]")) { room(event.target); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-room]"), room);
  autosubmit();
})();
