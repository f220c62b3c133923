// "Confirm selected (N)": keeps N equal to the ticked rows of a bulk form. The form works
// without this script (the server counts the ticks it receives).
(function () {
  "use strict";
  function boxes(form) {
    var own = Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="pick"]'));
    if (form.id) {
      own = own.concat(Array.prototype.slice.call(
        document.querySelectorAll('input[type="checkbox"][name="pick"][form="' + form.id + '"]')));
    }
    return own;
  }
  document.querySelectorAll("form[data-bulk]").forEach(function (form) {
    var count = function () {
      var n = boxes(form).filter(function (box) { return box.checked; }).length;
      document.querySelectorAll("[data-bulk-count]").forEach(function (span) { span.textContent = String(n); });
    };
    boxes(form).forEach(function (box) { box.addEventListener("change", count); });
    count();
  });
})();
