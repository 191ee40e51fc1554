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

  var yasgui = new Yasgui(root, {
    persistenceId: settings.storageKey,
    autoAddOnInit: false,
    populateFromUrl: false,
    copyEndpointOnNewTab: true,
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: {
      value: settings.newTabQuery,
      prefixCcApi: null
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

  document.body.classList.add("yasgui-ready");
  window.hodoYasgui = yasgui;
}());
