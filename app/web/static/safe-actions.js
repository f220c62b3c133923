// Safe actions (issue 17), for every page: loaded by base.html with `defer`; no inline script (CSP).
//
// 1. A button (or form) with data-confirm="..." asks that question before the form is sent;
//    "Cancel" sends nothing.
// 2. A form being sent disables its submit buttons, so a second click cannot send it twice.
//    They are disabled just after the browser has collected the form's data (a disabled button's
//    name=value would otherwise be left out), and enabled again when the page comes back from the
//    browser's history.
// 3. The main menu marks the page it is on (aria-current="page"): the link whose address is the
//    page's, or else the longest one the page's address continues (an order under "Orders").
(function () {
  "use strict";

  function buttonsOf(form) {
    return form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]');
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.sending === "1") {
      event.preventDefault(); // already on its way
      return;
    }
    var submitter = event.submitter || null;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) return;
    form.dataset.sending = "1";
    window.setTimeout(function () {
      buttonsOf(form).forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      });
    }, 0);
  });

  window.addEventListener("pageshow", function () {
    document.querySelectorAll('form[data-sending="1"]').forEach(function (form) {
      delete form.dataset.sending;
      buttonsOf(form).forEach(function (button) {
        if (button.getAttribute("aria-busy") === "true") {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        }
      });
    });
  });

  function markCurrentPage() {
    var here = window.location.pathname.replace(/\/+$/, "") || "/";
    var best = null;
    var bestLength = -1;
    document.querySelectorAll("header.top nav a[href]").forEach(function (link) {
      var path = new URL(link.href, window.location.href).pathname.replace(/\/+$/, "") || "/";
      var matches = path === here || (path !== "/" && here.indexOf(path + "/") === 0);
      if (matches && path.length > bestLength) {
        best = link;
        bestLength = path.length;
      }
    });
    if (best) best.setAttribute("aria-current", "page");
  }

  markCurrentPage();
})();
