// The bid form: the product list offers only your products of the chosen item.
// Without this script every product is offered, grouped by item, and a wrong pick is refused.
(function () {
  "use strict";
  var item = document.getElementById("item_id");
  var product = document.getElementById("product_id");
  if (!item || !product) {
    return;
  }
  function filter() {
    var groups = product.querySelectorAll("optgroup");
    for (var i = 0; i < groups.length; i += 1) {
      var mine = groups[i].getAttribute("data-item") === item.value;
      groups[i].hidden = !mine;
      groups[i].disabled = !mine;
    }
    var chosen = product.options[product.selectedIndex];
    if (chosen && chosen.getAttribute("data-item") && chosen.getAttribute("data-item") !== item.value) {
      product.value = "";
    }
    var offered = product.querySelectorAll('option[data-item="' + item.value + '"]');
    if (offered.length === 1 && product.value === "") {
      product.value = offered[0].value;
    }
  }
  item.addEventListener("change", filter);
  filter();
})();
