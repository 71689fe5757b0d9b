/* The book's own scripts (Jupyter Book adds every .js in _static to every page). */
(function () {
  "use strict";

  /* Phone navigation. pydata-sphinx-theme 0.17 opens the sidebar dialogs from the first
     .primary-toggle / .secondary-toggle in the page only; sphinx-book-theme puts its own
     buttons with those classes in the article header, and on a phone those are the ones a
     reader sees, so tapping them did nothing (pydata-sphinx-theme issue 2451). A tap on any
     later toggle is handed to the first, which opens the dialog. Wide screens keep
     sphinx-book-theme's own behaviour (collapsing the sidebar). */
  var NARROW = window.matchMedia("(max-width: 959.98px)");

  function forwardToggles(selector) {
    var toggles = document.querySelectorAll(selector);
    if (toggles.length < 2) { return; }
    var first = toggles[0];
    Array.prototype.slice.call(toggles, 1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!NARROW.matches) { return; }
        event.preventDefault();
        event.stopImmediatePropagation();
        first.click();
      }, true);
    });
  }

  /* Figures open full size: tapping a figure shows it over the page at (at least) the
     screen's width, scrollable; tapping again or Escape closes it. */
  function zoomable(img) {
    img.addEventListener("click", function () {
      var overlay = document.createElement("div");
      overlay.className = "figure-zoom";
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-label", "figure at full size");
      var hint = document.createElement("div");
      hint.className = "figure-zoom-hint";
      hint.textContent = "Full size: scroll to look around; tap or press Escape to close.";
      var big = document.createElement("img");
      big.src = img.currentSrc || img.src;
      big.alt = img.alt;
      if (img.naturalWidth) { big.style.setProperty("--natural-width", img.naturalWidth + "px"); }
      overlay.appendChild(hint);
      overlay.appendChild(big);
      function close() {
        overlay.remove();
        document.removeEventListener("keydown", onKey);
      }
      function onKey(event) { if (event.key === "Escape") { close(); } }
      overlay.addEventListener("click", close);
      document.addEventListener("keydown", onKey);
      document.body.appendChild(overlay);
    });
  }

  function ready() {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    document.querySelectorAll(".cell_output img, figure img").forEach(zoomable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
