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
})();
