"""Tables in, Turtle out: curators author terms and findings in a spreadsheet.

Two kinds of table, told apart by their headers (or named with ``kind``): one row per new
term (:data:`TERM_COLUMNS`) and one row per finding (:data:`FINDING_COLUMNS`), after ROBOT
templates and DOSDP patterns but with plain column headers, in English or Chinese. A cell
naming a term gives its CURIE or a label (either language) that names one term only, among
HODO's sources and the new rows. Every cell that cannot be read is a :class:`CellError` naming
its row and column; nothing is produced unless the whole table reads, and the result, merged
with HODO, passes the SHACL shapes and the QC rules (:func:`check`). Column documentation:
``docs/curation.md``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from hodo import __version__
from hodo.core.errors import ProblemsFound, UsageError
from hodo.core.i18n import add_messages, translate
from hodo.core.namespaces import (
    BIOLINK,
    CITO,
    DEFINITION,
    HODO,
    OBAN,
    OBO,
    OBOINOWL,
    PREFIXES,
    PROV,
    SCHEMA,
    TERM_ID,
    expand,
    shorten,
)
from hodo.pipeline.tables import Row, Table
from hodo.pipeline.validate import Check, Severity, ValidationReport, validate

BIBO_ARTICLE = URIRef("http://purl.org/ontology/bibo/AcademicArticle")
FINDING = HODO["HODO_0000110"]
#: The finding vocabulary (ontology/README.md): sentence, section, quantity, measure,
#: population, hedged, conflict, citation number, population's condition, comparison group.
SENTENCE, SECTION, QUANTITY, MEASURE = (HODO[f"HODO_000020{n}"] for n in (1, 2, 3, 4))
POPULATION, CITATION_NUMBER, CONFLICT, HEDGED = (HODO[f"HODO_000020{n}"] for n in (5, 6, 8, 9))
CONDITION, COMPARED_WITH = HODO["HODO_0000213"], HODO["HODO_0000214"]
AUTHOR = HODO["HODO_0000207"]
#: Finding columns that name a term, each with its property (ontology/README.md).
TERM_CELLS: tuple[tuple[str, URIRef], ...] = (
    ("population", CONDITION), ("compared_with", COMPARED_WITH),
    ("people", HODO["HODO_0000252"]), ("life_stage", HODO["HODO_0000248"]),
    ("ancestry", HODO["HODO_0000244"]), ("sex", BIOLINK.sex_qualifier),
    ("species", BIOLINK.species_context_qualifier),
)
HAS_EVIDENCE = OBO["RO_0002558"]
CITED, UNCITED = OBO["ECO_0000304"], OBO["ECO_0000303"]
MAPPING_PREDICATES = {shorten(str(p)): p for p in (SKOS.exactMatch, SKOS.closeMatch,
                                                  SKOS.broadMatch, SKOS.narrowMatch,
                                                  SKOS.relatedMatch)}
#: What a measured change does: Biolink's direction qualifier values, also in Chinese.
DIRECTIONS = {"increased": "increased", "decreased": "decreased", "升高": "increased",
              "增加": "increased", "降低": "decreased", "减少": "decreased"}
_ASPECT = re.compile(r"^[a-z][a-z _-]*$")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "真"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "假"})
TERM_TYPES = {"class": OWL.Class, "类": OWL.Class, "relation": OWL.ObjectProperty,
              "关系": OWL.ObjectProperty}
#: Cells holding several values separate them with ``;`` (or the Chinese ``；``).
SEPARATOR = re.compile(r"[;；]")
_RANGE = re.compile(r"^\s*([0-9.]+)\s*[-–～~]\s*([0-9.]+)\s*$")
_FINDING_ID = re.compile(r"^finding-[0-9]{4}$")


class Kind(Enum):
    """The two kinds of table."""

    TERMS = "terms"
    FINDINGS = "findings"


@dataclass(frozen=True)
class Column:
    """A column: its header in English and in Chinese, and whether a row must fill it."""

    name: str
    zh: str
    required: bool = False


TERM_COLUMNS: tuple[Column, ...] = (
    Column("id", "编号", True), Column("type", "类型"),
    Column("label_en", "英文标签", True), Column("label_zh", "中文标签", True),
    Column("definition_en", "英文定义", True), Column("definition_zh", "中文定义", True),
    Column("parent", "上位术语"), Column("synonyms_en", "英文同义词"),
    Column("synonyms_zh", "中文同义词"), Column("mappings", "映射"), Column("source", "出处"),
)
FINDING_COLUMNS: tuple[Column, ...] = (
    Column("id", "编号", True),
    Column("label_en", "英文标签", True), Column("label_zh", "中文标签", True),
    Column("subject", "主体", True), Column("relation", "关系", True),
    Column("object", "客体", True), Column("negated", "否定"), Column("hedged", "推测"),
    Column("quantities", "数值"), Column("population_en", "英文人群"),
    Column("population_zh", "中文人群"), Column("subject_direction", "主体变化方向"),
    Column("subject_aspect", "主体变化方面"), Column("object_direction", "客体变化方向"),
    Column("object_aspect", "客体变化方面"), Column("population", "人群疾病"),
    Column("compared_with", "对照组"), Column("people", "人群类别"),
    Column("life_stage", "生命阶段"), Column("ancestry", "祖先"), Column("sex", "性别"),
    Column("species", "物种"), Column("author", "作者"),
    Column("section", "章节", True), Column("references", "参考文献"),
    Column("sentences", "原句"), Column("sentence_zh", "中文原句", True),
    Column("sentence_en", "英文译文", True), Column("conflicts", "矛盾发现"),
    Column("evidence", "证据"), Column("note_en", "英文注释"), Column("note_zh", "中文注释"),
)
COLUMNS: dict[Kind, tuple[Column, ...]] = {Kind.TERMS: TERM_COLUMNS,
                                          Kind.FINDINGS: FINDING_COLUMNS}

add_messages({
    "template_cell": {"en": "row {row}, column {column}: {reason}",
                      "zh": "第 {row} 行，“{column}”列：{reason}"},
    "template_table": {"en": "{table}: {reason}", "zh": "{table}：{reason}"},
    "template_required": {"en": "empty, and a row must fill it", "zh": "为空，但每行必须填写"},
    "template_unknown_term": {
        "en": "{value!r} names no term of HODO or of the new rows (give a CURIE or a label)",
        "zh": "{value!r} 不是 HODO 或新增行中任何术语的名称（请填写 CURIE 或标签）"},
    "template_ambiguous": {"en": "the label {value!r} names several terms ({terms}): give a CURIE",
                           "zh": "标签 {value!r} 对应多个术语（{terms}）：请填写 CURIE"},
    "template_bad_boolean": {"en": "{value!r} is not true or false (true/false, yes/no, 是/否)",
                             "zh": "{value!r} 不是真或假（true/false、yes/no、是/否）"},
    "template_bad_id": {"en": "{value!r} is not an ID of this kind ({pattern})",
                        "zh": "{value!r} 不是此类编号（{pattern}）"},
    "template_id_taken": {"en": "{value} is already used in HODO: take a free ID",
                          "zh": "{value} 已在 HODO 中使用：请另取未用的编号"},
    "template_id_twice": {"en": "{value} is given on row {other} too",
                          "zh": "{value} 在第 {other} 行中也出现"},
    "template_bad_quantity": {
        "en": "{value!r} is not a quantity: write MEASURE = VALUE [UNIT], e.g. "
              "'prevalence = 10-20 percent'",
        "zh": "{value!r} 不是数值：请写作 测量 = 数值 [单位]，例如 “prevalence = 10-20 percent”"},
    "template_bad_number": {"en": "{value!r} is not a number (write 12, 0.05 or 10-20)",
                            "zh": "{value!r} 不是数字（请写作 12、0.05 或 10-20）"},
    "template_bad_reference": {"en": "{value!r} is not a reference number (write 1; 3)",
                               "zh": "{value!r} 不是参考文献编号（请写作 1; 3）"},
    "template_no_reference": {"en": "{document} has no reference [{value}] in its bibliography",
                              "zh": "{document} 的参考文献中没有［{value}］"},
    "template_no_section": {"en": "{value!r} names no section of a document",
                            "zh": "{value!r} 不是任何文献的章节"},
    "template_no_document": {"en": "the section {value} is part of no article",
                             "zh": "章节 {value} 不属于任何文章"},
    "template_bad_mapping": {
        "en": "{value!r} is not a mapping: write PREDICATE TERM with a SKOS match predicate, "
              "e.g. 'skos:exactMatch MONDO:0005388'",
        "zh": "{value!r} 不是映射：请写作 谓词 术语，谓词为 SKOS 匹配谓词，例如 "
              "“skos:exactMatch MONDO:0005388”"},
    "template_bad_direction": {
        "en": "{value!r} is not a direction (increased or decreased)",
        "zh": "{value!r} 不是变化方向（increased 或 decreased，升高或降低）"},
    "template_bad_aspect": {
        "en": "{value!r} is not an aspect: one English word or phrase in lower case, e.g. "
              "'level' or 'activity'",
        "zh": "{value!r} 不是变化方面：请填写小写英文词或短语，例如 “level” 或 “activity”"},
    "template_bad_type": {"en": "{value!r} is not a type of term (class or relation)",
                          "zh": "{value!r} 不是术语类型（类 或 关系）"},
    "template_not_finding": {"en": "{value!r} is not a finding of HODO or of the new rows",
                             "zh": "{value!r} 不是 HODO 或新增行中的研究发现"},
    "template_no_columns": {"en": "missing the column(s) {columns}",
                            "zh": "缺少列 {columns}"},
    "template_unknown_columns": {"en": "unknown column(s) {columns}", "zh": "未知的列 {columns}"},
    "template_which_kind": {
        "en": "cannot tell whether this table holds terms or findings (a findings table has a "
              "'subject' column): give --kind",
        "zh": "无法判断此表是术语表还是研究发现表（研究发现表含“subject”列）：请指定 --kind"},
    "template_empty": {"en": "the table has no rows", "zh": "表中没有数据行"},
    "template_invalid": {
        "en": "the table reads, but HODO with its rows does not pass the shapes and QC rules:",
        "zh": "表格可以读取，但加入这些行后的 HODO 未通过形状约束和质量检查规则："},
})


class Unreadable(Exception):
    """A cell that cannot be read: the message key and its parameters."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class CellError:
    """Where a cell cannot be read and why; said in either language."""

    table: str
    row: int | None
    column: str | None
    key: str
    params: dict[str, object] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        reason = translate(f"template_{self.key}", lang).format(**self.params)
        if self.row is None:
            return translate("template_table", lang).format(table=self.table, reason=reason)
        where = translate("template_cell", lang).format(row=self.row, column=self.column,
                                                        reason=reason)
        return translate("template_table", lang).format(table=self.table, reason=where)


class TemplateError(UsageError):
    """Cells of the tables cannot be read; nothing is written. Carries every error."""

    def __init__(self, errors: Sequence[CellError]) -> None:
        super().__init__(errors[0].message("en") if errors else "")
        self.errors = tuple(errors)

    def messages(self, lang: str) -> list[str]:
        return [error.message(lang) for error in self.errors]


class TemplateInvalid(ProblemsFound):
    """The rows read, but HODO with them fails the shapes or QC rules; carries the report."""

    def __init__(self, report: ValidationReport, data: Graph) -> None:
        super().__init__(translate("template_invalid", "en"))
        self.report = report
        self.data = data


#: One resource of the output: its subject and its statements, in the order they are written.
Statements = list[tuple[URIRef, list[Node]]]


@dataclass
class Block:
    """A resource as the Turtle writer shows it: subject, then each predicate's objects."""

    subject: URIRef
    statements: Statements = field(default_factory=list)

    def add(self, predicate: URIRef, *objects: Node) -> None:
        if objects:
            self.statements.append((predicate, list(objects)))


def _norm(text: str) -> str:
    """A label as compared: Unicode-normalised (full-width letters), case and spaces folded."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class Resolver:
    """Names to IRIs: CURIEs and labels of HODO's sources and of the new rows."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.labels: dict[str, set[URIRef]] = {}
        self.known: set[URIRef] = {s for s in graph.subjects() if isinstance(s, URIRef)}
        deprecated = set(graph.subjects(OWL.deprecated, Literal(True)))
        for term, label in graph.subject_objects(RDFS.label):
            if isinstance(term, URIRef) and term not in deprecated:
                self.labels.setdefault(_norm(str(label)), set()).add(term)

    def add(self, iri: URIRef, labels: Iterable[str]) -> None:
        self.known.add(iri)
        for label in labels:
            if label:
                self.labels.setdefault(_norm(label), set()).add(iri)

    def iri(self, text: str) -> URIRef | None:
        """The IRI a CURIE or ``<IRI>`` names, if it is one (known or not)."""
        if text.startswith("<") and text.endswith(">"):
            return URIRef(text[1:-1])
        prefix, colon, local = text.partition(":")
        if colon and prefix in PREFIXES and local and " " not in text:
            return URIRef(expand(text))
        return None

    def term(self, text: str) -> URIRef:
        """The one term ``text`` names, by CURIE, IRI or label."""
        iri = self.iri(text)
        if iri is not None and iri in self.known:
            return iri
        found = self.labels.get(_norm(text), set())
        if len(found) == 1:
            return next(iter(found))
        if len(found) > 1:
            raise Unreadable("ambiguous", value=text,
                             terms=", ".join(sorted(shorten(str(t)) for t in found)))
        raise Unreadable("unknown_term", value=text)


@dataclass
class Reader:
    """Reads the cells of one table, collecting an error per cell that cannot be read."""

    table: Table
    resolver: Resolver
    aliases: dict[str, str]
    errors: list[CellError] = field(default_factory=list)

    def cell(self, row: Row, name: str) -> str:
        return row.cells.get(self.aliases.get(name, name), "")

    def read(self, row: Row, name: str, parse: Callable[[str], Any], required: bool = False
             ) -> Any:
        """``parse(cell)``, or None when the cell is empty or cannot be read (recorded)."""
        text = self.cell(row, name)
        if not text:
            if required:
                self.fail(row, name, Unreadable("required"))
            return None
        try:
            return parse(text)
        except Unreadable as error:
            self.fail(row, name, error)
            return None

    def fail(self, row: Row, name: str, error: Unreadable) -> None:
        column = self.aliases.get(name, name)
        self.errors.append(CellError(self.table.name, row.number, column, error.key,
                                     error.params))

    def many(self, parse: Callable[[str], Any]) -> Callable[[str], list[Any]]:
        """A parser of a cell holding several values separated by ``;``."""
        return lambda text: [parse(part.strip()) for part in SEPARATOR.split(text)
                             if part.strip()]


def kind_of(table: Table, kind: Kind | None = None) -> Kind:
    """The kind a table holds: the one given, else findings when it has a subject column."""
    if kind is not None:
        return kind
    headers = set(table.headers)
    if headers & {"subject", "主体"}:
        return Kind.FINDINGS
    if headers & {"definition_en", "英文定义"}:
        return Kind.TERMS
    raise TemplateError([CellError(table.name, None, None, "which_kind")])


def _aliases(table: Table, kind: Kind) -> tuple[dict[str, str], list[CellError]]:
    """Each column's header as the table writes it (English or Chinese); what is missing or
    unknown is an error."""
    aliases: dict[str, str] = {}
    for column in COLUMNS[kind]:
        for header in (column.name, column.zh):
            if header in table.headers:
                aliases[column.name] = header
    known = {h for c in COLUMNS[kind] for h in (c.name, c.zh)}
    errors = []
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in aliases]
    if missing:
        errors.append(CellError(table.name, None, None, "no_columns",
                                {"columns": ", ".join(missing)}))
    unknown = [h for h in table.headers if h not in known]
    if unknown:
        errors.append(CellError(table.name, None, None, "unknown_columns",
                                {"columns": ", ".join(unknown)}))
    if not table.rows:
        errors.append(CellError(table.name, None, None, "empty"))
    return aliases, errors


def _boolean(text: str) -> bool:
    word = _norm(text)
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise Unreadable("bad_boolean", value=text)


def _number(text: str) -> Literal:
    """12 -> an integer, 0.05 -> a decimal, as the hand-written findings write them."""
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise Unreadable("bad_number", value=text) from error
    if not value.is_finite():
        raise Unreadable("bad_number", value=text)
    if "." not in text and "e" not in text.lower():
        return Literal(int(value))
    return Literal(value, datatype=XSD.decimal)


@dataclass(frozen=True)
class Quantity:
    """A value or range with its measure and, where UO has it, its unit."""

    measure: URIRef
    values: tuple[Literal, ...]
    unit: URIRef | None


def _quantity(resolver: Resolver) -> Callable[[str], Quantity]:
    def parse(text: str) -> Quantity:
        measure, equals, rest = text.partition("=")
        parts = rest.split(None, 1)
        if not equals or not measure.strip() or not parts:
            raise Unreadable("bad_quantity", value=text)
        amount = _RANGE.match(parts[0])
        values = (tuple(_number(v) for v in amount.groups()) if amount
                  else (_number(parts[0]),))
        unit = resolver.term(parts[1].strip()) if len(parts) > 1 else None
        return Quantity(resolver.term(measure.strip()), values, unit)
    return parse


def _reference_number(text: str) -> int:
    cleaned = text.strip("[]［］ ")
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise Unreadable("bad_reference", value=text)
    return int(cleaned)


def document_of(graph: Graph, section: URIRef) -> URIRef | None:
    """The article a section belongs to, through ``dcterms:isPartOf``."""
    node: Node | None = section
    seen: set[Node] = set()
    while isinstance(node, URIRef) and node not in seen:
        if (node, RDF.type, BIBO_ARTICLE) in graph:
            return node
        seen.add(node)
        node = graph.value(node, DCTERMS.isPartOf)
    return None


def reference(graph: Graph, document: URIRef, number: int) -> URIRef:
    """The entry of ``document``'s bibliography cited under ``number``."""
    for entry in graph.objects(document, CITO.cites):
        cited = graph.value(entry, CITATION_NUMBER)
        if isinstance(entry, URIRef) and cited is not None and str(cited) == str(number):
            return entry
    raise Unreadable("no_reference", document=shorten(str(document)), value=number)


def _section(resolver: Resolver) -> Callable[[str], URIRef]:
    def parse(text: str) -> URIRef:
        try:
            section = resolver.term(text)
        except Unreadable:
            section = None
        if section is None or (section, RDF.type, URIRef(
                "http://purl.org/spar/doco/Section")) not in resolver.graph:
            raise Unreadable("no_section", value=text)
        return section
    return parse


def _new_id(resolver: Resolver, pattern: re.Pattern[str], shown: str) -> Callable[[str], URIRef]:
    """An ID for a new row: the right form, and not used in HODO yet."""
    def parse(text: str) -> URIRef:
        local = text.removeprefix("hodo:").replace("HODO:", "HODO_", 1)
        if not pattern.match(local):
            raise Unreadable("bad_id", value=text, pattern=shown)
        iri = HODO[local]
        if (iri, None, None) in resolver.graph:
            raise Unreadable("id_taken", value=text)
        return iri
    return parse


def _lang(text: str | None, lang: str) -> list[Node]:
    return [Literal(text, lang=lang)] if text else []


def _texts(reader: Reader, row: Row, name: str, lang: str) -> list[Node]:
    return [Literal(t, lang=lang) for t in reader.read(row, name, reader.many(str)) or []]


def _ids(reader: Reader, kind: Kind, parse: Callable[[str], URIRef]) -> dict[int, URIRef]:
    """The new rows' IDs by row number; an ID given twice is an error on its second row."""
    ids: dict[int, URIRef] = {}
    first: dict[URIRef, int] = {}
    for row in reader.table.rows:
        iri = reader.read(row, "id", parse, required=True)
        if iri is None:
            continue
        if iri in first:
            reader.fail(row, "id", Unreadable("id_twice", value=reader.cell(row, "id"),
                                              other=first[iri]))
            continue
        first[iri] = row.number
        ids[row.number] = iri
        labels = [reader.cell(row, "label_en"), reader.cell(row, "label_zh")]
        reader.resolver.add(iri, labels if kind is Kind.TERMS else [])
    return ids


def term_blocks(reader: Reader, ids: dict[int, URIRef]) -> list[Block]:
    """One block per term row."""
    blocks = []
    for row in reader.table.rows:
        block = Block(ids.get(row.number, HODO["unread"]))
        kind = reader.read(row, "type", _term_type) or OWL.Class
        block.add(RDF.type, kind)
        parent = reader.read(row, "parent", reader.resolver.term)
        parent_of = RDFS.subClassOf if kind == OWL.Class else RDFS.subPropertyOf
        block.add(parent_of, *([parent] if parent else []))
        block.add(RDFS.label, *_lang(reader.read(row, "label_en", str, True), "en"),
                  *_lang(reader.read(row, "label_zh", str, True), "zh"))
        block.add(DEFINITION, *_lang(reader.read(row, "definition_en", str, True), "en"),
                  *_lang(reader.read(row, "definition_zh", str, True), "zh"))
        block.add(OBOINOWL.hasExactSynonym, *_texts(reader, row, "synonyms_en", "en"),
                  *_texts(reader, row, "synonyms_zh", "zh"))
        for predicate, target in reader.read(row, "mappings",
                                             reader.many(_mapping(reader.resolver))) or []:
            block.add(predicate, target)
        source = reader.read(row, "source", _section(reader.resolver))
        block.add(DCTERMS.source, *([source] if source else []))
        blocks.append(block)
    return blocks


def _term_type(text: str) -> URIRef:
    found = TERM_TYPES.get(_norm(text))
    if found is None:
        raise Unreadable("bad_type", value=text)
    return found


def _mapping(resolver: Resolver) -> Callable[[str], tuple[URIRef, URIRef]]:
    def parse(text: str) -> tuple[URIRef, URIRef]:
        predicate, _, target = text.partition(" ")
        if predicate not in MAPPING_PREDICATES or not target.strip():
            raise Unreadable("bad_mapping", value=text)
        return MAPPING_PREDICATES[predicate], resolver.term(target.strip())
    return parse


def _finding(resolver: Resolver, new: set[URIRef]) -> Callable[[str], URIRef]:
    def parse(text: str) -> URIRef:
        iri = resolver.iri(text) or HODO[text]
        if iri in new or (iri, RDF.type, FINDING) in resolver.graph:
            return iri
        raise Unreadable("not_finding", value=text)
    return parse


def finding_blocks(reader: Reader, ids: dict[int, URIRef]) -> list[Block]:
    """One block per finding row, then its quantities, then the conflict links back."""
    blocks: list[Block] = []
    backlinks: dict[URIRef, list[URIRef]] = {}
    for row in reader.table.rows:
        finding = ids.get(row.number, HODO["unread"])
        block, extra = _finding_block(reader, row, finding, set(ids.values()))
        blocks.extend([block, *extra])
        for predicate, objects in block.statements:
            if predicate == CONFLICT:
                for other in objects:
                    if isinstance(other, URIRef) and other not in ids.values():
                        backlinks.setdefault(other, []).append(finding)
    for other, findings in backlinks.items():
        back = Block(other)
        back.add(CONFLICT, *findings)
        blocks.append(back)
    return blocks


def _finding_block(reader: Reader, row: Row, finding: URIRef, new: set[URIRef]
                   ) -> tuple[Block, list[Block]]:
    """A finding's statements in the order the hand-written findings give them."""
    term, r = reader.resolver.term, reader.resolver
    block = Block(finding)
    block.add(RDF.type, FINDING)
    block.add(RDFS.label, *_lang(reader.read(row, "label_en", str, True), "en"),
              *_lang(reader.read(row, "label_zh", str, True), "zh"))
    for name, predicate in (("subject", OBAN.association_has_subject),
                            ("relation", OBAN.association_has_object_property),
                            ("object", OBAN.association_has_object)):
        value = reader.read(row, name, term, required=True)
        block.add(predicate, *([value] if value else []))
    block.add(BIOLINK.negated, Literal(bool(reader.read(row, "negated", _boolean))))
    if reader.read(row, "hedged", _boolean):
        block.add(HEDGED, Literal(True))
    quantities = reader.read(row, "quantities", reader.many(_quantity(r))) or []
    extra = [_quantity_block(URIRef(f"{finding}-q{n}"), q) for n, q in enumerate(quantities, 1)]
    block.add(QUANTITY, *(b.subject for b in extra))
    block.add(POPULATION, *_lang(reader.read(row, "population_en", str), "en"),
              *_lang(reader.read(row, "population_zh", str), "zh"))
    for end in ("subject", "object"):
        direction = reader.read(row, f"{end}_direction", _direction)
        block.add(BIOLINK[f"{end}_direction_qualifier"], *([direction] if direction else []))
        aspect = reader.read(row, f"{end}_aspect", _aspect)
        block.add(BIOLINK[f"{end}_aspect_qualifier"], *([aspect] if aspect else []))
    for name, predicate in TERM_CELLS:
        value = reader.read(row, name, term)
        block.add(predicate, *([value] if value else []))
    block.add(AUTHOR, *_lang(reader.read(row, "author", str), "en"))
    section = reader.read(row, "section", _section(r), required=True)
    block.add(SECTION, *([section] if section else []))
    numbers = reader.read(row, "references", reader.many(_reference_number)) or []
    block.add(DCTERMS.source, *_sources(reader, row, section, numbers))
    block.add(PROV.wasDerivedFrom, *(reader.read(row, "sentences", reader.many(_known(r))) or []))
    block.add(SENTENCE, *_lang(reader.read(row, "sentence_zh", str, True), "zh"),
              *_lang(reader.read(row, "sentence_en", str, True), "en"))
    block.add(CONFLICT, *(reader.read(row, "conflicts", reader.many(_finding(r, new))) or []))
    block.add(SKOS.editorialNote, *_lang(reader.read(row, "note_en", str), "en"),
              *_lang(reader.read(row, "note_zh", str), "zh"))
    evidence = [CITED if numbers else UNCITED]
    for extra_class in reader.read(row, "evidence", reader.many(term)) or []:
        if extra_class not in evidence:
            evidence.append(extra_class)
    block.add(HAS_EVIDENCE, *evidence)
    return block, extra


def _direction(text: str) -> Literal:
    found = DIRECTIONS.get(_norm(text))
    if found is None:
        raise Unreadable("bad_direction", value=text)
    return Literal(found)


def _aspect(text: str) -> Literal:
    if not _ASPECT.match(text):
        raise Unreadable("bad_aspect", value=text)
    return Literal(text)


def _known(resolver: Resolver) -> Callable[[str], URIRef]:
    """A resource named by CURIE that HODO's sources hold (a sentence of a ledger)."""
    def parse(text: str) -> URIRef:
        iri = resolver.iri(text)
        if iri is None or iri not in resolver.known:
            raise Unreadable("unknown_term", value=text)
        return iri
    return parse


def _sources(reader: Reader, row: Row, section: URIRef | None, numbers: list[int]
             ) -> list[Node]:
    """The entries of the section's article the row cites, or the article itself."""
    if section is None:
        return []
    document = document_of(reader.resolver.graph, section)
    if document is None:
        reader.fail(row, "section", Unreadable("no_document", value=shorten(str(section))))
        return []
    if not numbers:
        return [document]
    found: list[Node] = []
    for number in numbers:
        try:
            found.append(reference(reader.resolver.graph, document, number))
        except Unreadable as error:
            reader.fail(row, "references", error)
    return found


def _quantity_block(subject: URIRef, quantity: Quantity) -> Block:
    block = Block(subject)
    block.add(RDF.type, SCHEMA.QuantitativeValue)
    block.add(MEASURE, quantity.measure)
    if len(quantity.values) == 1:
        block.add(SCHEMA.value, quantity.values[0])
    else:
        block.add(SCHEMA.minValue, quantity.values[0])
        block.add(SCHEMA.maxValue, quantity.values[1])
    if quantity.unit is not None:
        block.add(SCHEMA.unitCode, quantity.unit)
    return block


ID_FORMS: dict[Kind, tuple[re.Pattern[str], str]] = {
    Kind.TERMS: (TERM_ID, "HODO_nnnnnnn"),
    Kind.FINDINGS: (_FINDING_ID, "finding-nnnn"),
}
BUILDERS: dict[Kind, Callable[[Reader, dict[int, URIRef]], list[Block]]] = {
    Kind.TERMS: term_blocks,
    Kind.FINDINGS: finding_blocks,
}


def convert(tables: Sequence[tuple[Table, Kind]], hodo: Graph) -> list[Block]:
    """The blocks of every table: term tables first, so that findings can name new terms.

    Raises:
        TemplateError: a cell cannot be read (every such cell is listed).
    """
    resolver = Resolver(hodo)
    ordered = sorted(tables, key=lambda pair: pair[1] is not Kind.TERMS)
    errors: list[CellError] = []
    readers: list[tuple[Reader, Kind, dict[int, URIRef]]] = []
    for table, kind in ordered:
        aliases, table_errors = _aliases(table, kind)
        errors.extend(table_errors)
        reader = Reader(table, resolver, aliases)
        pattern, shown = ID_FORMS[kind]
        readers.append((reader, kind, _ids(reader, kind, _new_id(resolver, pattern, shown))))
    if errors:
        raise TemplateError(errors)
    blocks: list[Block] = []
    for reader, kind, ids in readers:
        blocks.extend(BUILDERS[kind](reader, ids))
        errors.extend(reader.errors)
    if errors:
        raise TemplateError(sorted(errors, key=lambda e: (e.table, e.row or 0)))
    return blocks


def to_graph(blocks: Iterable[Block]) -> Graph:
    """The triples of the blocks."""
    graph = Graph()
    for block in blocks:
        for predicate, objects in block.statements:
            for obj in objects:
                graph.add((block.subject, predicate, obj))
    return graph


def check(new: Graph, hodo: Graph) -> ValidationReport:
    """SHACL shapes and QC rules over HODO with the new triples.

    Raises:
        TemplateInvalid: a violation (warnings are allowed, as in ``hodo validate``).
    """
    merged = Graph()
    for graph in (hodo, new):
        for triple in graph:
            merged.add(triple)
    report = validate(merged, [Check.SHACL, Check.QC])
    if not report.conforms:
        violations = tuple(p for p in report.problems if p.severity is Severity.VIOLATION)
        raise TemplateInvalid(ValidationReport(violations), merged)
    return report


#: Lines longer than this put each object on a line of its own.
_WIDTH = 96
_LOCAL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


def _name(iri: str, used: set[str]) -> str:
    """A CURIE where the local part needs no escaping, else the full IRI."""
    curie = ("obo:" + iri[len(str(OBO)):]) if iri.startswith(str(OBO)) else shorten(iri)
    prefix, colon, local = curie.partition(":")
    if colon and prefix in PREFIXES and _LOCAL.match(local):
        used.add(prefix)
        return curie
    return f"<{iri}>"


def _object(node: Node, used: set[str]) -> str:
    if isinstance(node, URIRef):
        return _name(str(node), used)
    if isinstance(node, Literal) and node.datatype == XSD.boolean:
        return "true" if node.value else "false"
    if isinstance(node, Literal) and node.datatype in (XSD.integer, XSD.decimal):
        return str(node)
    assert isinstance(node, Literal)
    if node.datatype is not None:
        used.add("xsd")
    return node.n3(_XSD_ONLY.namespace_manager)


_XSD_ONLY = Graph(bind_namespaces="none")
_XSD_ONLY.bind("xsd", XSD)


def to_turtle(blocks: Sequence[Block], sources: Sequence[str]) -> str:
    """Turtle in the style of the hand-written modules: a header, the prefixes used, then
    each resource with ``a`` first, one predicate a line, objects joined with commas."""
    used: set[str] = set()
    bodies = []
    for block in blocks:
        lines = []
        for predicate, objects in block.statements:
            verb = "a" if predicate == RDF.type else _name(str(predicate), used)
            line = f"{verb} " + " , ".join(_object(o, used) for o in objects)
            if len(line) > _WIDTH:  # one object a line, as the hand-written modules wrap
                line = f"{verb} " + " ,\n        ".join(_object(o, used) for o in objects)
            lines.append(line)
        bodies.append(_name(str(block.subject), used) + " " + " ;\n    ".join(lines) + " .\n")
    names = ", ".join(sources)
    header = (f"# Written by hodo {__version__} template from {names}.\n"
              "# Checked with HODO's SHACL shapes and QC rules; edit the table and write it "
              "again, or edit this file by hand.\n\n")
    prefixes = "".join(f"@prefix {p}: <{PREFIXES[p]}> .\n" for p in PREFIXES if p in used)
    return header + prefixes + "\n" + "\n".join(bodies)
