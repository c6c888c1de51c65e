// kpy console: the little the pages do in the browser. No framework, no build step.
// 1. Text search within a loaded table: <input data-filter="TABLE-ID"> hides the rows of
//    <table id="TABLE-ID"> whose text does not contain what is typed (case-insensitive).
// 2. Live rates: <div data-rates="URL" data-interval-ms="1000"> polls URL, which answers JSON
//    {"time": seconds, "counters": {name: cumulative count}}; every <canvas data-counter="name">
//    inside it draws the per-second rate of that counter over the last minute, and every
//    element with data-rate-of="name" shows the latest rate as text.
// 3. Forms whose fields depend on a choice (data-modes, below).
"use strict";

(function () {
  function setupFilter(input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table) return;
    var counter = document.querySelector("[data-filter-count='" + table.id + "']");
    function apply() {
      var needle = input.value.trim().toLowerCase();
      var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var match = !needle || rows[i].textContent.toLowerCase().indexOf(needle) !== -1;
        rows[i].classList.toggle("hidden", !match);
        if (match) shown++;
      }
      if (counter) {
        counter.textContent = needle ? shown + " of " + rows.length + " match" : "";
      }
    }
    input.addEventListener("input", apply);
    apply();
  }

  var WINDOW = 60; // points kept per chart: a minute at one poll a second

  function formatRate(value, unit) {
    var suffix = unit === "bytes" ? "B/s" : "/s";
    var scaled = value;
    var prefixes = unit === "bytes" ? ["", "Ki", "Mi", "Gi"] : ["", "k", "M", "G"];
    var base = unit === "bytes" ? 1024 : 1000;
    var i = 0;
    while (Math.abs(scaled) >= base && i < prefixes.length - 1) {
      scaled /= base;
      i++;
    }
    var digits = scaled >= 100 || i === 0 ? 0 : 1;
    if (i === 0 && scaled > 0 && scaled < 10) digits = 1;
    return scaled.toFixed(digits) + " " + prefixes[i] + suffix;
  }

  function drawChart(canvas, points, unit) {
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth;
    var height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    var left = 64, right = 8, top = 8, bottom = 18;
    var plotW = width - left - right, plotH = height - top - bottom;
    var max = 0;
    points.forEach(function (p) { if (p > max) max = p; });
    max = max > 0 ? max * 1.15 : 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#5d6878";
    ctx.strokeStyle = "#dde2ea";
    ctx.lineWidth = 1;
    for (var g = 0; g <= 3; g++) {
      var y = top + plotH - (plotH * g) / 3;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + plotW, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ctx.fillText(formatRate((max * g) / 3, unit), left - 6, y);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText("-60 s", left, height - 4);
    ctx.textAlign = "right";
    ctx.fillText("now", left + plotW, height - 4);
    if (points.length < 2) return;
    var step = plotW / (WINDOW - 1);
    var x0 = left + plotW - step * (points.length - 1);
    ctx.beginPath();
    points.forEach(function (p, i) {
      var x = x0 + step * i;
      var y = top + plotH - (plotH * p) / max;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = "#2756c5";
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.lineTo(x0 + step * (points.length - 1), top + plotH);
    ctx.lineTo(x0, top + plotH);
    ctx.closePath();
    ctx.fillStyle = "rgba(39, 86, 197, 0.12)";
    ctx.fill();
  }

  function setupRates(container) {
    var url = container.getAttribute("data-rates");
    var interval = parseInt(container.getAttribute("data-interval-ms") || "1000", 10);
    var charts = Array.prototype.map.call(
      container.querySelectorAll("canvas[data-counter]"),
      function (canvas) {
        return {
          canvas: canvas,
          counter: canvas.getAttribute("data-counter"),
          unit: canvas.getAttribute("data-unit") || "count",
          now: container.querySelector("[data-now='" + canvas.getAttribute("data-counter") + "']"),
          points: [],
        };
      }
    );
    // Cells that show one counter's rate as text (the clients page: requests/s each).
    var cells = Array.prototype.slice.call(container.querySelectorAll("[data-rate-of]"));
    var status = container.querySelector("[data-rates-status]");
    var previous = null;

    function sample(data) {
      if (previous !== null && data.time > previous.time) {
        var dt = data.time - previous.time;
        cells.forEach(function (cell) {
          var name = cell.getAttribute("data-rate-of");
          var before = previous.counters[name];
          var after = data.counters[name];
          if (after === undefined) {
            cell.textContent = "gone";
          } else if (before !== undefined && after >= before) {
            cell.textContent = formatRate((after - before) / dt, "count");
          }
        });
        charts.forEach(function (chart) {
          var before = previous.counters[chart.counter];
          var after = data.counters[chart.counter];
          // A counter that went down was reset (the broker restarted): no rate for this step.
          var rate = before === undefined || after === undefined || after < before
            ? 0 : (after - before) / dt;
          chart.points.push(rate);
          if (chart.points.length > WINDOW) chart.points.shift();
          if (chart.now) chart.now.textContent = formatRate(rate, chart.unit);
        });
      }
      previous = data;
      charts.forEach(function (chart) { drawChart(chart.canvas, chart.points, chart.unit); });
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (status) status.textContent = "";
          sample(data);
        })
        .catch(function (error) {
          if (status) status.textContent = "cannot reach the broker: " + error.message;
        })
        .then(function () { window.setTimeout(poll, interval); });
    }

    charts.forEach(function (chart) { drawChart(chart.canvas, chart.points, chart.unit); });
    poll();
  }

  function setupModeForm(form) {
    // A form whose fields depend on a choice (the message browser's seek, a group's reset):
    // <form data-modes="NAME"> shows only the [data-mode="VALUE"] fields of the value chosen
    // in <select name="NAME">, and sends only those.
    var mode = form.querySelector("select[name='" + form.getAttribute("data-modes") + "']");
    if (!mode) return;
    function update() {
      form.querySelectorAll("[data-mode]").forEach(function (label) {
        var on = label.getAttribute("data-mode") === mode.value;
        label.hidden = !on;
        label.querySelectorAll("input").forEach(function (input) { input.disabled = !on; });
      });
    }
    mode.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-filter]").forEach(setupFilter);
    document.querySelectorAll("[data-rates]").forEach(setupRates);
    document.querySelectorAll("form[data-modes]").forEach(setupModeForm);
  });
})();
