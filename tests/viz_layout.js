// Injected by tests into a page with plotly charts: once every chart is drawn, measure what a reader would see
// overlap and write it, as JSON, into <body data-layout>. Read back from Chromium's --dump-dom.
(function () {
  function box(el) { var r = el.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
  function overlap(a, b) { return a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5; }
  function texts(root, selector) {
    return Array.prototype.map.call(root.querySelectorAll(selector), function (e) { return e.textContent; });
  }
  function measure() {
    var out = {};
    var location = document.getElementById('by-location');
    if (location) {
      var title = location.querySelector('.g-y2title text');
      var ticks = location.querySelectorAll('.y2tick text');
      out.y2_title = title ? title.textContent : null;
      out.y2_ticks = ticks.length;
      out.y2_title_over_ticks = title ? Array.prototype.filter.call(ticks, function (t) {
        return overlap(box(title), box(t)); }).length : -1;
    }
    var energy = document.getElementById('energy-by-component');
    if (energy) {
      out.energy_axis_labels = texts(energy, '.xaxislayer-above text');
      var frame = box(energy.querySelector('.main-svg'));
      out.energy_axis_labels_cut = Array.prototype.filter.call(energy.querySelectorAll('.xaxislayer-above text'),
        function (t) { var b = box(t); return b.b > frame.b + 0.5 || b.t < frame.t - 0.5; }).length;
    }
    var world = document.getElementById('world-map');
    if (world) {
      var points = world.querySelectorAll('.scattergeo .point');
      var boxes = Array.prototype.map.call(points, box), piled = 0;
      for (var i = 0; i < boxes.length; i++) { for (var j = i + 1; j < boxes.length; j++) {
        if (overlap(boxes[i], boxes[j])) { piled++; } } }
      out.map_markers = boxes.length;
      out.map_markers_overlapping = piled;
      out.map_labels = texts(world, '.trace.scattergeo text');
      var labels = Array.prototype.map.call(world.querySelectorAll('.trace.scattergeo text'), box), covered = 0;
      for (var a = 0; a < labels.length; a++) {
        for (var c = a + 1; c < labels.length; c++) { if (overlap(labels[a], labels[c])) { covered++; } }
        for (var m = 0; m < boxes.length; m++) { if (overlap(labels[a], boxes[m])) { covered++; } }
      }
      out.map_labels_overlapping = covered;
    }
    var table = document.getElementById('runs');
    if (table) {
      var wrap = table.parentElement;
      out.table_overflows = wrap.scrollWidth > wrap.clientWidth + 1;
      out.table_width = [wrap.scrollWidth, wrap.clientWidth];
      var line = parseFloat(getComputedStyle(table.querySelector('td')).lineHeight) || 20;
      out.table_tallest_row_lines = Math.max.apply(null, Array.prototype.map.call(
        table.querySelectorAll('tbody tr'), function (r) { return r.getBoundingClientRect().height / line; }));
    }
    out.legend = texts(document, '.legendtext');
    out.width = window.innerWidth;
    document.body.setAttribute('data-layout', JSON.stringify(out));
  }
  function wait() {
    if (document.body && document.body.dataset.chartsDrawn) { setTimeout(measure, 200); } else { setTimeout(wait, 100); }
  }
  wait();
})();
