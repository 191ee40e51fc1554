/* HODO's pictures: a term's neighbourhood and the mechanism map, drawn with cytoscape.
 *
 * Each `.hodo-graph` element names its JSON in `data-src`; labels go into the graph as data
 * and cytoscape draws them as text on its canvas. Text put into the page (the findings of a
 * line) is set with textContent only. No inline script or style: the page's CSP forbids them.
 */
(function () {
  'use strict';

  var COLOURS = {
    liver_disease: '#b5523b', mechanism: '#3b7bb5', bone_outcome: '#6b4fa0',
    term: '#24476b', parent: '#6c7a89', child: '#6c7a89', restriction: '#2f8f6b',
    finding: '#3b7bb5'
  };

  /* The map opens with its labels this large on screen (CSS pixels): readable without effort. */
  var LEGIBLE_PX = 12;

  function htmlLang(code) {
    return code === 'zh' ? 'zh-Hans' : code;
  }

  function style(kind) {
    var nodeStyle = {
      'label': 'data(label)', 'text-wrap': 'wrap', 'text-max-width': 140, 'font-size': 12,
      'text-valign': 'bottom', 'text-margin-y': 4, 'width': 18, 'height': 18,
      'color': '#1d2433', 'text-outline-color': '#ffffff', 'text-outline-width': 2,
      'font-family': 'system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif'
    };
    var rules = [
      {selector: 'node', style: nodeStyle},
      {selector: 'edge', style: {
        'width': 1.5, 'line-color': '#8797a8', 'target-arrow-color': '#8797a8',
        'target-arrow-shape': 'triangle', 'curve-style': 'bezier', 'arrow-scale': 0.9,
        'label': 'data(display)', 'font-size': 10, 'text-rotation': 'autorotate',
        'color': '#4a5568', 'text-outline-color': '#ffffff', 'text-outline-width': 2,
        'min-zoomed-font-size': kind === 'map' ? 9 : 0
      }},
      {selector: 'edge[?negated]', style: {
        'line-style': 'dashed', 'line-color': '#c0392b', 'target-arrow-color': '#c0392b',
        'target-arrow-shape': 'tee', 'color': '#c0392b'
      }},
      {selector: 'edge[?hedged]', style: {'line-style': 'dotted', 'width': 2}},
      {selector: 'edge[kind = "subclass"]', style: {
        'line-color': '#6c7a89', 'target-arrow-color': '#6c7a89',
        'target-arrow-shape': 'triangle-backcurve', 'width': 2.5
      }},
      {selector: 'edge[?inferred]', style: {'line-style': 'dashed', 'line-dash-pattern': [2, 4]}},
      {selector: 'edge[kind = "restriction"]', style: {
        'line-color': '#2f8f6b', 'target-arrow-color': '#2f8f6b', 'target-arrow-shape': 'diamond'
      }},
      {selector: 'node[?centre]', style: {'width': 28, 'height': 28, 'font-weight': 'bold',
                                          'border-width': 3, 'border-color': '#f0b429'}},
      {selector: ':selected', style: {'overlay-color': '#f0b429', 'overlay-opacity': 0.25}}
    ];
    if (kind === 'map') {
      rules.push({selector: 'node', style: {'font-size': 15, 'text-max-width': 170}});
    }
    Object.keys(COLOURS).forEach(function (layer) {
      rules.splice(1, 0, {selector: 'node[layer = "' + layer + '"]',
                          style: {'background-color': COLOURS[layer]}});
    });
    return rules;
  }

  /* The edge text: the relation's label, with "not" before it when the finding is negative. */
  function prepare(data, notWord) {
    data.elements.edges.forEach(function (edge) {
      var d = edge.data;
      d.display = (d.negated ? notWord + ' ' : '') + d.label;
    });
    return data.elements;
  }

  /* Liver diseases to the far left, bone outcomes to the far right, spaced evenly. */
  function pinLayers(cy) {
    var box = cy.nodes('[layer = "mechanism"]').boundingBox();
    if (!isFinite(box.x1)) {
      box = cy.nodes().boundingBox();
    }
    [['liver_disease', box.x1 - 260], ['bone_outcome', box.x2 + 260]].forEach(function (pin) {
      var nodes = cy.nodes('[layer = "' + pin[0] + '"]').sort(function (a, b) {
        return a.position('y') - b.position('y');
      });
      var step = Math.max(60, (box.y2 - box.y1) / Math.max(1, nodes.length));
      var top = (box.y1 + box.y2) / 2 - step * (nodes.length - 1) / 2;
      nodes.forEach(function (node, i) {
        node.position({x: pin[1], y: top + i * step});
      });
    });
    cy.fit(undefined, 20);
  }

  function clamp(value, low, high) {
    return low > high ? (low + high) / 2 : Math.min(Math.max(value, low), high);
  }

  /* Where the map opens: zoomed so that labels are LEGIBLE_PX on screen, on the window of
   * that size (centred on a term) that holds the most terms, kept inside the drawing.
   * Fitting the whole map would shrink its labels to a few pixels. */
  function startView(cy) {
    var font = parseFloat(cy.nodes().first().style('font-size')) || 15;
    var zoom = Math.min(cy.maxZoom(), Math.max(cy.zoom(), LEGIBLE_PX / font));
    var half = {x: cy.width() / zoom / 2, y: cy.height() / zoom / 2};
    var nodes = cy.nodes();
    var best = null;
    var bestScore = -1;
    nodes.forEach(function (centre) {
      var p = centre.position();
      var score = 0;
      nodes.forEach(function (node) {
        var q = node.position();
        if (Math.abs(q.x - p.x) <= half.x && Math.abs(q.y - p.y) <= half.y) {
          score += 1;
        }
      });
      if (score > bestScore) {
        bestScore = score;
        best = p;
      }
    });
    var box = cy.elements().boundingBox();
    var x = clamp(best.x, box.x1 + half.x, box.x2 - half.x);
    var y = clamp(best.y, box.y1 + half.y, box.y2 - half.y);
    return {zoom: zoom, pan: {x: cy.width() / 2 - x * zoom, y: cy.height() / 2 - y * zoom}};
  }

  /* The map's buttons: zoom about the middle of the view, the whole map, back to the start. */
  function tools(container, cy, start) {
    var bar = container.querySelector('.graph-tools');
    if (!bar) {
      return;
    }
    var middle = function () { return {x: cy.width() / 2, y: cy.height() / 2}; };
    var actions = {
      'in': function () { cy.zoom({level: cy.zoom() * 1.25, renderedPosition: middle()}); },
      'out': function () { cy.zoom({level: cy.zoom() / 1.25, renderedPosition: middle()}); },
      'whole': function () { cy.fit(undefined, 20); },
      'start': function () { cy.viewport({zoom: start.zoom, pan: start.pan}); }
    };
    Array.prototype.forEach.call(bar.querySelectorAll('button[data-zoom]'), function (button) {
      button.addEventListener('click', actions[button.dataset.zoom]);
    });
    bar.hidden = false;
  }

  function showFindings(container, edge) {
    var panel = document.getElementById(container.dataset.findings || '');
    var findings = edge.data('findings') || [];
    if (!panel) {
      return;
    }
    var list = panel.querySelector('ul');
    var pick = panel.querySelector('.graph-pick');
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    if (pick) {
      pick.hidden = true;
    }
    panel.hidden = findings.length === 0;
    findings.forEach(function (finding) {
      list.appendChild(findingItem(finding, container.dataset.not));
    });
    if (!panel.hidden && panel.scrollIntoView) {
      panel.scrollIntoView({block: 'nearest'});
    }
  }

  function findingItem(finding, notWord) {
    var item = document.createElement('li');
    item.className = 'finding' + (finding.negated ? ' negated' : '') +
      (finding.hedged ? ' hedged' : '');
    if (finding.negated) {
      var mark = document.createElement('strong');
      mark.className = 'not';
      mark.textContent = notWord + ' ';
      item.appendChild(mark);
    }
    var link = document.createElement('a');
    link.href = finding.href;
    link.textContent = finding.label;
    if (finding.label_lang) {
      link.lang = htmlLang(finding.label_lang);
    }
    item.appendChild(link);
    if (finding.sentence) {
      var sentence = document.createElement('q');
      sentence.textContent = finding.sentence;
      if (finding.sentence_lang) {
        sentence.lang = htmlLang(finding.sentence_lang);
      }
      item.appendChild(sentence);
    }
    return item;
  }

  function note(container, data) {
    var element = container.querySelector('.graph-note');
    if (element && data.capped && container.dataset.capped) {
      element.textContent = container.dataset.capped
        .replace('{shown}', String(data.elements.nodes.length))
        .replace('{total}', String(data.total_nodes));
      element.hidden = false;
    }
  }

  function draw(container, data) {
    var kind = container.dataset.kind;
    var cy = window.cytoscape({
      container: container.querySelector('.graph-canvas'),
      elements: prepare(data, container.dataset.not || 'not'),
      style: style(kind),
      minZoom: kind === 'map' ? 0.02 : 0.1,
      maxZoom: 4,
      boxSelectionEnabled: false
    });
    var layout = cy.layout({
      name: 'dagre', rankDir: 'LR', nodeSep: kind === 'map' ? 52 : 36,
      rankSep: kind === 'map' ? 240 : 230, edgeSep: 8, animate: false, fit: true, padding: 20
    });
    layout.one('layoutstop', function () {
      if (kind === 'map') {
        pinLayers(cy);
        var start = startView(cy);
        cy.viewport({zoom: start.zoom, pan: start.pan});
        tools(container, cy, start);
      }
      container.dataset.nodes = String(cy.nodes().length);
      container.dataset.edges = String(cy.edges().length);
      container.classList.add('graph-ready');
    });
    layout.run();
    cy.on('tap', 'node', function (event) {
      var href = event.target.data('href');
      if (href) {
        window.location.assign(href);
      }
    });
    cy.on('tap', 'edge', function (event) {
      showFindings(container, event.target);
    });
    pointer(cy);
    note(container, data);
    window.hodoGraph = cy;
  }

  /* A hand over what can be clicked: set through the CSSOM, which the CSP allows. */
  function pointer(cy) {
    var canvas = cy.container();
    cy.on('mouseover', 'node, edge', function () { canvas.style.cursor = 'pointer'; });
    cy.on('mouseout', 'node, edge', function () { canvas.style.cursor = ''; });
  }

  function fail(container, message) {
    var element = container.querySelector('.graph-note') || document.createElement('p');
    element.className = 'graph-note graph-error';
    element.textContent = message;
    element.hidden = false;
    container.appendChild(element);
    container.classList.add('graph-failed');
  }

  function start(container) {
    if (!window.cytoscape) {
      return;
    }
    fetch(container.dataset.src, {headers: {'Accept': 'application/json'},
                                   credentials: 'same-origin'})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error(body.error || response.statusText);
          }
          return body;
        });
      })
      .then(function (data) { draw(container, data); })
      .catch(function (error) { fail(container, String(error.message || error)); });
  }

  function init() {
    var paths = document.getElementById('map-paths');
    if (paths && window.cytoscape) {
      paths.open = false;
    }
    Array.prototype.forEach.call(document.querySelectorAll('.hodo-graph'), start);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
