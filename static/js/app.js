// Behaviour every page shares, kept in a file so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";

  // The place switcher goes as soon as a place is chosen (the <noscript> button does it without script).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-submit-on-change") && target.form) {
      target.form.submit();
    }
  });

  // A form's error summary takes the focus so screen-reader and keyboard users land on it.
  function focusMarked(root) {
    var found = root.querySelector("[data-focus-on-load]");
    if (found) {
      found.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { focusMarked(document); });
  } else {
    focusMarked(document);
  }
  document.addEventListener("htmx:afterSwap", function (event) { focusMarked(event.target); });

  // A request made by htmx that fails (the server says "try again" with a 503, or cannot be reached)
  // swaps nothing, so what was typed stays on the page; say so, where it is read out at once.
  function problem(text) {
    var el = document.getElementById("js-problem");
    if (!el) {
      el = document.createElement("p");
      el.id = "js-problem";
      el.className = "js-problem";
      el.setAttribute("role", "alert");
      el.tabIndex = -1;
      var main = document.querySelector("main") || document.body;
      main.insertBefore(el, main.firstChild);
    }
    el.textContent = text;
    el.focus();
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    problem(status === 503
      ? "Nothing was saved: the service is busy or restarting. What you entered is still here. Try again in a moment."
      : "That did not work (error " + status + "). What you entered is still here. Try again, or reload the page.");
  });
  document.addEventListener("htmx:sendError", function () {
    problem("Nothing was saved: the server could not be reached. What you entered is still here. Check the " +
      "connection and try again.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var el = document.getElementById("js-problem");
    if (el && event.detail.successful) { el.remove(); }
  });
})();
