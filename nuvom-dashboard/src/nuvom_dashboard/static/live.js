// Live updates: every element with data-live="URL" is replaced by a fresh fragment from URL every
// data-every milliseconds. Forms with data-confirm ask before they are sent. No dependencies.
(function () {
  "use strict";
  function refresh(element) {
    fetch(element.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { element.innerHTML = html; } })
      .catch(function () { /* the server is away: try again at the next tick */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(function (element) {
      setInterval(function () { refresh(element); }, Number(element.dataset.every || 2000));
    });
    document.addEventListener("submit", function (event) {
      var question = event.target.dataset && event.target.dataset.confirm;
      if (question && !window.confirm(question)) { event.preventDefault(); }
    });
  });
})();
