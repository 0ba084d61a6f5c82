/* The demo host page's own script: what a company's page would write inline as
   `window.csatMessenger = {...}` before loading widget.js. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("csat-identity").textContent || "{}");
  window.csatMessenger = data;
})();
