"use strict";
(function () {
  // Optional: sorting, filtering and opening sections. The report is complete without it.
  document.documentElement.classList.add("js");
  var table = document.getElementById("sites-table");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var sites = Array.prototype.slice.call(document.querySelectorAll("details.site"));
  sites.forEach(function (site) { site.dataset.url = site.querySelector(".site-url").textContent.toLowerCase(); });
  var filters = document.getElementById("filters");
  var search = document.getElementById("filter-text");
  var shown = document.getElementById("shown");
  filters.hidden = false;

  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th[data-sort]");
    if (!th) return;
    var key = th.dataset.sort;
    var numeric = th.dataset.type === "number";
    var descending = th.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var sign = descending ? -1 : 1;
    rows.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key];
      var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return sign * order || Number(b.dataset.score) - Number(a.dataset.score);
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  });

  function apply() {
    var wanted = {};
    Array.prototype.forEach.call(filters.querySelectorAll("input[name=verdict]"), function (box) {
      wanted[box.value] = box.checked;
    });
    var text = search.value.trim().toLowerCase();
    var count = 0;
    function visible(el) {
      return wanted[el.dataset.verdict] !== false && (!text || el.dataset.url.indexOf(text) !== -1);
    }
    rows.forEach(function (row) { row.hidden = !visible(row); if (!row.hidden) count += 1; });
    sites.forEach(function (site) { site.hidden = !visible(site); });
    shown.textContent = "showing " + count.toLocaleString() + " of " + rows.length.toLocaleString();
  }
  var timer = 0;
  filters.addEventListener("change", apply);
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  apply();

  document.getElementById("expand").addEventListener("click", function () {
    sites.forEach(function (site) { if (!site.hidden) site.open = true; });
  });
  document.getElementById("collapse").addEventListener("click", function () {
    sites.forEach(function (site) { site.open = false; });
  });

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    var details = target && target.closest("details");
    if (details) {
      details.hidden = false;
      details.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
