// Searchable pickers (templates/web/pickers.html): a search box before every <select data-picker>
// that filters its options as you type and, when the select names a data-source, asks the server
// for more matches (JSON [{value, label}], scoped to the caller). Without this script the select
// works as it is.
(function () {
  "use strict";

  function enhance(select) {
    var search = document.createElement("input");
    search.type = "search";
    search.className = "picker-search";
    search.setAttribute("aria-label", (select.labels && select.labels[0] ? select.labels[0].textContent : "") + " 🔍");
    search.placeholder = document.documentElement.lang === "en" ? "Search…" : "搜索…";
    select.parentNode.insertBefore(search, select);
    var timer = null;

    function filter() {
      var words = search.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var match = !words || option.value === "" || option.text.toLowerCase().indexOf(words) >= 0;
        option.hidden = !match;
        if (match && option.value !== "" && first === null) first = option;
      });
      if (first && select.selectedOptions.length && select.selectedOptions[0].hidden) first.selected = true;
    }

    function fetchMore() {
      var source = select.getAttribute("data-source");
      if (!source || !search.value.trim()) return;
      var url = source + (source.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(search.value.trim());
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (found) {
          var have = {};
          Array.prototype.forEach.call(select.options, function (o) { have[o.value] = true; });
          found.forEach(function (item) {
            if (!have[item.value]) select.add(new Option(item.label, item.value));
          });
          filter();
        })
        .catch(function () {});
    }

    search.addEventListener("input", function () {
      filter();
      clearTimeout(timer);
      timer = setTimeout(fetchMore, 250);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-picker]"), enhance);
  });
})();
