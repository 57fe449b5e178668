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
    // The unread count stays in sight on the folded menu's button (the live stream updates
    // the bell, and this with it).
    var badge = document.createElement("span");
    badge.className = "nav-count menu-count";
    badge.hidden = true;
    toggle.appendChild(badge);
    window.agoraMenuCount = function (n) {
      badge.hidden = !(n > 0);
      badge.textContent = n > 99 ? "99+" : String(n);
      var sr = document.createElement("span");
      sr.className = "sr-only";
      sr.textContent = " unread";
      badge.appendChild(sr);
    };
    var bellAtLoad = document.querySelector(".nav-bell");
    if (bellAtLoad) { window.agoraMenuCount(parseInt(bellAtLoad.getAttribute("data-unread"), 10) || 0); }
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
      var noun = form.querySelector(".boost-noun");
      if (noun) { noun.textContent = res.boosts === 1 ? "boost" : "boosts"; }
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
  // ---- Attachments. Choosing files, or pasting or dropping them into the text, uploads each
  // at once (POST /api/v1/uploads) while writing goes on: a placeholder marks the place in the
  // text, a bar shows the progress, and the file's Markdown replaces the placeholder when it
  // arrives (or the reason it was refused is shown beside the field, the text untouched).
  // Without this script the file field is sent with the form and attached by the server.
  document.querySelectorAll("[data-attach]").forEach(function (box) {
    var area = document.getElementById(box.getAttribute("data-attach"));
    var input = box.querySelector("input[type=file]");
    var list = box.querySelector(".upload-list");
    var url = box.getAttribute("data-upload");
    var max = parseInt(box.getAttribute("data-max"), 10) || 0;
    if (!area || !input || !list || !window.FormData || !window.XMLHttpRequest) { return; }
    var hint = box.querySelector(".js-hint");
    if (hint) { hint.hidden = false; }
    var form = area.form;
    var pending = 0;
    var seq = 0;

    function changed() {
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function size(bytes) {
      return bytes >= 1048576 ? (Math.round(bytes / 104857.6) / 10) + " MB" : Math.max(1, Math.ceil(bytes / 1024)) + " KB";
    }
    // At the cursor, on a line of its own; returns what went in (the text with the line
    // breaks added around it).
    function insert(text) {
      var start = area.selectionStart || 0;
      var end = area.selectionEnd || start;
      var before = area.value.slice(0, start);
      var after = area.value.slice(end);
      var lead = before && !/\n$/.test(before) ? "\n" : "";
      var tail = after && !/^\n/.test(after) ? "\n" : "";
      area.value = before + lead + text + tail + after;
      var at = (before + lead + text + tail).length;
      area.setSelectionRange(at, at);
      changed();
      return lead + text + tail;
    }
    // The placeholder `marker` (put in as `placed`, with its line breaks) becomes `text`; with
    // no text it goes with the line breaks it brought. Setting the value would put the caret
    // at the end: the writer's selection is kept where it was in the text around it.
    function replace(marker, placed, text) {
      var whole = area.value.indexOf(placed) >= 0 ? placed : marker;
      var at = area.value.indexOf(whole);
      if (at < 0) {
        if (text) { insert(text); }
        return;
      }
      var end = at + whole.length;
      if (!text && whole === marker && area.value.charAt(end) === "\n") { end += 1; }
      var by = text ? whole.split(marker).join(text) : "";
      var shift = function (p) {
        return p <= at ? p : p >= end ? p + by.length - (end - at) : at + by.length;
      };
      var start = shift(area.selectionStart);
      var stop = shift(area.selectionEnd);
      area.value = area.value.slice(0, at) + by + area.value.slice(end);
      area.setSelectionRange(start, stop);
      changed();
    }
    function note(item, text, failed) {
      item.textContent = text;
      item.className = failed ? "upload-error" : "upload-done";
      if (!failed) { setTimeout(function () { if (item.parentNode) { item.parentNode.removeChild(item); } }, 5000); }
    }
    function upload(file) {
      var item = document.createElement("li");
      list.appendChild(item);
      var name = file.name || "pasted image";
      if (max && file.size > max) {
        note(item, name + " is " + size(file.size) + "; files may be at most " + size(max) + ".", true);
        return;
      }
      item.textContent = "Uploading " + name + " ";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      item.appendChild(bar);
      seq += 1;
      var marker = "[Uploading " + name.replace(/[\[\]]/g, "") + "… #" + seq + "]";
      var placed = insert(marker);
      pending += 1;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { bar.value = Math.round(e.loaded * 100 / e.total); }
      };
      xhr.onload = function () {
        pending -= 1;
        var res = null;
        try { res = JSON.parse(xhr.responseText); } catch (e) { res = null; }
        if (xhr.status === 201 && res && res.markdown) {
          replace(marker, placed, res.markdown);
          note(item, name + " added.", false);
        } else {
          replace(marker, placed, "");
          note(item, name + ": " + (res && res.error ? res.error.message : "the upload failed (HTTP " + xhr.status + ")."), true);
        }
      };
      xhr.onerror = function () {
        pending -= 1;
        replace(marker, placed, "");
        note(item, name + ": the forum could not be reached. Your text is kept; try again.", true);
      };
      var data = new FormData();
      data.append("file", file, name);
      xhr.send(data);
    }
    function uploadAll(files) {
      for (var i = 0; i < files.length; i++) { upload(files[i]); }
    }
    input.addEventListener("change", function () {
      uploadAll(input.files);
      // Uploaded already: not sent again with the form.
      input.value = "";
    });
    area.addEventListener("paste", function (e) {
      var files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) {
        e.preventDefault();
        uploadAll(files);
      }
    });
    function carriesFiles(e) {
      var types = e.dataTransfer && e.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, "Files") >= 0;
    }
    area.addEventListener("dragover", function (e) {
      if (carriesFiles(e)) { e.preventDefault(); area.classList.add("is-dropping"); }
    });
    area.addEventListener("dragleave", function () { area.classList.remove("is-dropping"); });
    area.addEventListener("drop", function (e) {
      area.classList.remove("is-dropping");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) {
        e.preventDefault();
        uploadAll(files);
      }
    });
    if (form) {
      form.addEventListener("submit", function (e) {
        if (pending > 0) {
          e.preventDefault();
          var item = document.createElement("li");
          list.appendChild(item);
          note(item, "Wait a moment: " + pending + " upload" + (pending === 1 ? " is" : "s are") + " still on the way.", true);
        }
      });
    }
  });

  // ---- Picture: choosing one shows it in a square; drag it (or use the arrow keys) and the
  // zoom to choose the part to keep, which is what is sent (a square PNG). Without this
  // script the picture is sent whole and the server keeps its middle.
  document.querySelectorAll("form[data-avatar-crop]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var box = form.querySelector(".avatar-crop");
    if (!input || !box || !window.URL || !window.DataTransfer || !document.createElement("canvas").toBlob) { return; }
    var VIEW = 240;
    var canvas = document.createElement("canvas");
    canvas.width = VIEW;
    canvas.height = VIEW;
    canvas.className = "crop-view";
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "The part of the picture to keep: drag it, or use the arrow keys");
    var label = document.createElement("label");
    label.textContent = "Zoom ";
    var zoom = document.createElement("input");
    zoom.type = "range";
    zoom.min = "1";
    zoom.max = "4";
    zoom.step = "0.01";
    zoom.value = "1";
    label.appendChild(zoom);
    box.appendChild(canvas);
    box.appendChild(label);
    var ctx = canvas.getContext("2d");
    var img = null;
    var cx = 0;
    var cy = 0;
    function side() { return Math.min(img.naturalWidth, img.naturalHeight) / parseFloat(zoom.value); }
    function draw() {
      if (!img) { return; }
      var s = side();
      cx = Math.min(Math.max(cx, s / 2), img.naturalWidth - s / 2);
      cy = Math.min(Math.max(cy, s / 2), img.naturalHeight - s / 2);
      ctx.clearRect(0, 0, VIEW, VIEW);
      ctx.drawImage(img, cx - s / 2, cy - s / 2, s, s, 0, 0, VIEW, VIEW);
    }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !/^image\//.test(file.type)) { box.hidden = true; img = null; return; }
      var next = new Image();
      next.onload = function () {
        img = next;
        cx = img.naturalWidth / 2;
        cy = img.naturalHeight / 2;
        zoom.value = "1";
        box.hidden = false;
        draw();
      };
      next.onerror = function () { box.hidden = true; img = null; };
      next.src = URL.createObjectURL(file);
    });
    zoom.addEventListener("input", draw);
    var drag = null;
    canvas.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drag || !img) { return; }
      var k = side() / VIEW;
      cx -= (e.clientX - drag.x) * k;
      cy -= (e.clientY - drag.y) * k;
      drag = { x: e.clientX, y: e.clientY };
      draw();
    });
    canvas.addEventListener("pointerup", function () { drag = null; });
    canvas.addEventListener("keydown", function (e) {
      if (!img) { return; }
      var step = side() / 20;
      var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      var move = moves[e.key];
      if (!move) { return; }
      e.preventDefault();
      cx += move[0];
      cy += move[1];
      draw();
    });
    form.addEventListener("submit", function (e) {
      if (!img) { return; }
      e.preventDefault();
      var s = side();
      var out = document.createElement("canvas");
      out.width = out.height = Math.max(1, Math.min(512, Math.round(s)));
      out.getContext("2d").drawImage(img, cx - s / 2, cy - s / 2, s, s, 0, 0, out.width, out.height);
      out.toBlob(function (blob) {
        if (!blob) { img = null; form.submit(); return; }
        var files = new DataTransfer();
        files.items.add(new File([blob], "avatar.png", { type: "image/png" }));
        input.files = files.files;
        img = null;
        form.submit();
      }, "image/png");
    });
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

  // ---- Thread page: local times, replying to one post, quoting a selection, asking before
  // a delete. Without this script times read in UTC (each title says so), Reply and Quote
  // open the reply page, and Delete opens a page that asks first.
  var exactFormat = null;
  var dateFormat = null;
  var relativeFormat = null;
  try {
    exactFormat = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
    dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
    relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  } catch (e) { exactFormat = null; }

  // "3 hours ago" in the reader's language; past four weeks, the date in their time zone.
  function ago(date) {
    var seconds = Math.max(0, (Date.now() - date.getTime()) / 1000);
    var steps = [[3600, 60, "minute"], [86400, 3600, "hour"], [604800, 86400, "day"], [2505600, 604800, "week"]];
    if (seconds < 60) { return relativeFormat.format(0, "second"); }
    for (var i = 0; i < steps.length; i++) {
      if (seconds < steps[i][0]) { return relativeFormat.format(-Math.floor(seconds / steps[i][1]), steps[i][2]); }
    }
    return dateFormat.format(date);
  }

  // Every <time> with an exact UTC title gets the reader's local time instead; data-ago ones
  // say their age again (a cached page may be minutes old); data-local="exact" ones show the
  // local time as their text. Pages are cached and shared, so this happens here, never there.
  if (exactFormat) {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      var local = exactFormat.format(date);
      if (el.getAttribute("data-local") === "exact") {
        el.textContent = local;
      } else if (el.hasAttribute("title")) {
        el.setAttribute("title", local);
      }
      if (el.hasAttribute("data-ago")) { el.textContent = ago(date); }
      el.setAttribute("data-localised", "");
    });
  }

  var replyForm = document.querySelector(".reply-box form");
  var replyArea = replyForm && replyForm.querySelector("textarea[name=body]");

  // The reply box answers one post: a hidden reply_to field and a note saying whom.
  function answer(post) {
    var input = replyForm.querySelector("input[name=reply_to]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "reply_to";
      replyForm.appendChild(input);
    }
    input.value = post.id.replace("post-", "");
    var note = replyForm.querySelector(".replying-to");
    if (!note) {
      note = document.createElement("p");
      note.className = "replying-to";
      replyForm.insertBefore(note, replyForm.firstChild);
    }
    note.textContent = "Replying to ";
    var link = document.createElement("a");
    link.href = post.getAttribute("data-url");
    link.textContent = "@" + post.getAttribute("data-author");
    note.appendChild(link);
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Reply to the thread instead";
    cancel.addEventListener("click", function () {
      input.value = "";
      note.parentNode.removeChild(note);
      replyArea.focus();
    });
    note.appendChild(cancel);
  }

  if (replyForm && replyArea) {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-reply-to]");
      var post = link && link.closest("li.post");
      if (!post) { return; }
      event.preventDefault();
      answer(post);
      replyArea.focus();
    });

    // Select text in a post and a Quote button appears under it: it puts just that text in
    // the reply box as a Markdown quote, linked to its post and author.
    var quoteButton = document.createElement("button");
    quoteButton.type = "button";
    quoteButton.className = "secondary quote-selection";
    quoteButton.textContent = "Quote";
    quoteButton.hidden = true;
    var quoted = null;
    document.addEventListener("selectionchange", function () {
      var selection = window.getSelection();
      var text = selection && !selection.isCollapsed ? selection.toString().trim() : "";
      var body = null;
      if (text && selection.rangeCount) {
        var node = selection.getRangeAt(0).commonAncestorContainer;
        var element = node.nodeType === 1 ? node : node.parentElement;
        body = element && element.closest(".post-body");
      }
      var post = body && body.closest("li.post");
      if (!post) { quoteButton.hidden = true; quoted = null; return; }
      quoted = { text: text, post: post };
      body.parentNode.insertBefore(quoteButton, body.nextSibling);
      quoteButton.setAttribute("aria-label", "Quote the selected text from @" + post.getAttribute("data-author"));
      quoteButton.hidden = false;
    });
    // Pressing the button must not clear the selection it quotes.
    quoteButton.addEventListener("mousedown", function (event) { event.preventDefault(); });
    quoteButton.addEventListener("click", function () {
      if (!quoted) { return; }
      var post = quoted.post;
      var lines = quoted.text.split(/\r?\n/).map(function (line) { return ("> " + line).trimEnd(); });
      var markdown = "[@" + post.getAttribute("data-author") + "](" + post.getAttribute("data-url") +
        ") wrote:\n\n" + lines.join("\n") + "\n\n";
      var at = replyArea.selectionStart || replyArea.value.length;
      var before = replyArea.value.slice(0, at);
      if (before && !/\n\n$/.test(before)) { before += /\n$/.test(before) ? "\n" : "\n\n"; }
      replyArea.value = before + markdown + replyArea.value.slice(at);
      answer(post);
      replyArea.focus();
      replyArea.selectionStart = replyArea.selectionEnd = (before + markdown).length;
      replyArea.dispatchEvent(new Event("input"));
      quoteButton.hidden = true;
      quoted = null;
    });
  }

  // Delete asks first, saying what goes with the post; then posts the confirmed form. Without
  // this script the button opens the page that asks.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm-delete");
    if (!question) { return; }
    event.preventDefault();
    if (!window.confirm(question)) { return; }
    var confirmed = document.createElement("form");
    confirmed.method = "post";
    confirmed.action = form.getAttribute("action");
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "confirm";
    input.value = "yes";
    confirmed.appendChild(input);
    document.body.appendChild(confirmed);
    confirmed.submit();
  });
  // ---- end of the thread page

  // ---- Drafts. A writing form names its draft's place (data-draft: "thread", "reply:12",
  // "edit:34"). What is typed is saved to the account a moment after typing stops, so it comes
  // back on any device; until the server has it, a copy waits in this browser (and is put back
  // if the page is opened again first). Leaving with text the server does not have yet asks
  // first. Without this script, a refused submit keeps the text as a draft on the server.
  (function () {
    var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-draft]"))
      .filter(function (form) { return form.getAttribute("data-draft"); });
    if (!forms.length) { return; }
    var storage = null;
    try { storage = window.localStorage; storage.getItem("agora-draft"); } catch (e) { storage = null; }
    var clock = null;
    try { clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }); } catch (e) { clock = null; }

    var drafts = forms.map(function (form) {
      var place = form.getAttribute("data-draft");
      var key = "agora-draft:" + place;
      var status = document.createElement("p");
      status.className = "draft-status";
      status.setAttribute("role", "status");
      var actions = form.querySelector(".actions") || form.querySelector("button[type=submit]");
      if (actions && actions.parentNode === form) { form.insertBefore(status, actions.nextSibling); } else { form.appendChild(status); }

      function value(name) {
        var el = form.elements[name];
        if (!el) { return undefined; }
        if (el.length !== undefined && el.tagName === undefined) {
          for (var i = 0; i < el.length; i++) { if (el[i].checked) { return el[i].value; } }
          return "";
        }
        return el.value;
      }
      function fields() {
        var f = { place: place };
        ["subtopic", "title", "tags", "body", "reason"].forEach(function (name) {
          var v = value(name);
          if (v !== undefined) { f[name] = v; }
        });
        var kind = value("kind");
        if (kind !== undefined) { f.thread_kind = kind; }
        var to = value("reply_to");
        f.reply_to = to && /^[1-9][0-9]*$/.test(to) ? Number(to) : null;
        return f;
      }
      function fill(f) {
        ["subtopic", "title", "tags", "body", "reason"].forEach(function (name) {
          var el = form.elements[name];
          if (el && typeof f[name] === "string" && el.value !== undefined && el.tagName) { el.value = f[name]; }
        });
      }
      var draft = { form: form, saved: JSON.stringify(fields()), unsaved: false, leaving: false, sending: null };
      function say(text, problem) {
        status.textContent = text;
        status.classList.toggle("is-problem", !!problem);
      }
      function keepLocal(text) {
        if (!storage) { return; }
        try { storage.setItem(key, JSON.stringify({ at: Date.now(), fields: JSON.parse(text) })); } catch (e) { /* full */ }
      }
      function dropLocal() {
        if (storage) { try { storage.removeItem(key); } catch (e) { /* ignore */ } }
      }

      // A copy this browser kept that the server never had (offline, too long, signed out):
      // put it back, and say so.
      if (storage) {
        try {
          var kept = JSON.parse(storage.getItem(key) || "null");
          if (kept && kept.fields && JSON.stringify(kept.fields) !== draft.saved &&
              typeof kept.fields.body === "string" && kept.fields.body.trim()) {
            fill(kept.fields);
            draft.unsaved = true;
            say("Restored what you typed here before: it was not saved to your account yet.", false);
          }
        } catch (e) { dropLocal(); }
      }

      function save(keepalive) {
        var text = JSON.stringify(fields());
        if (text === draft.saved) { draft.unsaved = false; dropLocal(); return; }
        draft.sending = text;
        fetch("/api/v1/drafts", {
          method: "PUT",
          credentials: "same-origin",
          keepalive: !!keepalive && text.length < 60000,
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: text
        }).then(function (r) {
          if (r.ok) {
            draft.saved = text;
            draft.unsaved = JSON.stringify(fields()) !== text;
            if (!draft.unsaved) { dropLocal(); }
            say(r.status === 204 ? "" : "Draft saved" + (clock ? " at " + clock.format(new Date()) : "") + ".", false);
            return;
          }
          return r.json().then(function (res) {
            var message = res && res.error && res.error.message ? res.error.message : "The draft was not saved.";
            if (r.status === 401) { message = "You are signed out: the draft is kept in this browser. Sign in in another tab, then keep typing."; }
            say(message, true);
          });
        }).catch(function () {
          say("Not saved to your account (no connection?): it is kept in this browser.", true);
        }).then(function () { draft.sending = null; });
      }
      var later = debounce(function () { save(false); }, 1200);
      function typed() {
        draft.unsaved = true;
        keepLocal(JSON.stringify(fields()));
        later();
      }
      form.addEventListener("input", typed);
      form.addEventListener("change", typed);
      form.addEventListener("submit", function (event) {
        // A preview keeps the page's text; posting it publishes (or shows the form again).
        draft.leaving = true;
        var submitter = event.submitter;
        if (!submitter || submitter.name !== "preview") { dropLocal(); }
      });
      draft.flush = function () { if (draft.unsaved && !draft.leaving) { save(true); } };
      return draft;
    });

    // Leaving with text the server does not have yet: save it on the way out, and ask.
    window.addEventListener("beforeunload", function (event) {
      var pending = drafts.filter(function (d) { return d.unsaved && !d.leaving; });
      if (!pending.length) { return; }
      pending.forEach(function (d) { d.flush(); });
      event.preventDefault();
      event.returnValue = "";
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { drafts.forEach(function (d) { d.flush(); }); }
    });
  })();

  // ---- @mentions: typing "@" and the start of a name offers members, the thread's own
  // participants first, then the member directory's matches. Arrow keys or Tab choose, Enter
  // takes, Escape closes. Without this script "@name" is typed in full and works the same.
  (function () {
    var areas = document.querySelectorAll("form[data-draft] textarea[name=body]");
    if (!areas.length) { return; }
    var participants = [];
    document.querySelectorAll("li.post[data-author]").forEach(function (post) {
      var name = post.getAttribute("data-author");
      if (name && participants.indexOf(name) < 0) { participants.push(name); }
    });
    var nameChar = /[\p{L}\p{N}_.\-]/u;
    areas.forEach(function (area, n) {
      var list = document.createElement("ul");
      list.className = "mention-suggestions";
      list.id = "mention-suggestions-" + n;
      list.setAttribute("aria-label", "Members to mention");
      list.hidden = true;
      area.parentNode.insertBefore(list, area.nextSibling);
      var status = document.createElement("p");
      status.className = "sr-only";
      status.setAttribute("role", "status");
      area.parentNode.insertBefore(status, list.nextSibling);
      var start = -1;
      var active = -1;
      var asked = "";

      function typed() {
        var at = area.selectionStart;
        var i = at;
        while (i > 0 && nameChar.test(area.value.charAt(i - 1))) { i--; }
        if (i === 0 || area.value.charAt(i - 1) !== "@") { return null; }
        var before = i > 1 ? area.value.charAt(i - 2) : "";
        if (before && (nameChar.test(before) || before === "@")) { return null; }
        start = i;
        return area.value.slice(i, at);
      }
      function close() {
        list.hidden = true;
        list.textContent = "";
        active = -1;
        start = -1;
      }
      function choose(name) {
        var at = area.selectionStart;
        var text = name + " ";
        area.value = area.value.slice(0, start) + text + area.value.slice(at);
        var caret = start + text.length;
        close();
        area.focus();
        area.selectionStart = area.selectionEnd = caret;
        area.dispatchEvent(new Event("input", { bubbles: true }));
      }
      function mark(i) {
        var items = list.querySelectorAll("button");
        if (!items.length) { return; }
        active = (i + items.length) % items.length;
        items.forEach(function (b, j) { b.setAttribute("aria-current", j === active ? "true" : "false"); });
      }
      function show(names) {
        list.textContent = "";
        names.slice(0, 6).forEach(function (name) {
          var li = document.createElement("li");
          var b = document.createElement("button");
          b.type = "button";
          b.className = "secondary";
          b.textContent = "@" + name;
          b.addEventListener("mousedown", function (e) { e.preventDefault(); });
          b.addEventListener("click", function () { choose(name); });
          li.appendChild(b);
          list.appendChild(li);
        });
        list.hidden = names.length === 0;
        status.textContent = names.length ? names.length + (names.length === 1 ? " member" : " members") + " to mention: arrow keys choose, Enter takes" : "";
        if (names.length) { mark(0); }
      }
      var lookup = debounce(function (prefix) {
        var lower = prefix.toLowerCase();
        var names = participants.filter(function (p) { return p.toLowerCase().indexOf(lower) === 0; });
        show(names);
        if (!prefix) { return; }
        asked = prefix;
        fetch("/api/v1/users?q=" + encodeURIComponent(prefix), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
          .then(function (res) {
            if (asked !== prefix || start < 0) { return; }
            (res.members || []).forEach(function (m) {
              if (names.indexOf(m.username) < 0) { names.push(m.username); }
            });
            show(names);
          }).catch(function () {});
      }, 150);
      area.addEventListener("input", function () {
        var prefix = typed();
        if (prefix === null || prefix.length > 30) { close(); return; }
        lookup(prefix);
      });
      area.addEventListener("keydown", function (e) {
        if (list.hidden) { return; }
        var items = list.querySelectorAll("button");
        if (e.key === "ArrowDown") { e.preventDefault(); mark(active + 1); }
        else if (e.key === "ArrowUp") { e.preventDefault(); mark(active - 1); }
        else if ((e.key === "Enter" || e.key === "Tab") && active >= 0 && items[active]) {
          e.preventDefault();
          choose(items[active].textContent.slice(1));
        } else if (e.key === "Escape") { e.preventDefault(); close(); }
      });
      area.addEventListener("blur", function () { setTimeout(close, 150); });
    });
  })();

  // ---- Live updates: a thread page hears of new replies and edits, a listing of new
  // threads, and the bell of the reader's unread count, through one event stream per page
  // (/events). New things wait behind a bar instead of moving the page. The browser
  // reconnects by itself and the server replays what it missed (Last-Event-ID).
  (function () {
    if (!window.EventSource) { return; }
    var holder = document.querySelector("[data-live]");
    var bell = document.querySelector(".nav-bell");
    if (!holder && !bell) { return; }
    var query = holder ? holder.getAttribute("data-live") : "";
    var source = new EventSource("/events" + (query ? "?" + query : ""));
    var bar = null;
    var count = 0;
    var list = document.querySelector("ol.posts");
    function removeBar() {
      if (bar && bar.parentNode) { bar.parentNode.removeChild(bar); }
      bar = null;
      count = 0;
    }
    function showBar(text, href, onShow) {
      if (!bar) {
        bar = document.createElement("p");
        bar.className = "live-bar";
        bar.setAttribute("role", "status");
        var main = document.querySelector("main") || document.body;
        main.insertBefore(bar, main.firstChild);
      }
      bar.textContent = "";
      var link = document.createElement("a");
      link.href = href;
      link.textContent = text;
      link.addEventListener("click", function (e) {
        if (onShow) { e.preventDefault(); onShow(link); return; }
        // Already on that page: load it again at the new post.
        if (link.pathname === location.pathname) { e.preventDefault(); location.href = href; location.reload(); }
      });
      bar.appendChild(link);
    }
    // The page a post is on, as this reader sees it (their own buttons included).
    function fetchPage(href) {
      return fetch(href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
        .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
    }
    function samePage(href) {
      var u = new URL(href, location.href);
      return u.pathname === location.pathname && u.search === location.search;
    }
    // New replies on this page are put in place, under the others, without a reload (what
    // is being typed stays); on another page of the thread the link goes there.
    var pending = [];
    function showReplies(link) {
      var here = pending.every(function (p) { return samePage(p.url); });
      if (!here || !list) { location.href = link.href; return; }
      fetchPage(location.pathname + location.search).then(function (doc) {
        var first = null;
        doc.querySelectorAll("ol.posts > li.post").forEach(function (li) {
          if (document.getElementById(li.id)) { return; }
          var node = document.importNode(li, true);
          node.classList.add("is-new");
          list.appendChild(node);
          if (!first) { first = node; }
        });
        pending = [];
        removeBar();
        // The thread's reply count, in its header, as the fresh page has it.
        var count = document.querySelector("[data-reply-count]");
        var fresh = doc.querySelector("[data-reply-count]");
        if (count && fresh) { count.textContent = fresh.textContent; }
        if (first) {
          first.setAttribute("tabindex", "-1");
          first.focus();
        }
      }).catch(function () { location.href = link.href; });
    }
    source.addEventListener("post", function (e) {
      var data = JSON.parse(e.data);
      if (document.getElementById("post-" + data.post)) { return; }
      pending.push(data);
      count++;
      showBar(count === 1 ? "1 new reply — show" : count + " new replies — show", data.url, list ? showReplies : null);
    });
    // An edit replaces the post's text in place, marked, unless the reader is in it.
    source.addEventListener("edited", function (e) {
      var data = JSON.parse(e.data);
      var post = document.getElementById("post-" + data.post);
      if (!post) { return; }
      fetchPage(post.getAttribute("data-url") || location.href).then(function (doc) {
        var fresh = doc.getElementById("post-" + data.post);
        var body = post.querySelector(".post-body");
        var freshBody = fresh && fresh.querySelector(".post-body");
        if (!body || !freshBody || post.contains(document.activeElement)) { return; }
        body.innerHTML = freshBody.innerHTML;
        if (!post.querySelector(".live-edited")) {
          var note = document.createElement("span");
          note.className = "live-edited badge";
          note.textContent = "edited just now";
          var meta = post.querySelector(".post-time") || post.firstChild;
          meta.parentNode.insertBefore(note, meta.nextSibling);
        }
      }).catch(function () {});
    });
    source.addEventListener("thread", function () {
      count++;
      showBar(count === 1 ? "1 new thread — show" : count + " new threads — show", location.pathname + location.search);
    });
    source.addEventListener("unread", function (e) {
      if (!bell) { return; }
      var n = parseInt(e.data, 10) || 0;
      var badgeEl = bell.querySelector(".nav-count");
      bell.classList.toggle("has-unread", n > 0);
      bell.setAttribute("data-unread", String(n));
      if (window.agoraMenuCount) { window.agoraMenuCount(n); }
      if (n === 0) { if (badgeEl) { badgeEl.parentNode.removeChild(badgeEl); } return; }
      if (!badgeEl) {
        badgeEl = document.createElement("span");
        badgeEl.className = "nav-count";
        bell.appendChild(document.createTextNode(" "));
        bell.appendChild(badgeEl);
      }
      badgeEl.textContent = n > 99 ? "99+" : String(n);
      var sr = document.createElement("span");
      sr.className = "sr-only";
      sr.textContent = " unread";
      badgeEl.appendChild(sr);
    });
    source.addEventListener("reload", function () { showBar("New activity — reload", location.href); });
    window.addEventListener("pagehide", function () { source.close(); });
  })();

  // Bookmarks: the reminder's date and time, and "tomorrow" and "next week", are read in the
  // reader's own time zone (without this file they are UTC, and the form says so).
  document.querySelectorAll("input[data-tz-offset]").forEach(function (input) {
    input.value = String(-new Date().getTimezoneOffset());
  });
  document.querySelectorAll("[data-tz-name]").forEach(function (el) {
    el.textContent = "(your time)";
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
