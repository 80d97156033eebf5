// ctool report: sortable tables and click-to-zoom flame graphs. No network, no eval.
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "" && !isNaN(Number(v))) { return Number(v); }
    return cell.textContent.trim().toLowerCase();
  }

  function sortTable(table, th, index) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var desc = !th.classList.contains("sorted-desc");
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.classList.remove("sorted-asc", "sorted-desc");
    });
    th.classList.add(desc ? "sorted-desc" : "sorted-asc");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (typeof x === "number" && typeof y !== "number") { return -1; }
      if (typeof y === "number" && typeof x !== "number") { return 1; }
      var c = x < y ? -1 : x > y ? 1 : 0;
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  document.querySelectorAll("table.data").forEach(function (table) {
    var head = table.tHead;
    if (!head || !head.rows.length) { return; }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, index) {
      th.addEventListener("click", function () { sortTable(table, th, index); });
    });
  });

  var CHAR_PX = 6.6;

  function fit(name, px) {
    var chars = Math.floor((px - 6) / CHAR_PX);
    if (chars < 3) { return ""; }
    return name.length <= chars ? name : name.slice(0, chars - 1) + "\u2026";
  }

  function setupFlame(svg) {
    var width = Number(svg.getAttribute("data-width"));
    var frames = Array.prototype.map.call(svg.querySelectorAll("g.fr"), function (g) {
      var title = g.querySelector("title");
      return {
        g: g,
        rect: g.querySelector("rect"),
        text: g.querySelector("text"),
        name: title ? title.textContent.split("\n")[0] : "",
        x: Number(g.getAttribute("data-x")),
        w: Number(g.getAttribute("data-w")),
        d: Number(g.getAttribute("data-d"))
      };
    });

    function zoom(target) {
      var x0 = target.x, w0 = target.w, eps = 1e-9;
      frames.forEach(function (f) {
        var inside = f.x >= x0 - eps && f.x + f.w <= x0 + w0 + eps;
        var ancestor = f.d < target.d && f.x <= x0 + eps && f.x + f.w >= x0 + w0 - eps;
        var nx, nw;
        if (inside) {
          nx = (f.x - x0) / w0 * width;
          nw = f.w / w0 * width;
        } else if (ancestor) {
          nx = 0;
          nw = width;
        } else {
          f.g.style.display = "none";
          return;
        }
        if (nw < 0.3) { f.g.style.display = "none"; return; }
        f.g.style.display = "";
        f.g.classList.toggle("dim", ancestor && f.d > 0);
        f.rect.setAttribute("x", nx.toFixed(1));
        f.rect.setAttribute("width", Math.max(nw - 0.4, 0.1).toFixed(1));
        f.text.setAttribute("x", (nx + 3).toFixed(1));
        f.text.textContent = fit(f.name, nw);
      });
    }

    frames.forEach(function (f) {
      f.g.addEventListener("click", function () { zoom(f.d === 0 ? frames[0] : f); });
    });
  }

  document.querySelectorAll("svg.flame").forEach(setupFlame);
})();
