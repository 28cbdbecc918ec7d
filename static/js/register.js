/* Keyboard-first register marking. Without this file the register is an ordinary form and still works. */
(function () {
  "use strict";
  var PENDING_MS = 900;

  function codeSelects(reg) {
    return Array.prototype.slice.call(reg.querySelectorAll("select.code:not([disabled])"));
  }

  function announce(reg, text) {
    var el = reg.querySelector(".js-announce");
    if (el) { el.textContent = text; }
  }

  function setCode(select, value) {
    select.value = value;
    var row = select.closest("tr");
    if (row) {
      row.classList.toggle("changed", value !== (row.dataset.saved || ""));
      row.classList.toggle("unmarked", value === "");
    }
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function move(reg, select, step) {
    var all = codeSelects(reg);
    var next = all[all.indexOf(select) + step];
    if (next) { next.focus(); }
    else if (step > 0) { var save = reg.querySelector("#save-register"); if (save) { save.focus(); } }
  }

  // L and U need the minutes late: type them, then Enter goes on to the next pupil.
  var LATE = ["L", "U"];

  function toMinutes(reg, select) {
    var row = select.closest("tr");
    var minutes = row && row.querySelector("input.minutes");
    if (minutes) { minutes.focus(); announce(reg, "Type the minutes late, then Enter."); }
    else { move(reg, select, 1); }
  }

  document.addEventListener("keydown", function (ev) {
    var input = ev.target;
    if (!(input instanceof HTMLInputElement) || !input.classList.contains("minutes") || ev.key !== "Enter") { return; }
    var reg = input.closest("#register");
    var row = input.closest("tr");
    var select = row && row.querySelector("select.code");
    if (!reg || !select) { return; }
    ev.preventDefault();
    move(reg, select, 1);
  });

  function clearPending(select) {
    if (select._pendingTimer) { clearTimeout(select._pendingTimer); select._pendingTimer = null; }
    delete select.dataset.pending;
  }

  function values(select) {
    return Array.prototype.map.call(select.options, function (o) { return o.value; });
  }

  document.addEventListener("keydown", function (ev) {
    var select = ev.target;
    if (!(select instanceof HTMLSelectElement) || !select.classList.contains("code")) { return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var reg = select.closest("#register");
    if (!reg) { return; }
    var key = ev.key;
    var pending = select.dataset.pending || "";
    if (key === "ArrowDown" || key === "ArrowUp") {
      ev.preventDefault(); clearPending(select); move(reg, select, key === "ArrowDown" ? 1 : -1); return;
    }
    if (key === "Enter" && pending) { ev.preventDefault(); clearPending(select); move(reg, select, 1); return; }
    if (key === "Enter" || key === "." || key === "/" || key === "\\") {
      ev.preventDefault(); clearPending(select); setCode(select, reg.dataset.present); move(reg, select, 1); return;
    }
    if (key === "Delete" || key === "Backspace") {
      ev.preventDefault(); clearPending(select);
      var row = select.closest("tr");
      if (!row || !row.dataset.saved) { setCode(select, ""); }
      return;
    }
    if (key.length !== 1 || !/[a-z0-9#]/i.test(key)) { return; }
    ev.preventDefault();
    var k = key.toUpperCase();
    var options = values(select);
    if (pending && options.indexOf(pending + k) !== -1) {
      clearPending(select); setCode(select, pending + k); move(reg, select, 1); return;
    }
    clearPending(select);
    var longer = options.some(function (v) { return v.length > 1 && v.charAt(0) === k; });
    if (options.indexOf(k) !== -1) {
      setCode(select, k);
      if (LATE.indexOf(k) !== -1) { toMinutes(reg, select); return; }
      if (!longer) { move(reg, select, 1); return; }
    } else if (!longer) {
      announce(reg, "\u201c" + k + "\u201d is not a code that can be used on this date.");
      return;
    }
    // "C" may become C1 or C2, "Y" becomes Y1–Y7: wait briefly for a digit, then move on.
    select.dataset.pending = k;
    announce(reg, k + ": type a digit for " + k + "1, " + k + "2…, or Enter to keep " + (options.indexOf(k) !== -1 ? k : "it"));
    select._pendingTimer = setTimeout(function () {
      var wasPending = select.dataset.pending;
      clearPending(select);
      if (wasPending && select.value === wasPending && document.activeElement === select) { move(reg, select, 1); }
    }, PENDING_MS);
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest(".js-fill");
    if (!button) { return; }
    var reg = button.closest("#register");
    if (!reg) { return; }
    ev.preventDefault();
    var filled = 0;
    codeSelects(reg).forEach(function (s) {
      if (s.value === "") { setCode(s, reg.dataset.present); filled += 1; }
    });
    announce(reg, filled + " pupil" + (filled === 1 ? "" : "s") + " set to present. Press Save register to save.");
    var save = reg.querySelector("#save-register");
    if (save) { save.focus(); }
  });

  function focusStart(root) {
    var notice = root.querySelector("#register-notice");
    if (notice) { notice.focus(); return; }
    var first = codeSelects(root).filter(function (s) { return s.value === ""; })[0] || codeSelects(root)[0];
    if (first) { first.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var reg = document.getElementById("register");
    if (reg) { focusStart(reg); }
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    var reg = document.getElementById("register");
    if (reg) { focusStart(reg); }
  });

  // A save the page already showed: the server sent back only the notice, the count and each row's new
  // version and links (registers.views._render_saved). What is on screen is now what is stored.
  document.body.addEventListener("register-saved", function () {
    var reg = document.getElementById("register");
    if (!reg) { return; }
    Array.prototype.forEach.call(reg.querySelectorAll("tbody tr"), function (row) {
      var select = row.querySelector("select.code");
      if (!select) { return; }
      row.dataset.saved = select.value;
      row.classList.remove("changed", "has-error", "has-conflict");
      row.classList.toggle("unmarked", select.value === "");
      select.removeAttribute("aria-invalid");
      select.removeAttribute("aria-describedby");
    });
    var reason = reg.querySelector("#reason");
    if (reason) { reason.value = ""; }
    announce(reg, "");
    focusStart(reg);
  });
})();
