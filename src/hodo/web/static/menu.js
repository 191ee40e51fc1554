// The header's links fold behind a "Menu" button on narrow screens. The button shows only once
// this script has run (the header gets the class "has-menu"); without JavaScript the links stay
// in view. Which width folds them is the style sheet's choice, not this script's.
(function () {
  "use strict";
  const header = document.querySelector("body > header");
  const button = header && header.querySelector(".menu-toggle");
  const nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) { return; }

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes the open menu and gives the focus back to its button.
  header.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
  header.classList.add("has-menu");
}());
