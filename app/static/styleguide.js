/* Demo chart for app/templates/_styleguide.html only. */
(function () {
  'use strict'
  var canvas = document.getElementById('styleguide-chart')
  if (!canvas || !window.Chart) return
  window.Chart.defaults.font.family = '"GDS Transport", arial, sans-serif'
  window.Chart.defaults.color = '#0b0c0c'
  // eslint-disable-next-line no-new
  new window.Chart(canvas, {
    type: 'line',
    data: {
      labels: ['Oct', 'Nov', 'Dec', 'Jan', 'Feb', 'Mar'],
      datasets: [{ label: 'Camera on before force (%)', data: [71, 74, 70, 78, 78, 82], borderColor: '#1d70b8', backgroundColor: '#1d70b8', tension: 0 }]
    },
    options: { maintainAspectRatio: false, animation: false, scales: { y: { min: 0, max: 100 } } }
  })
})()
