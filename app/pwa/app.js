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
        link.addEventListener("click", function (e) {
          e.preventDefault();
          dialog.close();
          fieldset.scrollIntoView();
          var first = fieldset.querySelector("input, select");
          if (first) { first.focus(); }
        });
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
  // ---- Offline: answers and "done" marks wait on this device until the server has them ----
  // Each answer and each mark is put in a queue kept in localStorage, bound to the person
  // (meta bk-user) and, for answers, numbered per (attempt, question) with this device's id:
  // the server keeps the highest number per device, so a retry or an overtaken change is never
  // counted twice and an answer changed twice offline ends as the second. Only the server's
  // reply says "saved". The queue is sent at once, on the `online` event, on every page load
  // and every 15 seconds (Background Sync is not in every browser).
  var QUEUE = "bk-queue", SEQ = "bk-seq", DEVICE = "bk-device", OWNER = "bk-owner";
  var LESSON = /^\/courses\/[a-z0-9-]+(\/lessons\/[a-z0-9-]+)?$/;
  var TIMEOUT = 20000;  // a request that hangs this long on a weak link is tried again later
  var memory = {};  // when localStorage refuses (private mode, full), this page still sends
  function load(key, fallback) {
    try { var v = localStorage.getItem(key); if (v) { return JSON.parse(v); } } catch (e) { /* below */ }
    return key in memory ? memory[key] : fallback;
  }
  function store(key, value) {
    memory[key] = value;
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* kept in memory */ }
  }
  function randomId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  // who is logged in, "" for nobody, null when this page does not say (then nothing is sent)
  function me() { var m = document.querySelector('meta[name="bk-user"]'); return m ? m.content : null; }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }
  function device() {
    var id = load(DEVICE, "");
    if (!id) { id = randomId(); store(DEVICE, id); }
    return id;
  }
  var box = document.getElementById("bk-pending");
  function words(name, n) { return box ? (box.getAttribute("data-" + name) || "").replace("{n}", n) : ""; }
  function mine() { var user = me(); return load(QUEUE, []).filter(function (i) { return i.user === user; }); }
  function showPending() {
    if (!box) { return; }
    var n = mine().length, text = n ? words("text", n) : "";
    // the live region stays in the page (visually hidden when empty), so that it is announced
    if (box.textContent !== text) { box.textContent = text; }
    box.classList.toggle("is-empty", n === 0);
  }
  function say(el, text, kind) {
    if (!el) { return; }
    var now = el.firstElementChild;
    if (now && now.textContent === text && now.className === kind) { return; }  // no re-announcing
    el.textContent = "";
    var span = document.createElement("span");
    span.className = kind;
    span.textContent = text;
    el.appendChild(span);
  }
  function waiting(key) { return mine().some(function (i) { return i.key === key; }); }
  function fieldsetOf(url) { return document.querySelector('fieldset[data-save-url="' + url + '"]'); }
  function statusOf(url) { var f = fieldsetOf(url); return f && f.querySelector(".save-status"); }
  function markStatus(item) {
    var here = document.getElementById("lesson-status");
    return here && item.url.indexOf(location.pathname + "/") === 0 ? here : null;
  }
  function forgetPages() { if (window.caches) { caches.delete("bk-pages"); } }

  // Another person, or nobody, on this device since the last page: forget the kept pages. What
  // the earlier person left waiting stays (bound to them, never shown or sent for anyone else)
  // while nobody is logged in, so that a session that simply ran out loses no answer; another
  // person logging in deletes it (shared phones), as logging out does (Clear-Site-Data).
  (function () {
    var owner = load(OWNER, null), user = me();
    if (user === null) { return; }
    if (owner !== null && owner !== user) {
      forgetPages();
      if (user !== "") {
        store(QUEUE, load(QUEUE, []).filter(function (i) { return i.user === user; }));
      }
    }
    if (user !== "" || owner === null) { store(OWNER, user); }
  })();

  function enqueue(item) {
    var queue = load(QUEUE, []).filter(function (i) { return !(item.key && i.key === item.key && i.user === me()); });
    item.id = randomId();
    item.user = me();
    queue.push(item);
    store(QUEUE, queue);
    showPending();
  }
  function drop(item) {
    store(QUEUE, load(QUEUE, []).filter(function (i) { return i.id !== item.id; }));
  }

  // Send what waits, oldest first. A network failure stops the round (everything after it
  // waits too); a server error or a refusal to serve now (5xx, 429) leaves that item for the
  // next round and goes on with the others; an ended session or a stale page stops the round
  // with its reason.
  var sending = false;
  function flush() {
    if (sending || !me()) { showPending(); return; }
    var round = mine();
    if (!round.length) { showPending(); return; }
    sending = true;
    var i = 0;
    (function next() {
      if (i >= round.length) { sending = false; showPending(); return; }
      var item = round[i++];
      if (!load(QUEUE, []).some(function (q) { return q.id === item.id; })) { next(); return; }  // replaced meanwhile
      send(item).then(function (outcome) {
        if (outcome === "sent" || outcome === "later") { next(); return; }
        round.slice(i).forEach(function (rest) { held(rest, outcome === "offline" ? null : outcome); });
        sending = false;
        showPending();
      });
    })();
  }
  function send(item) {
    var body = new URLSearchParams();
    item.fields.forEach(function (f) { body.append(f[0], f[1]); });
    body.append("csrf_token", csrf());
    if (item.seq) { body.append("device", device()); body.append("seq", String(item.seq)); }
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, TIMEOUT) : null;
    return fetch(item.url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      signal: abort ? abort.signal : undefined,
      headers: { "HX-Request": "true", "X-CSRF-Token": csrf() }
    }).then(function (response) {
      clearTimeout(timer);
      var redirect = response.headers.get("HX-Redirect") || "";
      if (redirect.indexOf("/login") === 0) { held(item, words("login")); return words("login"); }
      if (response.status === 403 || response.type === "opaqueredirect") {
        held(item, words("reload")); return words("reload");  // a stale page: reloading helps
      }
      if (response.status >= 500 || response.status === 429) { held(item, words("later")); return "later"; }
      return response.text().then(function (html) { arrived(item, response.status, redirect, html); return "sent"; });
    }, function () { clearTimeout(timer); held(item, null); return "offline"; });
  }
  function held(item, why) {
    if (item.seq) { say(statusOf(item.url), why || words("waiting"), "error"); return; }
    var here = markStatus(item);
    if (!here) { return; }
    var note = here.querySelector(".queue-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "queue-note";
      (here.querySelector("section") || here).appendChild(note);
    }
    say(note, why || words("mark-waiting"), "error");
  }
  function arrived(item, status, redirect, html) {
    drop(item);
    if (item.seq) {
      var el = statusOf(item.url);
      if (!el || waiting(item.key)) { return; }
      if (status === 200 || status === 409 || status === 422) { el.innerHTML = html; }
      else { say(el, words("failed"), "error"); }  // the attempt or question is gone
      return;
    }
    var here = markStatus(item);
    if (!here) { return; }  // another page: it shows the server's state when next opened
    if (redirect) { location.href = redirect; return; }  // the course is complete: its page
    if (status === 200) {
      here.innerHTML = html;
      if (window.htmx) { htmx.process(here); }
      var focus = here.querySelector("[data-focus]");
      if (focus) { focus.focus(); }
    } else {
      held(item, words("failed"));
    }
  }

  // an answer given: queued, then sent
  function fieldsOf(fieldset) {
    var fields = [];
    fieldset.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.disabled) { return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      fields.push([el.name, el.value]);
    });
    return fields;
  }
  document.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset[data-save-url]");
    if (!fieldset) { return; }
    var key = fieldset.getAttribute("data-save-url");
    var seqs = load(SEQ, {});
    seqs[key] = (seqs[key] || 0) + 1;
    store(SEQ, seqs);
    enqueue({ kind: "answer", key: key, url: key, fields: fieldsOf(fieldset), seq: seqs[key] });
    say(fieldset.querySelector(".save-status"), words("saving"), "meta");
    flush();
  });
  // An answer still waiting shows on the page as given, not as the server last had it (a
  // reload, or the attempt opened again); and a whole-page post ("save", "hand in") carries
  // this device's number for each answer, so that an older one still in flight cannot win.
  function restore() {
    mine().forEach(function (item) {
      var fieldset = item.seq && fieldsetOf(item.url);
      if (!fieldset) { return; }
      var given = {};
      item.fields.forEach(function (f) { (given[f[0]] = given[f[0]] || []).push(f[1]); });
      fieldset.querySelectorAll("input, select").forEach(function (el) {
        var values = given[el.name] || [];
        if (el.type === "radio" || el.type === "checkbox") { el.checked = values.indexOf(el.value) >= 0; }
        else { el.value = values.length ? values[0] : ""; }
      });
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.querySelector("fieldset[data-save-url]") || !me()) { return; }
    var seqs = load(SEQ, {});
    form.querySelectorAll("input[data-queue-seq]").forEach(function (el) { el.remove(); });
    function hidden(name, value) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      input.setAttribute("data-queue-seq", "");
      form.appendChild(input);
    }
    hidden("device", device());
    form.querySelectorAll("fieldset[data-save-url]").forEach(function (fieldset) {
      var key = fieldset.getAttribute("data-save-url");
      if (seqs[key]) { hidden("seq-" + key.split("/").pop(), String(seqs[key])); }
    });
  });
  // "mark as done" / "not done": queued, then sent (a later mark of the same lesson replaces
  // one still waiting)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-queue") !== "mark" || !me()) { return; }
    event.preventDefault();
    var action = new URL(form.action, location.href).pathname;
    var lesson = action.replace(/\/(done|undone)$/, "");
    enqueue({ kind: "mark", key: lesson, url: action, fields: [] });
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    flush();
    // still here after a moment: it waits for the connection
    setTimeout(function () { if (waiting(lesson)) { held({ url: action }, null); } }, 1500);
  });
  // logging out deletes what waits (Clear-Site-Data): ask first
  document.addEventListener("submit", function (event) {
    if (event.target.getAttribute("action") !== "/logout") { return; }
    var n = mine().length;
    if (n && !window.confirm(words("logout", n))) { event.preventDefault(); }
  });
  window.addEventListener("online", flush);
  setInterval(flush, 15000);

  // A lesson shown from this device's copy: ask the server for its status (done or not), and
  // say so when that cannot be had.
  function stale(here, text) {
    var note = here.querySelector(".stale-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "meta stale-note";
      here.insertBefore(note, here.firstChild);
    }
    note.textContent = text;
  }
  function refreshStatus() {
    var here = document.getElementById("lesson-status");
    var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    if (!here || !navigator.serviceWorker || !navigator.serviceWorker.controller || !nav || nav.transferSize !== 0) { return; }
    fetch(location.pathname + "/status", { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (response) {
      if ((response.headers.get("HX-Redirect") || "").indexOf("/login") === 0) {
        forgetPages();  // the session ended: what this device kept of it goes
        stale(here, words("login"));
        return;
      }
      if (!response.ok) { stale(here, words("stale")); return; }
      return response.text().then(function (html) {
        if (waiting(location.pathname)) { return; }
        here.innerHTML = html;
        if (window.htmx) { htmx.process(here); }
      });
    }, function () { stale(here, words("stale")); });
  }

  // The offline page lists what this device kept, so that the installed app is no dead end.
  function listKept() {
    var list = document.getElementById("offline-kept");
    if (!list || !window.caches) { return; }
    caches.open("bk-pages").then(function (cache) { return cache.keys(); }).then(function (requests) {
      requests.forEach(function (request) {
        caches.match(request, { ignoreVary: true }).then(function (response) { return response && response.text(); }).then(function (html) {
          var title = html && /<title>([^<]*)<\/title>/.exec(html);
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = new URL(request.url).pathname;
          var text = document.createElement("textarea");  // entity decoding, no markup
          text.innerHTML = title ? title[1].replace(/ · BerAKHLAK$/, "") : link.href;
          link.textContent = text.value;
          item.appendChild(link);
          list.querySelector("ul").appendChild(item);
          list.hidden = false;
        });
      });
    });
  }

  // The installable app: a service worker for logged-in learners (app/pwa/sw.js)
  if ("serviceWorker" in navigator && me()) {
    var controlled = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.register("/sw.js").then(function () {
      if (!LESSON.test(location.pathname)) { return; }
      var outline = location.pathname.replace(/\/lessons\/.*$/, "");
      navigator.serviceWorker.ready.then(function (registration) {
        if (!registration.active) { return; }
        if (!controlled) {
          // the first lesson opened arrived before the worker: keep it for offline reading
          registration.active.postMessage({ type: "keep", url: location.pathname });
        } else if (outline !== location.pathname && window.caches) {
          // and the course's outline, once (from the second page on: the first page's
          // bytes stay small on a slow link)
          caches.match(outline, { ignoreVary: true }).then(function (hit) {
            if (!hit) { registration.active.postMessage({ type: "keep", url: outline }); }
          });
        }
      });
    }, function () { /* no worker: the site works as before, online */ });
  }
  restore();
  refreshStatus();
  listKept();
  // what waits for this page's questions or lesson is shown as waiting, not as saved
  mine().forEach(function (item) { held(item, null); });
  flush();
})();
