/* Draw the overview's activity chart from the JSON the page embeds (CSP: no inline script). */
(function () {
  "use strict";
  var dataNode = document.getElementById("activity-data");
  var canvas = document.getElementById("activity-chart");
  if (!dataNode || !canvas || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        {
          label: "Created",
          data: data.created,
          borderColor: "#1f5fbf",
          backgroundColor: "rgba(31, 95, 191, 0.12)",
          fill: true,
          cubicInterpolationMode: "monotone",
          pointRadius: 2
        },
        {
          label: "Completed",
          data: data.completed,
          borderColor: "#176b34",
          backgroundColor: "rgba(23, 107, 52, 0.08)",
          borderDash: [6, 4],
          fill: false,
          cubicInterpolationMode: "monotone",
          pointRadius: 2
        }
      ]
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        y: { beginAtZero: true, ticks: { precision: 0 } }
      }
    }
  });
})();
