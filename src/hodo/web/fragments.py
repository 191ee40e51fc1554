"""The small pieces of HTML every resource page repeats, written in Python.

A term page names resources a few hundred times; as Jinja macros (and with ``Markup.format``)
these pieces cost more than the rest of the page. These functions give the same markup, built
with f-strings: every text goes through ``escape``, and an IRI becomes a link only when
``hodo.web.tables.PageLinks`` says it may be one.

In templates they take the page's language and links from the context: ``link(value)``,
``la(code)``, ``always(code)``, ``claim(f)``, ``badges(f)``, ``citations(f)``,
``finding_item(f)`` (a finding in a list: the term, section and reference pages list dozens),
``finding_link(f)`` (its title and marks: the article lists every finding), and the
``local_link`` filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from hodo.core.i18n import MESSAGES, translate
from hodo.site.views import Change, Finding, FindingLine, Value
from hodo.web.language import HTML_LANG
from hodo.web.tables import PageLinks, page_links

T = TypeVar("T")
#: The name under which pages pass their ``PageLinks`` to the template.
LINKS = "page_links"


def lang_attr(code: str | None, lang: str | None = None) -> str:
    """`` lang="..."`` for text in ``code`` unless it is ``lang``, the page's language."""
    if code and code != lang:
        return f' lang="{escape(HTML_LANG.get(code, code))}"'
    return ""


def value_link(value: Value | None, lang: str, links: PageLinks) -> str:
    """A resource as a link to its page (or as text), a literal as text, a restriction as
    ``property some filler``; markup, its texts escaped."""
    if value is None:
        return ""
    if value.filler is not None:
        return (f'<span class="restriction">{value_link(value.on_property, lang, links)} '
                f'<em>{escape(translate("page_some", lang))}</em> '
                f'{value_link(value.filler, lang, links)}</span>')
    text, code = value.shown(lang)
    href = links.href(value.iri, lang) if value.iri else ""
    if href:
        return f'<a href="{escape(href)}"{lang_attr(code, lang)}>{escape(text)}</a>'
    css = ' class="iri-text"' if value.iri else ""
    return f"<span{css}{lang_attr(code, lang)}>{escape(text)}</span>"


def badges(finding: Finding | FindingLine, lang: str, links: PageLinks) -> str:
    """The marks of a negative or a hedged finding, each after a space."""
    marks = [f' <span class="badge {kind}">{escape(translate("page_" + kind, lang))}</span>'
             for kind, shown in (("negated", finding.negated), ("hedged", finding.hedged))
             if shown]
    return "".join(marks)


def claim(finding: Finding, lang: str, links: PageLinks) -> str:
    """A finding's claim: subject, relation ("not" before it when negated), object."""
    negated = ' is-negated' if finding.negated else ""
    subject = (f'<span class="claim-subject">{value_link(finding.subject, lang, links)}</span>'
               if finding.subject else "")
    not_ = (f'<strong class="not">{escape(translate("page_not", lang))}</strong> '
            if finding.negated else "")
    relation = value_link(finding.relation, lang, links)
    obj = (f'<span class="claim-object">{value_link(finding.object, lang, links)}</span>'
           if finding.object else "")
    return (f'<span class="claim{negated}">{subject}\n'
            f'    <span class="claim-relation">{not_}{relation}</span>\n'
            f'    {obj}</span>')


def citations(finding: Finding, lang: str, links: PageLinks) -> str:
    """The reference numbers a finding cites, ``[3] [12]``, each a link to its entry; for a
    claim the article does not cite, says so."""
    if finding.uncited:
        return f'<span class="ref uncited">{escape(translate("page_uncited", lang))}</span>'
    refs = []
    for cited in finding.citations:
        href, number = links.href(cited.iri, lang), escape(cited.number or "?")
        refs.append(f'<a class="ref" href="{escape(href)}">[{number}]</a>' if href
                    else f'<span class="ref">[{number}]</span>')
    return " ".join(refs)


def change(found: Change | None, lang: str, links: PageLinks) -> str:
    """A subject's or object's change in words: "increased level" / "水平升高"."""
    if found is None:
        return ""
    direction = (escape(translate(f"change_{found.direction}", lang))
                 if f"change_{found.direction}" in MESSAGES else escape(found.direction or ""))
    aspect = (escape(translate(f"aspect_{found.aspect}", lang))
              if f"aspect_{found.aspect}" in MESSAGES else escape(found.aspect or ""))
    words = [aspect, direction] if lang == "zh" else [direction, aspect]
    return ("" if lang == "zh" else " ").join(w for w in words if w)


def finding_link(finding: Finding | FindingLine, lang: str, links: PageLinks) -> str:
    """A finding's title as a link to its page, and its marks."""
    title, code = finding.label(lang)
    return (f'<a href="{escape(links.href(finding.iri, lang))}"{lang_attr(code, lang)}>'
            f'{escape(title)}</a>{badges(finding, lang, links)}')


def finding_item(finding: Finding, lang: str, links: PageLinks) -> str:
    """A finding as an entry of a list: its title and marks, claim, source sentences, the
    references it cites and its section."""
    sentences = "".join(f'\n  <blockquote class="sentence"{lang_attr(s.lang)}>{escape(s.value)}'
                        "</blockquote>" for s in finding.sentences)
    refs = (f'<span class="refs">{escape(translate("page_references", lang))}: '
            f'{citations(finding, lang, links)}</span>' if finding.citations
            else citations(finding, lang, links))
    section = (f'<span class="sec">{escape(translate("page_section", lang))}: '
               f'{value_link(finding.section, lang, links)}</span>' if finding.section else "")
    return (f'<li class="finding-item">\n    \n'
            f'    <p class="finding-title">{finding_link(finding, lang, links)}</p>\n'
            f'    <p class="finding-claim">{claim(finding, lang, links)}</p>\n'
            f'    {sentences}\n'
            f'    <p class="finding-source">\n      {refs}\n      {section}\n    </p>\n  </li>')


def _links(context: Context) -> PageLinks:
    found = context.get(LINKS)
    return found if found is not None else page_links()


def _in_page(render: Callable[[T, str, PageLinks], str]) -> Callable[..., Markup]:
    """``render(item, lang, links)`` as a template function of ``item`` on the page drawn."""
    @pass_context
    def in_template(context: Context, item: T) -> Markup:
        return Markup(render(item, context.get("lang", "en"), _links(context)))
    in_template.__doc__ = render.__doc__
    return in_template


@pass_context
def la(context: Context, code: str | None) -> Markup:
    """The ``lang`` attribute of text in ``code`` when that is not the page's language."""
    return Markup(lang_attr(code, context.get("lang", "en")))


def always(code: str | None) -> Markup:
    """The ``lang`` attribute of text in ``code``, whatever the page's language."""
    return Markup(lang_attr(code))


@pass_context
def local_link(context: Context, iri: str, lang: str) -> str:
    """The ``local_link`` filter: ``PageLinks.href`` (an href, escaped where it is used)."""
    return _links(context).href(iri, lang)


def for_page(lang: str, links: PageLinks) -> dict[str, Any]:
    """The template functions bound to one page's language and links, for its context.

    Bound, they are plain calls; the ``pass_context`` globals below, called inside a loop,
    make Jinja derive a new context for every call, which cost more than the call itself.
    """
    def bind(render: Callable[[T, str, PageLinks], str]) -> Callable[[T], Markup]:
        def bound(item: T) -> Markup:
            return Markup(render(item, lang, links))
        return bound

    return {"lang": lang, LINKS: links, "link": bind(value_link), "badges": bind(badges),
            "claim": bind(claim), "citations": bind(citations), "change": bind(change),
            "finding_item": bind(finding_item), "finding_link": bind(finding_link),
            "always": always,
            "la": lambda code: Markup(lang_attr(code, lang))}


@pass_context
def page_language_first(context: Context, items: Iterable[Any]) -> list[Any]:
    """Texts with those in the page's language first, each language in its own order: a
    Chinese page shows the Chinese definition and notes before the English."""
    lang = context.get("lang", "en")
    return sorted(items, key=lambda item: getattr(item, "lang", None) != lang)


def template_globals() -> dict[str, Any]:
    """What the templates call by name when the page did not pass ``for_page``."""
    return {"link": _in_page(value_link), "la": la, "always": always,
            "badges": _in_page(badges), "claim": _in_page(claim),
            "citations": _in_page(citations), "finding_item": _in_page(finding_item),
            "finding_link": _in_page(finding_link)}
