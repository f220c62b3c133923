// Tables (app/web/tables.py): a page opened with ?print=1 shows every filtered row and opens
// the browser's print dialogue once it has loaded. No inline script: the CSP forbids it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (document.querySelector("[data-autoprint]")) {
    window.print();
  }
});
