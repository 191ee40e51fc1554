"""Data for the scale part: generated triples of HODO's shape, and MONDO / ChEBI.

Generated data is deterministic by seed: classes with an English and a Chinese label, a
synonym, a definition and a parent in a random tree, and findings-like reified statements with
subject, object, polarity, a cited reference and an article section, in HODO's vocabulary, so
the release's queries run on it unchanged. Files are written once under .cache/bench/data.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from bench.queries import Pool
from hodo.pipeline.imports import SCOPE_PROPERTIES, TermRecord, iri_of, read_cellxgene

BASE = "https://w3id.org/hodo/bench/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL_CLASS = "<http://www.w3.org/2002/07/owl#Class>"
LABEL, SUBCLASS = f"<{RDFS}label>", f"<{RDFS}subClassOf>"
SYNONYM = "<http://www.geneontology.org/formats/oboInOwl#hasExactSynonym>"
DEFINITION = "<http://purl.obolibrary.org/obo/IAO_0000115>"
DEPRECATED = "<http://www.w3.org/2002/07/owl#deprecated>"
HODO = "https://w3id.org/hodo/"
FINDING = f"<{HODO}HODO_0000110>"
OBAN = "http://purl.org/oban/"
SOURCE = "<http://purl.org/dc/terms/source>"
WHEEL = "cellxgene-ontology-guide==1.11.1"
SYLLABLES = ("hep", "at", "os", "teo", "dys", "tro", "phy", "chol", "est", "ase", "vit", "min",
             "cal", "ci", "um", "fib", "ro", "sis", "liv", "er", "bone", "mar", "row", "cyt",
             "in", "ox", "ide", "lip", "id", "gen", "ic", "path", "ol", "ogy", "ren", "al")
HANZI = "肝骨病症维生素钙磷代谢胆汁淤积性硬化纤维化炎症激素缺乏密度减少质疏松折风险营养吸收障碍"


def literal(text: str, lang: str | None = None) -> str:
    """An N-Triples literal."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r"))
    return f'"{escaped}"' + (f"@{lang}" if lang else "")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _generated_triples(target: int, seed: int) -> Iterator[tuple[str, dict[str, list[str]]]]:
    """Lines of N-Triples until ``target`` triples; the second item names pool candidates."""
    rng = random.Random(seed)
    sections = [f"<{HODO}article-section-{k}>" for k in range(1, 11)]
    references = [f"<{BASE}reference-{k}>" for k in range(1, 101)]
    for k, ref in enumerate(references, 1):
        yield f"{ref} <{HODO}HODO_0000206> {literal(str(k))} .", {}
    count, i = len(references), 0
    while count < target:
        term = f"<{BASE}C{i:08d}>"
        en = f"{_word(rng)} {_word(rng)} {i}"
        zh = "".join(rng.choice(HANZI) for _ in range(rng.randint(2, 4))) + str(i)
        lines = [f"{term} {RDF_TYPE} {OWL_CLASS} .", f"{term} {LABEL} {literal(en, 'en')} .",
                 f"{term} {LABEL} {literal(zh, 'zh')} .",
                 f"{term} {SYNONYM} {literal(_word(rng) + ' ' + _word(rng), 'en')} .",
                 f"{term} {DEFINITION} {literal('A generated class: ' + en, 'en')} ."]
        if i:
            lines.append(f"{term} {SUBCLASS} <{BASE}C{rng.randrange(i):08d}> .")
        if i % 4 == 3:
            lines += _finding(i, rng, sections, references)
        yield "\n".join(lines), {"term": [term[1:-1]], "en": [en], "zh": [zh]}
        count += len(lines)
        i += 1


def _finding(i: int, rng: random.Random, sections: list[str], references: list[str]
             ) -> list[str]:
    f = f"<{BASE}F{i:08d}>"
    return [f"{f} {RDF_TYPE} {FINDING} .",
            f"{f} <{OBAN}association_has_subject> <{BASE}C{rng.randrange(i):08d}> .",
            f"{f} <{OBAN}association_has_object> <{BASE}C{rng.randrange(i):08d}> .",
            f"{f} <{OBAN}association_has_object_property> "
            "<http://purl.obolibrary.org/obo/RO_0002566> .",
            f"{f} <https://w3id.org/biolink/vocab/negated> "
            f"{literal(str(rng.random() < 0.2).lower())}"
            "^^<http://www.w3.org/2001/XMLSchema#boolean> .",
            f"{f} {SOURCE} {rng.choice(references)} .",
            f"{f} <{HODO}HODO_0000202> {rng.choice(sections)} .",
            f"{f} <{HODO}HODO_0000201> {literal('生成的句子' + str(i), 'zh')} .",
            f"{f} {LABEL} {literal(f'generated finding {i}', 'en')} ."]


def generated(power: int, folder: Path, seed: int = 1) -> tuple[Path, int, Pool]:
    """The N-Triples file of about 10**power triples (made once), its size and pool."""
    path = folder / f"generated-1e{power}-seed{seed}.nt"
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        terms, en, zh = [], [], []
        count = 0
        with path.open("w", encoding="utf-8") as out:
            for lines, picks in _generated_triples(10**power, seed):
                out.write(lines + "\n")
                count += lines.count("\n") + 1
                terms += picks.get("term", [])
                en += picks.get("en", [])
                zh += picks.get("zh", [])
        # terms from the second half of the tree: few descendants, a long line of ancestors
        step = max(1, len(terms) // 2 // 200)
        chosen = range(len(terms) // 2, len(terms), step)
        pool = Pool(tuple(terms[k] for k in chosen), tuple(en[k] for k in chosen),
                    tuple(zh[k] for k in chosen), tuple(SYLLABLES[k] + SYLLABLES[k + 1]
                                                        for k in range(0, 30, 2)), big=1000)
        meta.write_text(json.dumps({"triples": count, "pool": asdict(pool)}), encoding="utf-8")
    return path, *_meta(meta)


def _meta(meta: Path) -> tuple[int, Pool]:
    data = json.loads(meta.read_text(encoding="utf-8"))
    pool = Pool(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["pool"].items()})
    return int(data["triples"]), pool


# ---- real ontologies ---------------------------------------------------------------------------

def wheel(cache: Path) -> Path:
    """The cellxgene-ontology-guide wheel, downloaded once with pip."""
    found = sorted(cache.glob("cellxgene_ontology_guide-1.11.1-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d",
                        str(cache)], check=True, stdout=subprocess.DEVNULL)
        found = sorted(cache.glob("cellxgene_ontology_guide-1.11.1-*.whl"))
    return found[-1]


def real(name: str, folder: Path, cache: Path) -> tuple[Path, int, Pool]:
    """MONDO or ChEBI as N-Triples (made once): labels, synonyms, definitions, parents."""
    path = folder / f"{name}.nt"
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        _write_real(name, path, meta, wheel(cache))
    return path, *_meta(meta)


def _write_real(name: str, path: Path, meta: Path, whl: Path) -> None:
    source = read_cellxgene(whl, name.upper())
    count, picks = 0, []
    with path.open("w", encoding="utf-8") as out:
        for curie in sorted(source.terms):
            term = source.terms[curie]
            count += _write_term(out, term, str(iri_of(curie)))
            if term.parents and not term.deprecated:
                picks.append((str(iri_of(curie)), term.label))
    step = max(1, len(picks) // 200)
    chosen = picks[::step][:200]
    words = tuple(dict.fromkeys(w.lower() for _, label in chosen
                                for w in re.findall(r"[A-Za-z]{6,}", label)))[:30]
    pool = Pool(tuple(t for t, _ in chosen), tuple(label for _, label in chosen),
                ("没有中文标签",), words, big=1000)
    meta.write_text(json.dumps({"triples": count, "pool": asdict(pool)}), encoding="utf-8")


def _write_term(out: TextIO, term: TermRecord, iri: str) -> int:
    """One term's lines: its synonyms under the oboInOwl property of their scope."""
    lines = [f"<{iri}> {RDF_TYPE} {OWL_CLASS} .", f"<{iri}> {LABEL} {literal(term.label, 'en')} ."]
    if term.definition:
        lines.append(f"<{iri}> {DEFINITION} {literal(term.definition, 'en')} .")
    lines += [f"<{iri}> <{SCOPE_PROPERTIES[s.scope or 'RELATED']}> {literal(s.text, 'en')} ."
              for s in term.synonyms]
    lines += [f"<{iri}> {SUBCLASS} <{iri_of(p)}> ." for p in term.parents]
    if term.deprecated:
        lines.append(f'<{iri}> {DEPRECATED} "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .')
    out.write("\n".join(lines) + "\n")
    return len(lines)
