// Move the keyboard focus to the error summary after a failed submit (WCAG 3.3.1), so a
// screen reader announces the problems and the links lead to each field.
(function () {
  "use strict";
  var summary = document.querySelector("[data-autofocus]");
  if (summary) {
    summary.focus();
  }
})();
