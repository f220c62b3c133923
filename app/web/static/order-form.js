// The order form's running total, live: each line's amount is its quantity times the chosen
// listing's pack price (integer fen, from data-price), and the total their sum. The server
// computes the same on every submit ("Recalculate the total"), so the form works without this.
(function () {
  "use strict";
  var form = document.querySelector("form[data-order-form]");
  if (!form) { return; }
  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    var abs = Math.abs(fen);
    var cents = String(abs % 100);
    return sign + String(Math.floor(abs / 100)) + "." + (cents.length < 2 ? "0" + cents : cents);
  }
  function update() {
    var total = 0;
    form.querySelectorAll("table.lines tbody tr").forEach(function (row) {
      var select = row.querySelector("select");
      var input = row.querySelector("input");
      var cell = row.querySelector("[data-amount]");
      var option = select && select.options[select.selectedIndex];
      var price = option && option.dataset.price ? parseInt(option.dataset.price, 10) : NaN;
      var quantity = input && /^[0-9]{1,9}$/.test(input.value.trim()) ? parseInt(input.value.trim(), 10) : NaN;
      if (!isNaN(price) && !isNaN(quantity) && quantity > 0) {
        cell.textContent = yuan(price * quantity);
        total += price * quantity;
      } else {
        cell.textContent = "";
      }
    });
    var out = form.querySelector("[data-total]");
    if (out) { out.textContent = yuan(total); }
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
