/* Admin change pages: a region that scrolls (a wide inline table on a narrow
   screen) must be reachable by keyboard to be scrolled (WCAG 2.1.1; axe-core's
   scrollable-region-focusable). Make each such region focusable. */
(function () {
  "use strict";
  function focusable() {
    document.querySelectorAll(".inline-group .wrapper, pre.verity-json").forEach(function (region) {
      var scrolls = region.scrollWidth > region.clientWidth || region.scrollHeight > region.clientHeight;
      if (scrolls && !region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "0");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", focusable);
  window.addEventListener("resize", focusable);
})();
