/*
 * Small behaviours of the pages, without inline script (the pages' Content-Security-Policy admits
 * scripts from this origin only):
 *   <form data-confirm="question">  asks before submitting;
 *   <a data-back href="/">          goes back in the history when there is one (else follows href).
 */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    const link = event.target && event.target.closest ? event.target.closest("a[data-back]") : null;
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();
