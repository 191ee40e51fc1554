"""Language choice for pages and labels. Pure functions: no Flask, no store.

HODO's languages are English (``en``) and Chinese (``zh``, Simplified script). Readers are served
by ``?lang=`` first, then ``Accept-Language`` with q-values, then English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hodo.core.formats import q_value

LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANGUAGE = "en"


def normalize_tag(tag: str) -> str | None:
    """Map a BCP 47 tag onto one of HODO's languages, or None.

    >>> [normalize_tag(t) for t in ("zh-CN", "zh-Hans", "ZH_sg", "en-GB", "fr", "")]
    ['zh', 'zh', 'zh', 'en', None, None]
    """
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """HODO languages named in an ``Accept-Language`` header, best first, without repeats.

    >>> parse_accept_language("fr;q=0.9, zh-CN;q=0.8, en;q=0.5")
    ['zh', 'en']
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        q = q_value(params)
        lang = normalize_tag(tag)
        if lang and q > 0:
            weighted.append((-q, position, lang))
    seen: list[str] = []
    for _, _, lang in sorted(weighted):
        if lang not in seen:
            seen.append(lang)
    return seen


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=`` if it names a HODO language, else the header, else English.

    >>> choose_language("zh", "en"), choose_language(None, "zh-Hans"), choose_language("xx", None)
    ('zh', 'zh', 'en')
    """
    if requested:
        lang = normalize_tag(requested)
        if lang:
            return lang
    preferred = parse_accept_language(accept_language)
    return preferred[0] if preferred else DEFAULT_LANGUAGE


def pick_label(labels: Mapping[str, str], lang: str) -> tuple[str, str] | None:
    """The label in ``lang``, else in the other HODO language, with the language it is in.

    The page marks a fallback label with its own ``lang`` attribute.

    >>> pick_label({"en": "osteoporosis", "zh": "骨质疏松症"}, "zh")
    ('骨质疏松症', 'zh')
    >>> pick_label({"en": "osteoporosis"}, "zh")
    ('osteoporosis', 'en')
    """
    for candidate in (lang, *fallbacks(lang)):
        if candidate in labels:
            return labels[candidate], candidate
    return None


def fallbacks(lang: str) -> Iterable[str]:
    """Languages tried after ``lang``, in order."""
    return [other for other in LANGUAGES if other != lang]


#: Words of the pages, in both languages.
MESSAGES: dict[str, dict[str, str]] = {
    "title": {"en": "HODO: Hepatic Osteodystrophy Ontology", "zh": "HODO：肝性骨病本体"},
    "tagline": {
        "en": "The knowledge of a review article on liver disease and osteoporosis (hepatic "
              "osteodystrophy), as a bilingual OWL ontology with evidence-backed findings.",
        "zh": "一篇关于肝脏疾病与骨质疏松症（肝性骨病）的综述文章中的知识，构建为中英双语的 OWL "
              "本体，每项研究发现均有证据支持。",
    },
    "who": {
        "en": "For semantic-web researchers running SPARQL, people integrating biomedical "
              "ontologies (HODO reuses MONDO, CL, RO, ECO and others by their own IDs), and "
              "curators validating data.",
        "zh": "面向使用 SPARQL 的语义网研究者、整合生物医学本体的人员（HODO 以原始 ID 复用 MONDO、"
              "CL、RO、ECO 等本体）以及校验数据的管理员。",
    },
    "sparql": {"en": "SPARQL endpoint", "zh": "SPARQL 查询端点"},
    "start": {"en": "Start here", "zh": "从这里开始"},
    "release": {"en": "Release", "zh": "版本"},
    "statements": {"en": "Statements", "zh": "陈述"},
    "referenced_by": {"en": "Referenced by", "zh": "被引用"},
    "findings": {"en": "Findings about this term", "zh": "关于该术语的研究发现"},
    "language": {"en": "中文", "zh": "English"},
    "example_queries": {"en": "Example queries", "zh": "示例查询"},
    "run": {"en": "Run query", "zh": "执行查询"},
    "error": {"en": "Error", "zh": "错误"},
    "home": {"en": "Home", "zh": "首页"},
    "nav_article": {"en": "Article", "zh": "原文"},
    "nav_map": {"en": "Mechanism map", "zh": "机制图"},
    "nav_ontology": {"en": "Ontology", "zh": "本体文档"},
    "nav_downloads": {"en": "Downloads", "zh": "下载"},
    "nav_api": {"en": "API", "zh": "API"},
    "nav_validate": {"en": "Validate", "zh": "校验"},
    "docs_validate_link": {"en": "Check your own data against these shapes and HODO's QC rules",
                           "zh": "用这些形状约束和 HODO 的质量检查规则校验您自己的数据"},
    "start_map": {"en": "How liver diseases lead to bone loss and fracture, as the article's "
                        "findings connect them",
                  "zh": "文章研究发现所揭示的肝脏疾病导致骨量丢失与骨折的途径"},
    "start_ontology": {"en": "The ontology: its classes, properties, shapes and how to cite it",
                       "zh": "本体：类、属性、形状约束及引用方式"},
    "start_downloads": {"en": "Every release file, the shapes and the mappings, with checksums",
                        "zh": "全部发布文件、形状约束与映射，附校验和"},
    "start_search": {"en": "Search every term by any of its names, in English or Chinese",
                     "zh": "按任一名称以中文或英文搜索所有术语"},
    "start_api": {"en": "The HTTP API, described in OpenAPI", "zh": "以 OpenAPI 描述的 HTTP API"},
    "menu": {"en": "Menu", "zh": "菜单"},
    # a QC rule's value where a label or tag should be and none is: "(none)", "(none @en)"
    "report_none": {"en": "(none)", "zh": "（无）"},
    "report_none_in": {"en": "(none {lang})", "zh": "（无 {lang} 值）"},
}


def add_messages(table: Mapping[str, Mapping[str, str]]) -> None:
    """Add a module's page words to the shared table; each part of the site owns its words.

    Raises:
        ValueError: a key is already taken or an entry has no English text.
    """
    for key, entry in table.items():
        if key in MESSAGES and MESSAGES[key] != dict(entry):
            raise ValueError(f"page word {key!r} is defined twice")
        if DEFAULT_LANGUAGE not in entry:
            raise ValueError(f"page word {key!r} has no English text")
        MESSAGES[key] = dict(entry)


def in_language(entry: Mapping[str, str], lang: str) -> str:
    """One entry of a message table in ``lang``, English when it has no translation.

    Every bilingual table (pages, validation reports, the validation endpoint) reads through
    this, so the fallback rule lives in one place.

    >>> in_language({"en": "Error", "zh": "错误"}, "zh"), in_language({"en": "Error"}, "zh")
    ('错误', 'Error')
    """
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def translate(key: str, lang: str) -> str:
    """A page word in ``lang`` (English when the word has no translation)."""
    return in_language(MESSAGES[key], lang)
