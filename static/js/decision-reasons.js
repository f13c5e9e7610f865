/* The decision form offers only the reasons that fit the decision chosen
   (each option names its decisions in data-decisions); the server refuses
   any other pair, so without this script a wrong pair is an error message,
   never a recorded decision. The waiting-until date shows only for
   "Request information". */
(function () {
  "use strict";
  var form = document.querySelector("form.decision-form");
  if (!form) {
    return;
  }
  var select = form.querySelector("select[name=reason_code]");
  var waiting = form.querySelector(".waiting-until");
  function chosen() {
    var radio = form.querySelector("input[name=decision]:checked");
    return radio ? radio.value : "";
  }
  function update() {
    var decision = chosen();
    Array.prototype.forEach.call(select.options, function (option) {
      var fits = option.dataset.decisions;
      if (!fits) {
        return;
      }
      var ok = !decision || fits.split(" ").indexOf(decision) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
      if (!ok && option.selected) {
        select.value = "";
      }
    });
    if (waiting) {
      waiting.hidden = decision !== "request_information";
    }
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "decision") {
      update();
    }
  });
  update();
})();
