"""The pictures' data and pages: the mechanism map and a term's neighbourhood.

Every claim is checked against the release itself with SPARQL, so the tests follow the data.
"""

from __future__ import annotations

import re
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from hodo.engine.store import Release
from hodo.site import diagrams

HODO = "https://w3id.org/hodo/"
OBO = "http://purl.obolibrary.org/obo/"
HO = HODO + "HODO_0000001"
OSTEOPOROSIS = OBO + "MONDO_0005298"
CHRONIC_LIVER_DISEASE = HODO + "HODO_0000006"
PBC = OBO + "MONDO_0005388"
PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oban: <http://purl.org/oban/>
PREFIX biolink: <https://w3id.org/biolink/vocab/>
PREFIX hodo: <https://w3id.org/hodo/>
"""


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _ask(release: Release, query: str) -> bool:
    return bool(release.store.query(PREFIXES + query, use_default_graph_as_union=True))


def _select(release: Release, query: str) -> list[Any]:
    return list(release.store.query(PREFIXES + query, use_default_graph_as_union=True))


def _json(client: FlaskClient, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    return response.get_json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def en_map(release: Release) -> dict[str, Any]:
    return diagrams.mechanism_map(release.store, "en")


def _nodes(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}


def _edges(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["data"] for e in data["elements"]["edges"]]


# ---------------------------------------------------------------------------------------------
# The mechanism map


def test_map_json_is_cytoscape_elements_with_links(client: FlaskClient) -> None:
    data = _json(client, "/api/graph/mechanisms?lang=en")
    assert data["lang"] == "en" and data["layers"] == list(diagrams.LAYERS)
    nodes = _nodes(data)
    assert len(nodes) > 20
    for node in nodes.values():
        assert node["layer"] in diagrams.LAYERS and node["label"] and node["href"]
    assert nodes[HO]["href"] == "/HODO_0000001?lang=en"
    # a click on the map opens the term's page, as the caption says: HODO's own or /term
    assert nodes[OSTEOPOROSIS]["href"] == f"/term?iri={OSTEOPOROSIS}&lang=en"
    for node in nodes.values():
        assert node["href"].startswith(("/HODO_", "/term?iri=")), node
    for edge in _edges(data):
        assert edge["source"] in nodes and edge["target"] in nodes
        assert edge["findings"] and all(f["href"].startswith("/finding-")
                                        for f in edge["findings"])
    ids = [e["id"] for e in _edges(data)]
    assert len(ids) == len(set(ids))


def test_every_line_of_the_map_is_a_finding_of_the_data(release: Release,
                                                        en_map: dict[str, Any]) -> None:
    for edge in _edges(en_map):
        for finding in edge["findings"]:
            assert _ask(release, f"""ASK {{
                <{finding['iri']}> a hodo:HODO_0000110 ;
                  oban:association_has_subject <{edge['source']}> ;
                  oban:association_has_object_property <{edge['relation']}> ;
                  oban:association_has_object <{edge['target']}> ;
                  biolink:negated {str(edge['negated']).lower()} }}"""), (edge["id"], finding)
            assert finding["negated"] == edge["negated"]
        assert edge["relation"] in diagrams.MECHANISM_RELATIONS


def test_every_finding_between_drawn_terms_is_drawn(release: Release,
                                                    en_map: dict[str, Any]) -> None:
    nodes = _nodes(en_map)
    drawn = {f["iri"] for e in _edges(en_map) for f in e["findings"]}
    for row in _select(release, """SELECT ?f ?s ?r ?o WHERE { ?f a hodo:HODO_0000110 ;
            oban:association_has_subject ?s ; oban:association_has_object_property ?r ;
            oban:association_has_object ?o }"""):
        inside = row["s"].value in nodes and row["o"].value in nodes
        wanted = inside and row["r"].value in diagrams.MECHANISM_RELATIONS
        assert (row["f"].value in drawn) == wanted, row["f"].value


def _under(release: Release, term: str, roots: tuple[str, ...]) -> bool:
    return any(_ask(release, f"ASK {{ <{term}> rdfs:subClassOf* <{root}> }}") for root in roots)


def test_layers_follow_the_class_hierarchy(release: Release, en_map: dict[str, Any]) -> None:
    for term, node in _nodes(en_map).items():
        bone = _under(release, term, diagrams.BONE_OUTCOME_ROOTS)
        liver = _under(release, term, diagrams.LIVER_DISEASE_ROOTS)
        expected = "bone_outcome" if bone else "liver_disease" if liver else "mechanism"
        assert node["layer"] == expected, term


@pytest.mark.parametrize(("term", "layer"), [
    (OBO + "MONDO_0005155", "liver_disease"),      # cirrhosis of liver
    (PBC, "liver_disease"),
    (OBO + "MONDO_0006011", "liver_disease"),      # viral hepatitis
    (OBO + "HP_0001396", "liver_disease"),         # cholestasis (HPO)
    (HODO + "HODO_0000019", "mechanism"),          # low serum 25-hydroxyvitamin D
    (HODO + "HODO_0000125", "mechanism"),          # increased osteoclast activity
    (HODO + "HODO_0000002", "mechanism"),          # RANKL/OPG system
    (HODO + "HODO_0000442", "mechanism"),          # TNF-alpha, HGNC:11892 product, on RANKL/OPG
    (OBO + "MONDO_0002146", "mechanism"),          # hypogonadism
    (HODO + "HODO_0000530", "mechanism"),          # liver deficiency (TCM)
    (OSTEOPOROSIS, "bone_outcome"),
    (HO, "bone_outcome"),
    (OBO + "MONDO_0005315", "bone_outcome"),       # bone fracture
    (OBO + "HP_0000938", "bone_outcome"),          # osteopenia
    (HODO + "HODO_0000015", "bone_outcome"),       # bone loss, a mechanism by class
])
def test_known_terms_sit_in_their_layer(en_map: dict[str, Any], term: str, layer: str) -> None:
    assert _nodes(en_map)[term]["layer"] == layer


def test_what_only_accompanies_or_counts_is_left_out(release: Release,
                                                    en_map: dict[str, Any]) -> None:
    nodes = _nodes(en_map)
    symptoms = _select(release, """SELECT ?o WHERE { ?f oban:association_has_subject
        <http://purl.obolibrary.org/obo/MONDO_0005298> ; oban:association_has_object ?o ;
        oban:association_has_object_property <http://purl.obolibrary.org/obo/RO_0002200> }""")
    assert symptoms
    for row in symptoms:
        outcome = _under(release, row["o"].value, diagrams.BONE_OUTCOME_ROOTS)
        assert (row["o"].value in nodes) == outcome
    assert OBO + "STATO_0000412" not in nodes  # prevalence
    assert OBO + "STATO_0000413" not in nodes  # incidence


def test_negative_and_hedged_findings_are_marked(release: Release,
                                                 en_map: dict[str, Any]) -> None:
    negative = {r["f"].value for r in _select(
        release, "SELECT ?f WHERE { ?f biolink:negated true }")}
    hedged = {r["f"].value for r in _select(
        release, "SELECT ?f WHERE { ?f hodo:HODO_0000209 true }")}
    marked = 0
    for edge in _edges(en_map):
        for finding in edge["findings"]:
            assert finding["negated"] == (finding["iri"] in negative)
            assert finding["hedged"] == (finding["iri"] in hedged)
        assert edge["hedged"] == all(f["hedged"] for f in edge["findings"])
        marked += edge["negated"]
    assert marked >= 3
    # PBC and osteoporosis: one finding says they are related, another says they are not
    pbc = [e for e in _edges(en_map) if e["source"] == PBC and e["target"] == OSTEOPOROSIS
           and e["label"] == "positively correlated with"]
    assert sorted(e["negated"] for e in pbc) == [False, True]


def test_map_speaks_both_languages(release: Release) -> None:
    zh = _nodes(diagrams.mechanism_map(release.store, "zh"))
    en = _nodes(diagrams.mechanism_map(release.store, "en"))
    assert zh[OSTEOPOROSIS]["label"] == "骨质疏松症" and zh[OSTEOPOROSIS]["label_lang"] == "zh"
    assert en[OSTEOPOROSIS]["label"] == "osteoporosis"
    zh_edge = next(e for e in _edges(diagrams.mechanism_map(release.store, "zh"))
                   if e["findings"][0]["iri"] == HODO + "finding-0005")
    assert re.search(r"[\u4e00-\u9fff]", zh_edge["findings"][0]["sentence"])
    assert zh_edge["findings"][0]["sentence_lang"] == "zh"


def test_mechanism_terms_join_through_one_another() -> None:
    """A cytokine acting on a system that a hepatitis raises is in; a symptom is not."""
    edges = [("hepatitis", "rankl"), ("il1", "rankl"), ("rankl", "osteoclast"),
             ("osteoporosis", "backache"), ("tcm-liver", "osteoporosis"),
             ("prevalence-free", "nothing")]
    found = diagrams.mechanism_terms(edges, {"hepatitis"}, {"osteoporosis"})
    assert found == {"rankl", "il1", "osteoclast", "tcm-liver"}


# ---------------------------------------------------------------------------------------------
# A term's neighbourhood


def test_neighbourhood_of_hepatic_osteodystrophy(client: FlaskClient) -> None:
    data = _json(client, f"/api/graph/neighbourhood?iri={HO}&lang=zh")
    nodes, edges = _nodes(data), _edges(data)
    assert data["iri"] == HO and data["label"] == "肝性骨病" and data["capped"] is False
    assert nodes[HO]["centre"] is True and nodes[HO]["label"] == "肝性骨病"
    parent = next(e for e in edges if e["kind"] == "subclass" and e["target"] == OSTEOPOROSIS)
    assert parent["source"] == HO and parent["inferred"] is False and parent["label"] == "是一种"
    restriction = next(e for e in edges if e["kind"] == "restriction")
    assert restriction["target"] == CHRONIC_LIVER_DISEASE
    assert restriction["relation"] == OBO + "RO_0004019"
    negated = [e for e in edges if e["kind"] == "finding" and e["negated"]]
    assert negated and all(f["negated"] for e in negated for f in e["findings"])
    assert all(e["source"] == HO or e["target"] == HO for e in edges)


def test_neighbourhood_findings_are_the_terms_findings(release: Release,
                                                       client: FlaskClient) -> None:
    data = _json(client, f"/api/graph/neighbourhood?iri={PBC}")
    shown = {f["iri"] for e in _edges(data) for f in e.get("findings", ())}
    expected = {r["f"].value for r in _select(release, f"""SELECT ?f WHERE {{
        ?f a hodo:HODO_0000110 .
        {{ ?f oban:association_has_subject <{PBC}> }}
        UNION {{ ?f oban:association_has_object <{PBC}> }} }}""")}
    assert shown == expected and expected


def test_neighbourhood_label_falls_back_to_the_other_language(release: Release) -> None:
    data = diagrams.neighbourhood(release.store, PBC, "zh")
    for term, node in _nodes(data).items():
        has_zh = _ask(release, f'ASK {{ <{term}> rdfs:label ?l FILTER(lang(?l) = "zh") }}')
        assert node["label_lang"] == ("zh" if has_zh else "en"), term
    assert any(n["label_lang"] == "en" for n in _nodes(data).values())


def test_neighbourhood_is_capped_and_says_so(release: Release) -> None:
    whole = diagrams.neighbourhood(release.store, OSTEOPOROSIS, "en")
    capped = diagrams.neighbourhood(release.store, OSTEOPOROSIS, "en", limit=5)
    assert capped["capped"] is True and len(capped["elements"]["nodes"]) == 5
    assert capped["total_nodes"] == len(whole["elements"]["nodes"]) > 5
    kept = _nodes(capped)
    assert all(e["source"] in kept and e["target"] in kept for e in _edges(capped))
    assert len(whole["elements"]["nodes"]) <= diagrams.MAX_NEIGHBOURHOOD_NODES


def test_inferred_parents_are_marked() -> None:
    """A subclass axiom only the reasoner states is inferred; one also asserted is not."""
    store = ox.Store()
    sub = ox.NamedNode(diagrams.SUBCLASS_OF)
    a, b, c = (ox.NamedNode(HODO + f"HODO_999000{i}") for i in range(3))
    ontology = ox.NamedNode(HODO + "graph/ontology")
    inferred = ox.NamedNode(diagrams.INFERRED_GRAPH)
    store.extend([ox.Quad(a, sub, b, ontology), ox.Quad(a, sub, b, inferred),
                  ox.Quad(a, sub, c, inferred)])
    data = diagrams.neighbourhood(store, a.value, "en")
    flags = {e["target"]: e["inferred"] for e in _edges(data) if e["kind"] == "subclass"}
    assert flags == {b.value: False, c.value: True}


@pytest.mark.parametrize(("query", "status"), [
    ("", 400), ("?iri=", 400), ("?iri=not%20an%20iri", 400), ("?iri=http://exa%20mple/x", 400),
    (f"?iri={HODO}HODO_9999999", 404), ("?iri=urn:nothing", 404),
])
def test_bad_or_unknown_iri_is_a_json_error(client: FlaskClient, query: str,
                                            status: int) -> None:
    data = _json(client, f"/api/graph/neighbourhood{query}", status)
    assert data["error"]


def test_iri_reaches_the_query_as_data_only(client: FlaskClient) -> None:
    """An IRI written to break out of a query names nothing, and nothing breaks."""
    hostile = "http://x/> } UNION { ?s ?p ?o } #"
    assert client.get("/api/graph/neighbourhood", query_string={"iri": hostile}
                      ).status_code == 400
    assert client.get("/api/graph/neighbourhood", query_string={"iri": "http://x/a?b#c"}
                      ).status_code == 404


# ---------------------------------------------------------------------------------------------
# Pages


def _html(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def _no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "style=" not in html and "<style" not in html


def test_map_page_draws_from_the_json_and_lists_the_same_paths(client: FlaskClient,
                                                               en_map: dict[str, Any]) -> None:
    response = client.get("/map")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    _no_inline_code(html)
    assert 'data-src="/api/graph/mechanisms?lang=en"' in html
    assert 'data-lang="en"' in html and '<html lang="en">' in html
    assert '/static/vendor/cytoscape.min.js' in html and '/static/graphs.js' in html
    assert 'id="__________cytoscape_stylesheet"' in html
    assert html.count('<tr class="path') == len(_edges(en_map))
    assert html.count('<tr class="path layer-liver_disease') > 0


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ("Click a term to open its page", "a line to list its findings")),
    ("zh", ("点击术语打开其页面", "点击连线在图下方列出其研究发现"))])
def test_map_caption_says_what_a_click_does(client: FlaskClient, lang: str,
                                            words: tuple[str, str]) -> None:
    """The browser test checks the behaviour; this checks the words in both languages."""
    html = _html(client, f"/map?lang={lang}")
    help_text = re.search(r'<p class="graph-help" id="map-help">(.*?)</p>', html, re.S)
    assert help_text and all(word in help_text.group(1) for word in words)
    assert 'aria-describedby="map-help"' in html


def test_map_page_in_chinese(client: FlaskClient) -> None:
    html = _html(client, "/map?lang=zh")
    assert '<html lang="zh-Hans">' in html and 'data-lang="zh"' in html
    assert "机制图" in html and "骨质疏松症" in html
    assert "<strong>否</strong>" in html


def test_graph_page_for_a_term(client: FlaskClient) -> None:
    html = _html(client, f"/graph?iri={OSTEOPOROSIS}&lang=zh")
    _no_inline_code(html)
    assert '<html lang="zh-Hans">' in html and "骨质疏松症" in html
    assert f'data-src="/api/graph/neighbourhood?iri={OSTEOPOROSIS}&amp;lang=zh"' in html


@pytest.mark.parametrize(("query", "status"), [("", 400), ("?iri=x%20y", 400),
                                               (f"?iri={HODO}HODO_9999999", 404)])
def test_graph_page_for_no_term(client: FlaskClient, query: str, status: int) -> None:
    assert "graph-canvas" not in _html(client, f"/graph{query}", status)


def test_partial_renders_for_the_term_page(app: Flask) -> None:
    """The term page includes the part with ``iri`` and ``lang`` in scope."""
    with app.test_request_context("/HODO_0000001?lang=zh"):
        html = render_template_string('{% include "_neighbourhood.html" %}', iri=HO, lang="zh")
    assert f'data-src="/api/graph/neighbourhood?iri={HO}&amp;lang=zh"' in html
    assert 'data-lang="zh"' in html and "<noscript>" in html
    assert html.count("<script defer src=") == 3
    _no_inline_code(html)


def test_without_the_packages_no_picture_is_offered(release: Release, tmp_path: Any) -> None:
    from hodo.web import create_app

    bare = create_app({"TESTING": True, "HODO_NODE_MODULES": tmp_path}, release=release)
    html = _html(bare.test_client(), "/map")
    assert "cytoscape.min.js" not in html and '<tr class="path' in html
    with bare.test_request_context("/"):
        assert "<script" not in render_template_string(
            '{% include "_neighbourhood.html" %}', iri=HO, lang="en")


def test_json_follows_accept_language(client: FlaskClient) -> None:
    response = client.get("/api/graph/mechanisms", headers={"Accept-Language": "zh-CN"})
    assert response.get_json()["lang"] == "zh"
    assert "Accept-Language" in response.headers["Vary"]
    assert response.headers["Content-Language"] == "zh"


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture()
def hostile_client(release: Release) -> FlaskClient:
    """The release plus a liver disease named by a ``javascript:`` IRI, with markup labels,
    and a finding from it to osteoporosis, so that both reach the map."""
    from hodo.web import create_app

    store = ox.Store()
    store.extend(release.store.quads_for_pattern(None, None, None, None))
    graph = ox.NamedNode(HODO + "graph/findings")
    bad, finding = ox.NamedNode("JaVaScRiPt:alert(1)"), ox.NamedNode(HODO + "finding-9999")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    oban = "http://purl.org/oban/association_has_"
    store.extend([
        ox.Quad(bad, ox.NamedNode(diagrams.SUBCLASS_OF), ox.NamedNode(OBO + "MONDO_0005154"),
                graph),
        ox.Quad(bad, label, ox.Literal(MARKUP, language="en"), graph),
        ox.Quad(finding, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode(HODO + "HODO_0000110"), graph),
        ox.Quad(finding, ox.NamedNode(oban + "subject"), bad, graph),
        ox.Quad(finding, ox.NamedNode(oban + "object_property"),
                ox.NamedNode(OBO + "RO_0003302"), graph),
        ox.Quad(finding, ox.NamedNode(oban + "object"), ox.NamedNode(OSTEOPOROSIS), graph),
        ox.Quad(finding, label, ox.Literal(MARKUP, language="en"), graph),
        ox.Quad(finding, ox.NamedNode(HODO + "HODO_0000201"), ox.Literal(MARKUP, language="zh"),
                graph),
    ])
    app = create_app({"TESTING": True}, release=Release(store, release.version, release.path))
    return app.test_client()


def test_hostile_data_is_text_and_never_a_link(hostile_client: FlaskClient) -> None:
    data = _json(hostile_client, "/api/graph/mechanisms")
    node = _nodes(data)["JaVaScRiPt:alert(1)"]
    assert node["layer"] == "liver_disease" and node["label"] == MARKUP
    assert node["href"].startswith("/graph?iri=JaVaScRiPt")
    hrefs = [n["href"] for n in _nodes(data).values()] + [
        f["href"] for e in _edges(data) for f in e["findings"]]
    assert all(h.startswith("/") for h in hrefs)
    html = _html(hostile_client, "/map")
    assert MARKUP not in html and "&lt;script&gt;" in html
    assert not re.search(r'href="\s*javascript:', html, re.IGNORECASE)
    neighbourhood = _json(hostile_client, "/api/graph/neighbourhood?iri=JaVaScRiPt:alert(1)")
    assert _nodes(neighbourhood)["JaVaScRiPt:alert(1)"]["label"] == MARKUP
