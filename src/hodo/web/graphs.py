"""Pictures drawn from the data: a term's neighbourhood and the article's mechanism map.

The JSON comes from :mod:`hodo.site.diagrams`; this module adds the links of this site (a HODO IRI
opens its page, any other term its neighbourhood here) and serves the pages that draw it with
cytoscape (``static/graphs.js``). Without JavaScript the map is a plain list of the same paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from hodo.core.i18n import add_messages, translate
from hodo.site import diagrams
from hodo.web import tables
from hodo.web.state import get_release
from hodo.web.ui import VENDOR_FILES, node_modules

bp = Blueprint("graphs", __name__)

add_messages({
    "graph_neighbourhood": {"en": "Neighbourhood", "zh": "关联图"},
    "graph_neighbourhood_of": {"en": "Neighbourhood of", "zh": "关联图："},
    "graph_noscript": {"en": "The picture needs JavaScript; the statements above say the same.",
                       "zh": "图示需要 JavaScript；上方的陈述包含相同信息。"},
    "graph_capped": {"en": "Only the first {shown} of {total} related terms are drawn.",
                     "zh": "仅绘制了 {total} 个相关术语中的前 {shown} 个。"},
    "graph_legend": {"en": "Legend", "zh": "图例"},
    "graph_term": {"en": "this term", "zh": "本术语"},
    "graph_parent": {"en": "parent or child (subclass of)", "zh": "父类或子类（是……的子类）"},
    "graph_inferred": {"en": "inferred by the reasoner", "zh": "由推理机推断"},
    "graph_finding": {"en": "finding", "zh": "研究发现"},
    "graph_negated": {"en": "negative finding (not)", "zh": "阴性研究发现（否）"},
    "graph_hedged": {"en": "hedged finding (may, seems)", "zh": "推测性研究发现（可能、似乎）"},
    "graph_restriction": {"en": "OWL restriction (some)", "zh": "OWL 限制（some）"},
    "graph_not": {"en": "not", "zh": "否"},
    "graph_help": {"en": "Drag to pan, scroll to zoom; click a term to open it, a line to see "
                         "its findings.",
                   "zh": "拖动平移，滚动缩放；点击术语打开其页面，点击连线查看其研究发现。"},
    "map_title": {"en": "Mechanism map: from liver disease to bone loss",
                  "zh": "机制图：从肝脏疾病到骨量丢失"},
    "map_intro": {
        "en": "Every line is one or more findings of the article: click it to read them. "
              "Left: liver diseases (MONDO's hepatobiliary disorders and HPO's abnormalities "
              "of the liver, with everything under them). Right: bone outcomes (osteoporosis, "
              "bone fracture, reduced bone mineral density, bone loss, with everything under "
              "them). Middle: the other terms that the findings join, through one another, to "
              "a liver disease that leads into them or to a bone outcome they lead to. Only "
              "findings that say one thing causes, regulates, prevents, goes with or shows as "
              "another are drawn; \"occurs in patients with\" reads from the patients' disease.",
        "zh": "每条连线代表文章中的一项或多项研究发现，点击即可阅读。"
              "左侧：肝脏疾病（MONDO 的肝胆疾病和 HPO 的肝脏异常，及其全部子类）。"
              "右侧：骨骼结局（骨质疏松症、骨折、骨密度降低、骨量丢失，及其全部子类）。"
              "中间：研究发现通过彼此将其与肝脏疾病（由肝脏疾病引向它们）或骨骼结局"
              "（由它们引向骨骼结局）相连的其他术语。只绘制表示引起、调节、预防、相关或表现为的"
              "研究发现；“发生于以下疾病患者”从患者所患疾病读起。"},
    "map_liver_disease": {"en": "liver disease", "zh": "肝脏疾病"},
    "map_mechanism": {"en": "mechanism", "zh": "机制"},
    "map_bone_outcome": {"en": "bone outcome", "zh": "骨骼结局"},
    "map_help": {"en": "The map opens at a readable size on the part with the most terms: "
                       "drag to pan, scroll or use the buttons to zoom. Click a term to open "
                       "its page, a line to list its findings below the map.",
                 "zh": "机制图打开时以可读的大小显示术语最多的部分：拖动平移，滚动或使用按钮缩放。"
                       "点击术语打开其页面，点击连线在图下方列出其研究发现。"},
    "map_zoom_in": {"en": "Zoom in", "zh": "放大"},
    "map_zoom_out": {"en": "Zoom out", "zh": "缩小"},
    "map_whole": {"en": "Whole map", "zh": "整张图"},
    "map_start": {"en": "Readable size", "zh": "可读大小"},
    "map_tools": {"en": "Map view", "zh": "图的视图"},
    "map_findings": {"en": "Findings on this line", "zh": "该连线上的研究发现"},
    "map_pick": {"en": "Click a line of the map to list its findings here.",
                 "zh": "点击图中的连线，即可在此列出其研究发现。"},
    "map_paths": {"en": "The same paths as a list", "zh": "以列表形式列出相同路径"},
    "graph_unknown": {"en": "HODO says nothing about this IRI.",
                      "zh": "HODO 中没有关于该 IRI 的信息。"},
    "graph_bad_iri": {"en": "Give the IRI of a term: ?iri=…", "zh": "请提供术语的 IRI：?iri=…"},
})


#: The packages the pictures are drawn with, under /static/vendor/.
SCRIPTS = ("cytoscape.min.js", "cytoscape-dagre.min.js")


def graph_assets() -> bool:
    """Whether ``npm ci`` installed the drawing packages; without them no picture is offered."""
    folder = node_modules(current_app.config)
    return all((folder / VENDOR_FILES[name]).is_file() for name in SCRIPTS)


@bp.app_context_processor
def graph_helpers() -> dict[str, Any]:
    """``graph_assets()`` for every template, so a page that includes the picture can ask."""
    return {"graph_assets": graph_assets}


def _store() -> Any:
    return get_release().store


def term_href(iri: str, lang: str) -> str:
    """A HODO IRI opens its page on this site; any other term opens its neighbourhood.

    Built as the router would build it (a map names a few hundred terms).
    """
    base = current_app.config["HODO_BASE"]
    if iri.startswith(base) and len(iri) > len(base):
        return tables.site_root() + tables.resource_path(iri[len(base):], lang=lang)
    return tables.site_root() + "/graph?" + urlencode([("iri", iri), ("lang", lang)],
                                                      safe=tables.QUERY_SAFE)


def _labels() -> diagrams.Labels:
    """Every IRI's labels, read once per release."""
    return tables.page_tables().picture_labels


def page_href(iri: str, lang: str) -> str:
    """The term's page on this site (HODO's own, or ``/term`` for a term the release
    describes): what a click on the map opens, as its caption says; the neighbourhood
    for a term with no page here."""
    href = tables.local_link(iri, lang)
    return href if href.startswith(tables.site_root() + "/") else term_href(iri, lang)


def _with_links(data: dict[str, Any], lang: str, node_href: Callable[[str, str], str] = term_href
                ) -> dict[str, Any]:
    """Adds ``href`` to every node (``node_href``) and finding, so the script only follows
    links."""
    for node in data["elements"]["nodes"]:
        node["data"]["href"] = node_href(node["data"]["iri"], lang)
    for edge in data["elements"]["edges"]:
        for finding in edge["data"].get("findings", ()):
            finding["href"] = term_href(finding["iri"], lang)
    return data


def _error(status: int, key: str, iri: str) -> Response:
    response = jsonify({"error": translate(key, g.lang), "iri": iri})
    response.status_code = status
    return response


@bp.route("/api/graph/neighbourhood")
def neighbourhood() -> Response:
    """A term's neighbourhood as cytoscape elements; 400 without a valid IRI, 404 unknown."""
    iri = request.args.get("iri", "").strip()
    if not iri:
        return _error(400, "graph_bad_iri", iri)
    try:
        data = diagrams.neighbourhood(_store(), iri, g.lang, labels=_labels())
    except ValueError:
        return _error(400, "graph_bad_iri", iri)
    except diagrams.UnknownTerm:
        return _error(404, "graph_unknown", iri)
    return _json(_with_links(data, g.lang))


def _json(data: dict[str, Any]) -> Response:
    """JSON whose labels follow the reader's language, so caches must key on it."""
    response = jsonify(data)
    response.headers["Content-Language"] = data["lang"]
    response.vary.add("Accept-Language")
    return response


@bp.route("/api/graph/mechanisms")
def mechanisms() -> Response:
    """The mechanism map as cytoscape elements, each edge with its findings."""
    return _json(_with_links(diagrams.mechanism_map(_store(), g.lang, _labels()), g.lang,
                             page_href))


@bp.route("/graph")
def neighbourhood_page() -> Response:
    """The neighbourhood drawn on a page of its own (the term page includes the same part)."""
    iri = request.args.get("iri", "").strip()
    status, label = 200, None
    try:
        if not iri or not diagrams.is_known(_store(), iri):
            status = 404 if iri else 400
    except ValueError:
        status = 400
    if status == 200:
        labels = _labels().get(iri, {})
        label = diagrams.choose(labels, g.lang, diagrams.short_name(iri))
    body = render_template("graph.html", lang=g.lang, iri=iri, label=label, status=status,
                           term_href=term_href(iri, g.lang) if status == 200 else None)
    return Response(body, status, content_type="text/html; charset=utf-8")


@bp.route("/map")
def mechanism_map() -> Response:
    """The article's mechanism map, with the same paths as a plain list underneath."""
    data = _with_links(diagrams.mechanism_map(_store(), g.lang, _labels()), g.lang, page_href)
    body = render_template("map.html", lang=g.lang, paths=plain_paths(data))
    return Response(body, 200, content_type="text/html; charset=utf-8")


def plain_paths(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The map's edges as rows for the list readers without JavaScript get, by layer order."""
    nodes = {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}
    order = {layer: i for i, layer in enumerate(diagrams.LAYERS)}
    rows = [{**e["data"], "source": nodes[e["data"]["source"]],
             "target": nodes[e["data"]["target"]]} for e in data["elements"]["edges"]]
    return sorted(rows, key=lambda r: (order[r["source"]["layer"]], r["source"]["label"],
                                       order[r["target"]["layer"]], r["target"]["label"]))
