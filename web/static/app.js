// ITE front-end glue. No inline scripts (CSP default-src 'self').
(function () {
  "use strict";
  // Every htmx request carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
  });
  // Forms with data-confirm ask before submitting (e.g. disabling a user);
  // so does a submit button with data-confirm, and only when it is the one
  // pressed (the scoring form's 提交 asks, its 保存草稿 and 检查 do not).
  document.addEventListener("submit", function (e) {
    var b = e.submitter;
    var msg = (b && b.getAttribute && b.getAttribute("data-confirm")) || (e.target.getAttribute && e.target.getAttribute("data-confirm"));
    if (msg && !window.confirm(msg)) e.preventDefault();
  }, true);
})();

// Uploads with a visible progress bar: forms marked data-upload are sent by
// XHR so upload.onprogress can drive the <progress>. The server answers
// X-Upload requests with a short Chinese text; on success the page
// reloads to show the new version. Without JavaScript the form posts
// normally.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload") || e.defaultPrevented) return;
    e.preventDefault();
    var bar = form.querySelector("progress");
    var errBox = form.querySelector(".upload-error");
    var button = form.querySelector("button[type=submit]");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Upload", "1");
    if (meta) xhr.setRequestHeader("X-CSRF-Token", meta.content);
    if (bar) { bar.hidden = false; bar.value = 0; }
    if (errBox) { errBox.hidden = true; errBox.textContent = ""; }
    if (button) button.disabled = true;
    xhr.upload.onprogress = function (ev) {
      if (bar && ev.lengthComputable) bar.value = Math.round(ev.loaded * 100 / ev.total);
    };
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (bar) bar.value = 100;
        form.setAttribute("data-uploaded", "1");
        window.location.reload();
        return;
      }
      if (button) button.disabled = false;
      if (bar) bar.hidden = true;
      if (errBox) {
        errBox.textContent = xhr.status === 413 && !xhr.responseText ? "文件过大，请压缩后重试。" : xhr.responseText;
        errBox.hidden = false;
      }
    };
    xhr.onerror = function () {
      if (button) button.disabled = false;
      if (errBox) { errBox.textContent = "网络中断，上传未完成，请重试。"; errBox.hidden = false; }
    };
    xhr.send(new FormData(form));
  });
})();

// The terms form shows only the fields of the chosen pricing method and
// return basis. Without JavaScript every field shows; the server reads only
// the chosen method's.
(function () {
  "use strict";
  function sync(root) {
    root.querySelectorAll(".terms-fields").forEach(function (fs) {
      var m = fs.querySelector('select[name="pricing_method"]');
      var b = fs.querySelector('select[name="return_basis"]');
      fs.querySelectorAll("[data-methods]").forEach(function (el) {
        el.hidden = !!m && el.getAttribute("data-methods").split(" ").indexOf(m.value) < 0;
      });
      fs.querySelectorAll("[data-bases]").forEach(function (el) {
        el.hidden = !!b && el.getAttribute("data-bases").split(" ").indexOf(b.value) < 0;
      });
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target.name === "pricing_method" || e.target.name === "return_basis") sync(document);
  });
  document.addEventListener("DOMContentLoaded", function () { sync(document); });
})();

// The menu's drop-downs: one open at a time, closed by a click elsewhere.
// Wide tables: each cell gets its column's heading as data-label, which
// the phone layout (app.css) shows before the value when rows stack.
(function () {
  "use strict";
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d.classList || !d.classList.contains("navgroup") || !d.open) return;
    document.querySelectorAll("details.navgroup[open]").forEach(function (o) { if (o !== d) o.open = false; });
  }, true);
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("details.navgroup")) return;
    document.querySelectorAll("details.navgroup[open]").forEach(function (o) { o.open = false; });
  });
  function labelCells(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("table.data").forEach(function (t) {
      var labels = Array.prototype.map.call(t.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      if (!labels.length) return;
      t.querySelectorAll("tbody tr, tfoot tr").forEach(function (tr) {
        var col = 0;
        Array.prototype.forEach.call(tr.children, function (td) {
          if (td.tagName === "TD" && !td.hasAttribute("data-label") && labels[col]) td.setAttribute("data-label", labels[col]);
          col += td.colSpan || 1;
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { labelCells(document); });
  document.addEventListener("htmx:afterSettle", function (e) { labelCells(e.target); });
})();
