/*
 * Charts for the report pages (Chart.js, served from /static/vendor/chartjs).
 * The CSP allows no inline script, so each <canvas data-bwv-chart='{json}'> carries its own data:
 *   {type: "bar"|"line", stacked?, percent?, integer? (whole-number y ticks), labels: [...], yTitle?, y2Title?, marker?: "Oct 2026",
 *    datasets: [{label, data, colour: "green"|"amber"|"red"|"blue"|"grey"|"purple", kind?: "line", axis?: "y2"}]}
 * <canvas data-bwv-sparkline="[0.5, null, 1]"> draws a small line of shares (0..1) with no axes.
 * Every chart on these pages has a table with the same figures next to it.
 */
(function () {
  "use strict";
  var COLOURS = {
    green: "#00703c", amber: "#f47738", red: "#d4351c", blue: "#1d70b8",
    grey: "#505a5f", lightgrey: "#b1b4b6", purple: "#4c2c92", black: "#0b0c0c"
  };

  function colour(name) { return COLOURS[name] || COLOURS.blue; }

  function build(canvas) {
    var cfg;
    try { cfg = JSON.parse(canvas.getAttribute("data-bwv-chart")); } catch (e) { return; }
    var hasY2 = cfg.datasets.some(function (d) { return d.axis === "y2"; });
    var datasets = cfg.datasets.map(function (d) {
      var kind = d.kind || cfg.type;
      return {
        type: kind,
        label: d.label,
        data: d.data,
        backgroundColor: colour(d.colour),
        borderColor: colour(d.colour),
        borderWidth: kind === "line" ? 2 : 0,
        pointRadius: kind === "line" ? 3 : 0,
        spanGaps: true,
        yAxisID: d.axis === "y2" ? "y2" : "y",
        order: kind === "line" ? 0 : 1
      };
    });
    // The zero line stands out (a lag below it: camera on before force began); other grid lines stay faint.
    function zeroLine(others) {
      return function (c) { return c.tick && c.tick.value === 0 ? COLOURS.grey : others; };
    }
    var scales = {
      x: { stacked: !!cfg.stacked, grid: { display: false } },
      y: {
        stacked: !!cfg.stacked,
        beginAtZero: true,
        grace: cfg.percent ? 0 : "10%", // room above and below: no point sits on the chart's edge
        grid: { color: zeroLine("rgba(0, 0, 0, 0.1)") },
        title: { display: !!cfg.yTitle, text: cfg.yTitle || "" },
        ticks: cfg.percent ? { callback: function (v) { return v + "%"; } } : (cfg.integer ? { precision: 0 } : {})
      }
    };
    if (cfg.percent) { scales.y.max = 100; }
    if (hasY2) {
      scales.y2 = {
        position: "right", beginAtZero: true, grace: "10%", ticks: { precision: 0 },
        grid: { drawOnChartArea: true, color: zeroLine("rgba(0, 0, 0, 0)") },
        title: { display: !!cfg.y2Title, text: cfg.y2Title || "" }
      };
    }
    var plugins = {
      legend: { position: "bottom", labels: { boxWidth: 14 } },
      tooltip: {
        callbacks: cfg.percent ? { label: function (c) { return c.dataset.label + ": " + c.formattedValue + "%"; } } : {}
      }
    };
    var markerPlugin = {
      id: "bwvMarker",
      afterDatasetsDraw: function (chart) {
        if (!cfg.marker) { return; }
        var i = cfg.labels.indexOf(cfg.marker);
        if (i < 0) { return; }
        var x = chart.scales.x.getPixelForValue(i);
        var ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = COLOURS.black;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x, chart.chartArea.top);
        ctx.lineTo(x, chart.chartArea.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = COLOURS.black;
        ctx.font = "bold 12px sans-serif";
        ctx.fillText("First guidance", Math.min(x + 4, chart.chartArea.right - 90), chart.chartArea.top + 12);
        ctx.restore();
      }
    };
    // eslint-disable-next-line no-undef
    new Chart(canvas, {
      type: cfg.type,
      data: { labels: cfg.labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: scales, plugins: plugins },
      plugins: [markerPlugin]
    });
  }

  function sparkline(canvas) {
    var values;
    try { values = JSON.parse(canvas.getAttribute("data-bwv-sparkline")); } catch (e) { return; }
    var ctx = canvas.getContext("2d");
    var w = canvas.width, h = canvas.height, pad = 3;
    var n = values.length;
    ctx.clearRect(0, 0, w, h);
    // 0% as a solid line, 100% dotted: the scale a reader needs to tell a high line from a low one.
    ctx.strokeStyle = "#b1b4b6";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, h - pad);
    ctx.lineTo(w, h - pad);
    ctx.stroke();
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(0, pad);
    ctx.lineTo(w, pad);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.strokeStyle = COLOURS.blue;
    ctx.lineWidth = 2;
    ctx.beginPath();
    var started = false;
    values.forEach(function (v, i) {
      if (v === null || v === undefined) { started = false; return; }
      var x = n > 1 ? (i * (w - 2 * pad)) / (n - 1) + pad : w / 2;
      var y = h - pad - v * (h - 2 * pad);
      if (!started) { ctx.moveTo(x, y); started = true; } else { ctx.lineTo(x, y); }
      ctx.fillStyle = COLOURS.blue;
      ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    });
    ctx.stroke();
  }

  function init() {
    if (typeof Chart !== "undefined") {
      document.querySelectorAll("canvas[data-bwv-chart]").forEach(build);
    }
    document.querySelectorAll("canvas[data-bwv-sparkline]").forEach(sparkline);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
