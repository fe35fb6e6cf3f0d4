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
  // "Hand in" asks first: a dialog names the questions the page leaves unanswered, each linked.
  // Without this script the button leads to a confirmation page that does the same.
  function isAnswered(fieldset) {
    var choices = fieldset.querySelectorAll("input[type=radio], input[type=checkbox]");
    if (choices.length) {
      return Array.prototype.some.call(choices, function (c) { return c.checked; });
    }
    var text = fieldset.querySelector("input.text");
    if (text) { return text.value.trim() !== ""; }
    var selects = fieldset.querySelectorAll("select");
    return selects.length > 0 && Array.prototype.every.call(selects, function (s) { return s.value !== ""; });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-hand-in]");
    if (button) {
      var dialog = document.getElementById(button.getAttribute("data-hand-in"));
      if (!dialog || typeof dialog.showModal !== "function") { return; }
      event.preventDefault();
      var list = dialog.querySelector("[data-unanswered] ul");
      list.textContent = "";
      document.querySelectorAll("fieldset.question").forEach(function (fieldset) {
        if (isAnswered(fieldset)) { return; }
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = "#" + fieldset.id;
        link.textContent = fieldset.querySelector("legend").textContent;
        link.addEventListener("click", function () { dialog.close(); });
        item.appendChild(link);
        list.appendChild(item);
      });
      dialog.querySelector("[data-unanswered]").hidden = list.children.length === 0;
      dialog.querySelector("[data-all-answered]").hidden = list.children.length > 0;
      dialog.showModal();
      return;
    }
    var close = event.target.closest("[data-close-dialog]");
    if (close) { close.closest("dialog").close(); }
  });
})();
