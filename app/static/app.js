// BerAKHLAK: small enhancements on top of htmx. Pages work without this file.
(function () {
  "use strict";
  // After a swap, move focus to the element the fragment marks, so keyboard and screen-reader
  // users continue from the new content instead of the top of the page.
  document.addEventListener("htmx:afterSwap", function (event) {
    var focus = event.detail.target.querySelector("[data-focus]");
    if (focus) { focus.focus(); }
  });
  // htmx does not swap error responses: say so next to the control instead of doing nothing.
  function report(event) {
    var box = event.detail.elt.closest("[data-error-message]");
    if (!box) { return; }
    var note = box.querySelector(".request-error");
    if (!note) {
      note = document.createElement("p");
      note.className = "alert request-error";
      note.setAttribute("role", "alert");
      box.appendChild(note);
    }
    note.textContent = box.getAttribute("data-error-message");
  }
  document.addEventListener("htmx:responseError", report);
  document.addEventListener("htmx:sendError", report);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var box = event.detail.elt.closest("[data-error-message]");
    var note = box && box.querySelector(".request-error");
    if (note) { note.remove(); }
  });
})();
