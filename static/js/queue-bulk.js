/* The queue's bulk bar: "Select all on this page" ticks every row, and only
   the fields the chosen action needs are shown. Without script the server
   reads "all on this page" itself and every field is shown. */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) {
    return;
  }
  var all = document.getElementById("bulk-all");
  var count = document.getElementById("bulk-count");
  var boxes = document.querySelectorAll('input[name="ids"][form="bulk-form"]');
  var action = form.querySelector('select[name="action"]');

  function update() {
    var ticked = Array.prototype.filter.call(boxes, function (box) {
      return box.checked;
    }).length;
    all.checked = ticked === boxes.length && boxes.length > 0;
    count.textContent = ticked + " of " + boxes.length + " selected on this page.";
  }

  all.addEventListener("change", function () {
    Array.prototype.forEach.call(boxes, function (box) {
      box.checked = all.checked;
    });
    update();
  });
  Array.prototype.forEach.call(boxes, function (box) {
    box.addEventListener("change", update);
  });

  function showFields() {
    var chosen = action.value;
    Array.prototype.forEach.call(form.querySelectorAll("[data-bulk-for]"), function (field) {
      field.hidden = field.getAttribute("data-bulk-for") !== chosen;
    });
  }
  action.addEventListener("change", showFields);
  showFields();
})();
