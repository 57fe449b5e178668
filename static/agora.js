// Agora's progressive enhancements. Every page works without this file; with it, boosts
// toggle in place, Markdown previews live while typing, and the compose form suggests existing
// threads as the title is typed. Served from this origin only (the CSP allows no inline script).
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  // The phone header's menu: one button shows and hides the site's links (the stylesheet
  // folds them only when scripting is on, so without this file they stay in view).
  (function () {
    var toggle = document.querySelector(".menu-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) { return; }
    function set(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    }
    toggle.addEventListener("click", function () {
      set(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        set(false);
        toggle.focus();
      }
    });
  })();

  // Boosts: toggle without leaving the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("boost-form")) { return; }
    event.preventDefault();
    var id = form.getAttribute("action").split("/")[2];
    postJson("/api/v1/posts/" + id + "/boost").then(function (res) {
      var button = form.querySelector("button");
      button.classList.toggle("is-boosted", res.boosted);
      button.setAttribute("aria-pressed", res.boosted ? "true" : "false");
      var count = form.querySelector(".boost-count");
      if (count) { count.textContent = String(res.boosts); }
    }).catch(function () { form.submit(); });
  });

  // A form that does something hard to undo asks first (data-confirm holds the question).
  // Without JavaScript the form posts directly; such pages say what will happen beside it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);

  // Live Markdown preview under any textarea that names its preview region.
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var region = document.getElementById(area.getAttribute("data-preview"));
    if (!region) { return; }
    var target = region.querySelector(".post-body");
    var update = debounce(function () {
      if (area.value.trim().length < 2) { region.hidden = true; return; }
      postJson("/api/v1/preview", { body: area.value }).then(function (res) {
        target.innerHTML = res.html; // sanitised by the server, like every post
        region.hidden = false;
      }).catch(function () {});
    }, 400);
    area.addEventListener("input", update);
  });
  // Similar threads while a question's title is typed: the compose form names the API.
  document.querySelectorAll("form[data-similar]").forEach(function (form) {
    var title = form.querySelector("input[name=title]");
    var aside = document.getElementById("similar");
    if (!title || !aside) { return; }
    var list = aside.querySelector("ul");
    var last = "";
    var update = debounce(function () {
      var text = title.value.trim();
      if (text === last) { return; }
      last = text;
      if (text.length < 8) { aside.hidden = true; return; }
      var url = form.getAttribute("data-similar") + "?title=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (res) {
          if (title.value.trim() !== text) { return; }
          list.textContent = "";
          res.threads.forEach(function (t) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = t.url;
            a.textContent = t.title;
            li.appendChild(a);
            if (t.solved) { li.appendChild(badge("Solved", "solved")); }
            if (t.staff_answered) { li.appendChild(badge("Staff answered", "staff")); }
            var meta = document.createElement("span");
            meta.className = "meta";
            meta.textContent = " " + t.replies + " replies · " + t.subtopic.name;
            li.appendChild(meta);
            list.appendChild(li);
          });
          aside.hidden = res.threads.length === 0;
        }).catch(function () {});
    }, 300);
    title.addEventListener("input", update);
  });

  function badge(text, kind) {
    var span = document.createElement("span");
    span.className = "badge " + kind;
    span.textContent = text;
    var wrap = document.createDocumentFragment();
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(span);
    return wrap;
  }
})();
