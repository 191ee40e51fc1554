"""Human pages: the landing page and one page per resource (health is in ``ops``).

A resource's page depends on what it is: a term (HODO's own, or a reused external term the
release describes, at ``/term?iri=``, which ``deref`` negotiates), a finding, a bibliography
entry, the article, a section of it, or anything else HODO names (a generic page of its
statements).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState

from hodo.core.i18n import add_messages, choose_language
from hodo.core.namespaces import DCTERMS_NS, expand
from hodo.site import views
from hodo.site.search import abbreviation
from hodo.web import fragments, tables
from hodo.web.state import get_release

bp = Blueprint("pages", __name__)

add_messages({
    "page_iri": {"en": "IRI", "zh": "IRI"},
    "page_raw": {"en": "This resource as RDF", "zh": "该资源的 RDF 数据"},
    "page_raw_sparql": {"en": "Described by the SPARQL endpoint",
                        "zh": "由 SPARQL 端点描述"},
    "page_external": {"en": "Reused from", "zh": "复用自"},
    "page_labels": {"en": "Labels", "zh": "标签"},
    "page_definition": {"en": "Definition", "zh": "定义"},
    "page_synonyms": {"en": "Synonyms", "zh": "同义词"},
    "page_syn_exact": {"en": "exact", "zh": "精确"},
    "page_syn_related": {"en": "related", "zh": "相关"},
    "page_syn_broad": {"en": "broader", "zh": "更宽泛"},
    "page_syn_narrow": {"en": "narrower", "zh": "更狭义"},
    "page_abbreviations": {"en": "Abbreviations", "zh": "缩写"},
    "page_hierarchy": {"en": "Hierarchy", "zh": "层级"},
    "page_parents": {"en": "Parents", "zh": "上位术语"},
    "page_children": {"en": "Children", "zh": "下位术语"},
    "page_inferred": {"en": "inferred by HermiT", "zh": "由 HermiT 推理得出"},
    "page_asserted": {"en": "asserted", "zh": "断言"},
    "page_some": {"en": "some", "zh": "某个"},
    "page_relations": {"en": "Relations", "zh": "关系"},
    "page_incoming": {"en": "Statements about it", "zh": "指向它的陈述"},
    "page_restrictions_in": {"en": "Used in the definition of", "zh": "用于定义"},
    "page_term_findings": {"en": "Findings about this term", "zh": "关于该术语的研究发现"},
    "page_mappings": {"en": "Mappings to other ontologies", "zh": "与其他本体的映射"},
    "page_xrefs": {"en": "Cross-references", "zh": "交叉引用"},
    "page_notes": {"en": "Curation notes", "zh": "管理注释"},
    "page_none": {"en": "None.", "zh": "无。"},
    "page_claim": {"en": "Claim", "zh": "陈述"},
    "page_negated": {"en": "Negative result: its source reports no such relation",
                     "zh": "阴性结果：来源文献报告不存在该关系"},
    "page_not": {"en": "not", "zh": "并非"},
    "page_hedged": {"en": "Hedged: stated tentatively", "zh": "推测性陈述"},
    "page_values": {"en": "Values", "zh": "数值"},
    "page_measure": {"en": "Measure", "zh": "指标"},
    "page_value": {"en": "Value", "zh": "值"},
    "page_unit": {"en": "Unit", "zh": "单位"},
    "page_population": {"en": "Population", "zh": "人群"},
    "page_authors": {"en": "Authors named in the text", "zh": "文中提及的作者"},
    "page_sentence": {"en": "Source sentence", "zh": "原文句子"},
    "page_sentence_zh": {"en": "Chinese original (verbatim)", "zh": "中文原文（逐字）"},
    "page_sentence_en": {"en": "English rendering", "zh": "英文译文"},
    "page_references": {"en": "Cited references", "zh": "引用的参考文献"},
    "page_section": {"en": "Section", "zh": "章节"},
    "page_evidence": {"en": "Evidence type", "zh": "证据类型"},
    "page_conflicts": {"en": "Conflicting findings", "zh": "相互矛盾的研究发现"},
    "page_subject": {"en": "subject", "zh": "主体"},
    "page_object": {"en": "object", "zh": "客体"},
    "page_relation": {"en": "relation", "zh": "关系"},
    "page_finding": {"en": "Finding", "zh": "研究发现"},
    "page_reference": {"en": "Bibliography entry", "zh": "参考文献条目"},
    "page_reference_number": {"en": "Number in the citing publication",
                              "zh": "在引用文献中的编号"},
    "page_cited_in": {"en": "Cited in sections", "zh": "被引用的章节"},
    "page_citing_findings": {"en": "Findings that cite it", "zh": "引用它的研究发现"},
    "page_cited_by": {"en": "Also named by", "zh": "亦被引用于"},
    "page_article": {"en": "Article", "zh": "文献"},
    "page_publication": {"en": "Publication", "zh": "来源文献"},
    "page_metadata": {"en": "Bibliographic data", "zh": "书目信息"},
    "page_sections": {"en": "Sections and their findings", "zh": "章节及其研究发现"},
    "page_subsections": {"en": "Subsections", "zh": "小节"},
    "page_part_of": {"en": "Part of", "zh": "所属"},
    "page_section_findings": {"en": "Findings from this section", "zh": "本节的研究发现"},
    "page_section_terms": {"en": "Terms this section introduces", "zh": "本节引入的术语"},
    "page_statements": {"en": "Statements", "zh": "陈述"},
    "page_no_findings": {"en": "No findings recorded.", "zh": "未记录研究发现。"},
    "page_uncited": {"en": "No citation in its source", "zh": "原文未标注引用"},
    "page_context": {"en": "Population and context", "zh": "人群与背景"},
    "page_population_of": {"en": "Population with", "zh": "研究人群所患疾病"},
    "page_compared_with": {"en": "Compared with", "zh": "比较对象"},
    "page_species": {"en": "Species", "zh": "物种"},
    "page_subject_change": {"en": "Change in the subject", "zh": "主体的变化"},
    "page_object_change": {"en": "Change in the object", "zh": "客体的变化"},
    "page_derived_from": {"en": "Sentence of its source", "zh": "原文中的句子"},
    "page_ledger": {"en": "The section sentence by sentence", "zh": "本节逐句"},
    "page_restates": {"en": "restates", "zh": "复述"},
    "page_article_sentence": {"en": "Sentence of a publication", "zh": "文献中的句子"},
    "change_increased": {"en": "increased", "zh": "升高"},
    "change_decreased": {"en": "decreased", "zh": "降低"},
    "aspect_level": {"en": "level", "zh": "水平"},
    "aspect_activity": {"en": "activity", "zh": "活性"},
    "aspect_abundance": {"en": "abundance", "zh": "数量"},
})

#: The RDF representations linked from every page, by file extension.
RAW_FORMATS = ("ttl", "jsonld", "rdf", "nt")
#: Properties shown in their own parts of a term page, not again among its relations.
SHOWN_APART = frozenset({views.LABEL, views.DEFINITION, views.NOTE, views.XREF,
                         *views.SYNONYMS, *views.MAPPINGS, *views.HIERARCHY})


@bp.record_once
def _build_tables(state: BlueprintSetupState) -> None:
    """Read the page tables with the app, before any worker is forked, so that workers share
    them and no request pays for them."""
    tables.init_app(state.app)  # type: ignore[arg-type]


@bp.before_app_request
def set_language() -> None:
    """Every page, error pages included, speaks the reader's language."""
    g.lang = choose_language(request.args.get("lang"), request.headers.get("Accept-Language"))


@bp.route("/")
def index() -> Response:
    lang = g.lang
    release = get_release()
    body = render_template("index.html", lang=lang, version=release.version,
                           base=current_app.config["HODO_BASE"])
    return html_response(body, lang)


def render_resource(iri: str, lang: str) -> str | None:
    """The HTML page of one resource in ``lang``, or None when HODO says nothing about it.

    Dereferencing (``hodo.web.deref``) decides when a reader gets HTML and calls this.
    """
    store = get_release().store
    found = views.resource(store, iri, tables.page_tables().labels)
    if found is None:
        return None
    render = RENDERERS.get(found.kind, _generic)
    return render(store, found, lang)


def _page(template: str, found: views.Resource, lang: str, **context: Any) -> str:
    return render_template(template, iri=found.iri, res=found, label=found.label(lang),
                           raw=raw_links(found.iri), views=views,
                           **fragments.for_page(lang, tables.page_links()), **context)


def _term(store: Any, found: views.Resource, lang: str) -> str:
    parents = [s for s in found.outgoing if s.prop.iri in views.HIERARCHY]
    children = [s for s in found.incoming
                if s.prop.iri in views.HIERARCHY and s.value.on_property is None]
    return _page("term.html", found, lang,
                 external=not found.iri.startswith(current_app.config["HODO_BASE"]),
                 synonyms=synonyms(found), abbreviations=abbreviations(found),
                 parents=[s for s in parents if s.value.iri],
                 restrictions=[s.value for s in parents if s.value.filler is not None],
                 children=children,
                 used_in=[s.value for s in found.incoming if s.value.on_property is not None],
                 relations=[s for s in found.outgoing if s.prop.iri not in SHOWN_APART],
                 incoming=[s for s in found.incoming if s.prop.iri not in views.HIERARCHY
                           and s.prop.iri not in views.MAPPINGS],
                 mappings=mappings(found), xrefs=xrefs(found),
                 findings=tables.page_tables().findings_for("about", found.iri))


def _finding(store: Any, found: views.Resource, lang: str) -> str:
    one = tables.page_tables().findings_for("one", found.iri)
    if not one:
        return _generic(store, found, lang)
    return _page("finding.html", found, lang, finding=one[0],
                 publication=tables.page_tables().publication_of(one[0].section))


def _reference(store: Any, found: views.Resource, lang: str) -> str:
    cites = tables.page_tables().findings_for("cites", found.iri)
    sections = {f.section.iri: f.section for f in cites if f.section and f.section.iri}
    return _page("reference.html", found, lang, findings=cites,
                 number=next((t.value for t in found.texts(views.BASE + "HODO_0000206")), None),
                 sections=sorted(sections.values(), key=lambda v: v.key),
                 cited_by=[s for s in found.incoming])


def _article(store: Any, found: views.Resource, lang: str) -> str:
    shown = {views.LABEL, views.NOTE, "http://purl.org/spar/cito/cites"}
    return _page("article.html", found, lang,
                 sections=tables.page_tables().sections_of(store, found.iri),
                 metadata=[s for s in found.outgoing if s.prop.iri not in shown],
                 cites=sorted(found.values("http://purl.org/spar/cito/cites"), key=_by_number))


def _by_number(value: views.Value) -> tuple[int, str]:
    """Bibliography entries by their number (article-reference-2 before -10)."""
    tail = value.key.rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 1 << 30), value.key


def _section(store: Any, found: views.Resource, lang: str) -> str:
    part_of = DCTERMS_NS + "isPartOf"
    known = {s.iri: s for article in tables.page_tables().sections.values() for s in article}
    # Sentences of the ledger are part of their section too: they are listed apart.
    return _page("section.html", found, lang,
                 findings=tables.page_tables().findings_for("in_section", found.iri),
                 parents=found.values(part_of),
                 subsections=[s for s in found.sources(part_of) if s.iri in known],
                 sentences=known[found.iri].sentences if found.iri in known else (),
                 terms=found.sources(DCTERMS_NS + "source"))


def _sentence(store: Any, found: views.Resource, lang: str) -> str:
    lines = {line.iri: line for article in tables.page_tables().sections.values()
             for section in article for line in section.sentences}
    if found.iri not in lines:
        return _generic(store, found, lang)
    return _page("sentence.html", found, lang, line=lines[found.iri],
                 parents=found.values(DCTERMS_NS + "isPartOf"))


def _generic(store: Any, found: views.Resource, lang: str) -> str:
    return _page("resource.html", found, lang)


RENDERERS: dict[str, Callable[[Any, views.Resource, str], str]] = {
    "term": _term, "finding": _finding, "reference": _reference, "article": _article,
    "section": _section, "sentence": _sentence,
}


def raw_links(iri: str) -> list[tuple[str, str]]:
    """Links to the resource's RDF: its own files for a HODO IRI, else a SPARQL DESCRIBE."""
    base = current_app.config["HODO_BASE"]
    if iri.startswith(base) and len(iri) > len(base):
        local = iri[len(base):]
        root = tables.site_root()
        return [(ext, root + tables.resource_path(f"{local}.{ext}")) for ext in RAW_FORMATS]
    if not views.web_iri(iri):
        return []
    return [(ext, url_for("sparql.endpoint", query=f"DESCRIBE <{iri}>", format=ext))
            for ext in RAW_FORMATS]


def synonyms(found: views.Resource) -> list[tuple[str, views.Text]]:
    """(scope, synonym) pairs, exact ones first, abbreviations left out (shown apart)."""
    pairs = [(scope, text) for prop, scope in views.SYNONYMS.items()
             for text in found.texts(prop) if not abbreviation(text.value)]
    return pairs


def abbreviations(found: views.Resource) -> list[views.Text]:
    """Exact synonyms written as an abbreviation (HO, OP, PBC ...), as the article uses them.

    OBO data marks abbreviations only by synonym type, which HODO's data does not carry, so a
    short exact synonym in capitals with no spaces counts as one.
    """
    return [t for t in found.texts(*views.SYNONYMS) if abbreviation(t.value)]


def mappings(found: views.Resource) -> list[tuple[str, views.Value]]:
    """(SKOS relation, the other term), in both directions (a reused term is mapped *to*)."""
    pairs = [(s.prop.iri.rsplit("#", 1)[-1], s.value) for s in found.outgoing
             if s.prop.iri in views.MAPPINGS]
    pairs += [(s.prop.iri.rsplit("#", 1)[-1], s.value) for s in found.incoming
              if s.prop.iri in views.MAPPINGS]
    return sorted(pairs, key=lambda p: (p[0], p[1].key))  # type: ignore[union-attr]


def xrefs(found: views.Resource) -> list[tuple[str, str | None]]:
    """(cross-reference as written, its IRI when HODO knows its prefix and it is http(s))."""
    shown: list[tuple[str, str | None]] = []
    for text in found.texts(views.XREF):
        try:
            iri: str | None = expand(text.value)
        except ValueError:
            iri = None
        shown.append((text.value, iri if views.web_iri(iri) else None))
    return sorted(shown)


def html_response(body: str, lang: str) -> Response:
    response = Response(body, 200, content_type="text/html; charset=utf-8")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response
