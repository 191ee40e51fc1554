// Autocomplete for the header search box: asks /api/suggest as the reader types and shows
// a listbox driven by the arrow keys, Enter and Escape. Data is only ever set as textContent.
(function () {
  "use strict";
  const form = document.querySelector("form.searchbox");
  if (!form) { return; }
  const input = form.querySelector("input[type=search]");
  const list = form.querySelector(".suggestions");
  let items = [];
  let active = -1;
  let timer = null;
  let seq = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function select(index) {
    const nodes = list.children;
    for (let i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute("aria-selected", i === index ? "true" : "false");
    }
    active = index;
    if (index >= 0) { input.setAttribute("aria-activedescendant", nodes[index].id); }
  }

  function go(item) {
    if (item && item.url) { window.location.assign(item.url); } else { form.submit(); }
  }

  function show(results) {
    items = results;
    list.replaceChildren();
    results.forEach(function (item, i) {
      const li = document.createElement("li");
      li.id = "searchbox-option-" + i;
      li.setAttribute("role", "option");
      const label = document.createElement("span");
      label.textContent = item.label;
      if (item.label_lang) { label.lang = item.label_lang === "zh" ? "zh-Hans" : item.label_lang; }
      li.appendChild(label);
      if (item.matched !== item.label) {
        const matched = document.createElement("span");
        matched.className = "matched";
        matched.textContent = item.matched;
        li.appendChild(matched);
      }
      li.addEventListener("mousedown", function (event) { event.preventDefault(); go(item); });
      list.appendChild(li);
    });
    list.hidden = results.length === 0;
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
    active = -1;
  }

  function ask() {
    const q = input.value.trim();
    if (!q || q.length > 200) { close(); return; }
    const mine = ++seq;
    const url = form.dataset.suggest + "?" + new URLSearchParams(
      { q: q, lang: form.dataset.lang || "en", limit: "8" });
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) { if (mine === seq) { show(data.results || []); } })
      .catch(close);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
  });
  input.addEventListener("keydown", function (event) {
    if (list.hidden) { return; }
    if (event.key === "ArrowDown") {
      event.preventDefault(); select(Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault(); select(Math.max(active - 1, 0));
    } else if (event.key === "Escape") {
      close();
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault(); go(items[active]);
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
})();
