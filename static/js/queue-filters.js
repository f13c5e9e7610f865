/* Leave the review queue's empty filters out of the address, so links stay short
   and bookmarks only say what they filter by (the server ignores blanks anyway). */
(function () {
  "use strict";
  var form = document.querySelector("form.filters");
  if (!form) {
    return;
  }
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && !field.disabled && field.value.trim() === "") {
        field.disabled = true;
      }
    });
    // Re-enable after the browser has read the form (back/forward cache).
    window.setTimeout(function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        field.disabled = false;
      });
    }, 0);
  });
})();
