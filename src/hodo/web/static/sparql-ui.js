/* HODO's query page: YASGUI pointed at this endpoint, with HODO's prefixes and examples.
 *
 * Loaded as a file, not inline, so that the page works under a same-origin Content Security
 * Policy. The settings come from a JSON data block written by the server. When YASGUI did not
 * load (the npm packages are not installed), nothing happens and the plain form stays.
 */
(function () {
  "use strict";

  var root = document.getElementById("yasgui");
  var data = document.getElementById("hodo-sparql-settings");
  if (!root || !data || typeof window.Yasgui !== "function") {
    return;
  }
  var Yasgui = window.Yasgui;
  var settings = JSON.parse(data.textContent);
  var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href).href;

  /* Prefix completion offers HODO's prefixes first, then YASQE's bundled list; never a
   * remote prefix service. Typing "MONDO:" adds HODO's declaration of MONDO. */
  function hodoPrefixes() {
    var own = Object.keys(settings.prefixes).map(function (prefix) {
      return prefix + ": <" + settings.prefixes[prefix] + ">";
    });
    var taken = {};
    Object.keys(settings.prefixes).forEach(function (prefix) { taken[prefix] = true; });
    var bundled = Yasgui.Yasqe.Autocompleters.prefixes;
    return bundled.get({ config: { prefixCcApi: null } }).then(function (list) {
      return own.concat(list.filter(function (line) {
        return !taken[line.split(":")[0]];
      }));
    });
  }
  Yasgui.Yasqe.forkAutocompleter("prefixes", { name: "hodoPrefixes", get: hodoPrefixes }, false);
  /* Set on the defaults, not in the config: YASGUI merges arrays index by index. The class and
   * property completers ask a remote vocabulary service, so they are left out. */
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "hodoPrefixes"];

  var words = settings.words || {};
  var patterns = Object.keys(words).filter(function (english) {
    return english.indexOf("{") >= 0 || english.indexOf("(s)") >= 0;
  }).map(function (english) {
    /* "{n} result(s)": "{name}" is any text, "(s)" a plural ending that may be there */
    var names = [];
    var source = english.split(/(\{\w+\}|\(s\))/).map(function (part, i) {
      if (i % 2 === 0) { return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
      if (part === "(s)") { return "s?"; }
      names.push(part.slice(1, -1));
      return "(.+?)";
    }).join("");
    return { re: new RegExp("^" + source + "$"), names: names, text: words[english] };
  });

  /* The page's word for one of YASGUI's English words (itself when the table has none). */
  function word(english) {
    var trimmed = english.trim();
    if (Object.prototype.hasOwnProperty.call(words, trimmed)) {
      return english.replace(trimmed, words[trimmed]);
    }
    for (var i = 0; i < patterns.length; i++) {
      var match = patterns[i].re.exec(trimmed);
      if (match) {
        var out = patterns[i].text;
        patterns[i].names.forEach(function (name, k) {
          out = out.split("{" + name + "}").join(word(match[k + 1]));
        });
        return english.replace(trimmed, out);
      }
    }
    return english;
  }

  var yasgui = new Yasgui(root, {
    persistenceId: settings.storageKey,
    /* the tab menu goes beside the tabs, not inside their list, where only tabs may be */
    contextMenuContainer: root,
    autoAddOnInit: false,
    populateFromUrl: false,
    copyEndpointOnNewTab: true,
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: {
      value: settings.newTabQuery,
      prefixCcApi: null,
      screenReaderLabel: word("SPARQL query")
    }
  });

  var added = false;
  settings.tabs.forEach(function (tab) {
    if (!yasgui.getTab(tab.id)) {
      yasgui.addTab(!added, {
        id: tab.id,
        name: tab.name,
        yasqe: { value: tab.query },
        requestConfig: { endpoint: endpoint }
      });
      added = true;
    }
  });
  if (!yasgui.getTab()) {
    yasgui.addTab(true);
  }

  /* HODO's own IRIs in the results open their page on this server, in the page's language,
   * rather than the public IRI; the link is rewritten as it is followed. */
  function toLocalPage(event) {
    var link = event.target.closest ? event.target.closest("a.iri") : null;
    if (link && settings.iriBase && link.href.indexOf(settings.iriBase) === 0) {
      link.href = settings.localRoot + link.href.slice(settings.iriBase.length) +
        "?lang=" + encodeURIComponent(settings.lang);
    }
  }
  root.addEventListener("click", toLocalPage, true);
  root.addEventListener("auxclick", toLocalPage, true);

  /* YASGUI's own words in the page's language, in its text and in its tooltips and labels. */
  var ATTRIBUTES = ["title", "aria-label", "placeholder"];
  function translate(node) {
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (var current = node; current; current = walker.nextNode()) {
      if (current.nodeType === Node.TEXT_NODE) {
        if (!current.parentElement.closest(".CodeMirror-code, .dataTable tbody")) {
          var text = word(current.nodeValue);
          if (text !== current.nodeValue) { current.nodeValue = text; }
        }
      } else {
        ATTRIBUTES.forEach(function (name) {
          var value = current.getAttribute(name);
          if (value && word(value) !== value) { current.setAttribute(name, word(value)); }
        });
      }
    }
  }

  function label(selector, english) {
    root.querySelectorAll(selector).forEach(function (el) {
      if (!el.hasAttribute("aria-label")) { el.setAttribute("aria-label", word(english)); }
    });
  }

  /* What an accessibility check finds in YASGUI's markup, put right after each time it draws:
   * fields without a name, a row-number column without a heading, tabs that point at panels
   * YASGUI has not drawn yet, and the "+" button inside the list of tabs. */
  function repair() {
    label("input.autocomplete", "SPARQL endpoint");
    label("select.tableSizer", "Page size");
    /* the tab's settings: each field named after its heading, a pair as its name and value */
    root.querySelectorAll(".tabMenu .requestConfigWrapper").forEach(function (group) {
      var heading = group.querySelector(":scope > label.label");
      var name = heading ? word(heading.textContent) : "";
      group.querySelectorAll(".selector").forEach(function (selector) {
        var own = selector.querySelector("label");
        var select = selector.querySelector("select");
        if (own && select && !select.hasAttribute("aria-label")) {
          select.setAttribute("aria-label", word(own.textContent));
        }
      });
      group.querySelectorAll(".graphInput input").forEach(function (input) {
        if (!input.hasAttribute("aria-label")) { input.setAttribute("aria-label", name); }
      });
      group.querySelectorAll(".textRow").forEach(function (row) {
        var inputs = row.querySelectorAll("input");
        ["Name", "Value"].forEach(function (part, i) {
          if (inputs[i] && !inputs[i].hasAttribute("aria-label")) {
            inputs[i].setAttribute("aria-label", name + " " + word(part));
          }
        });
      });
    });
    root.querySelectorAll(".dataTable thead th.dt-orderable-none .dt-column-title").forEach(
      function (title) {
        if (!title.textContent.trim()) {
          var hidden = document.createElement("span");
          hidden.className = "visually-hidden";
          hidden.textContent = word("Row");
          title.appendChild(hidden);
        }
      });
    root.querySelectorAll(".tabsList a[role=tab]").forEach(function (tab) {
      var panel = tab.dataset.panel || tab.getAttribute("aria-controls");
      tab.dataset.panel = panel;
      if (document.getElementById(panel)) {
        if (tab.getAttribute("aria-controls") !== panel) { tab.setAttribute("aria-controls", panel); }
      } else if (tab.hasAttribute("aria-controls")) {
        tab.removeAttribute("aria-controls");
      }
    });
    root.querySelectorAll(".tabsList").forEach(function (list) {
      var next = list.nextElementSibling;
      if (!next || !next.classList.contains("hodo-add-tab")) {
        var add = document.createElement("button");
        add.type = "button";
        add.className = "hodo-add-tab";
        add.textContent = "+";
        add.title = word("Add tab");
        add.setAttribute("aria-label", word("Add a new tab"));
        add.addEventListener("click", function () { yasgui.addTab(true); });
        list.parentNode.insertBefore(add, next);
      }
    });
  }

  function tidy() {
    observer.disconnect();
    repair();
    if (settings.lang !== "en") { translate(root); }
    observer.observe(root, { childList: true, subtree: true, characterData: true,
                             attributes: true, attributeFilter: ATTRIBUTES });
  }
  var observer = new MutationObserver(tidy);
  tidy();

  document.body.classList.add("yasgui-ready");
  window.hodoYasgui = yasgui;
}());
