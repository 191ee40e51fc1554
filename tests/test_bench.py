"""The benchmark's pipeline end to end on tiny numbers, and the docs/performance.md block it writes.

Nothing here times anything: the quick run only has to produce every figure, with no error,
and ratios that follow from the figures it reports.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bench import client, report
from bench.queries import Pool, hodo_only, sparql_mix

pytestmark = [pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PAGE = ROOT / "docs" / "performance.md"


@pytest.fixture(scope="module")
def quick(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m bench --quick`` with a small scale step and the web-server comparison,
    into a temporary folder."""
    out = tmp_path_factory.mktemp("bench")
    before = (RESULTS / "latest.json").read_bytes() if (RESULTS / "latest.json").exists() else b""
    page = PAGE.read_bytes()
    subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out), "--dist",
                    str(release_dir), "--scale", "4", "--wsgi"], cwd=ROOT, check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    after = (RESULTS / "latest.json").read_bytes() if (RESULTS / "latest.json").exists() else b""
    assert after == before, "a quick run must not touch the committed results"
    assert PAGE.read_bytes() == page, "nor docs/performance.md"
    assert (out / "scale.svg").read_text(encoding="utf-8").startswith("<svg")
    return dict(json.loads((out / "latest.json").read_text(encoding="utf-8")))


def test_every_query_both_regimes_both_servers(quick: dict[str, Any]) -> None:
    rows = {q["name"]: q for q in quick["release"]["queries"]}
    assert set(rows) == {q.name for q in sparql_mix() + hodo_only()}
    for query in sparql_mix():
        row = rows[query.name]
        assert row["answers"]["match"], row["answers"]
        for regime in ("warm", "distinct"):
            for server in ("hodo", "oxigraph"):
                figures = row["regimes"][regime][server]
                assert figures["p50_ms"] > 0 and figures["p99_ms"] >= figures["p50_ms"]
                assert figures["rps"] > 0
    for query in hodo_only():
        assert set(rows[query.name]["regimes"]) == {"warm", "distinct"}


def test_no_errors(quick: dict[str, Any]) -> None:
    for query in quick["release"]["queries"]:
        for regime, row in query["regimes"].items():
            for server in ("hodo", "oxigraph"):
                if server in row:
                    assert row[server]["errors"] == 0, (query["name"], regime, server)


def test_ratios_follow_from_the_figures(quick: dict[str, Any]) -> None:
    for query in quick["release"]["queries"]:
        for row in query["regimes"].values():
            if "oxigraph" not in row:
                assert row["ratio_p50"] is None
                continue
            h, o = row["hodo"], row["oxigraph"]
            assert row["ratio_p50"] == pytest.approx(h["p50_ms"] / o["p50_ms"], abs=1e-3)
            assert row["ratio_rps"] == pytest.approx(h["rps"] / o["rps"], abs=1e-3)


def test_servers_and_scale_reported(quick: dict[str, Any]) -> None:
    for info in quick["release"]["servers"].values():
        assert info["startup_s"] > 0
        assert info["pss_mib"]["after_warmup"] > 0 and info["pss_mib"]["after_load"] > 0
    (dataset,) = quick["scale"]["datasets"]
    assert dataset["oxigraph"]["load_s"] > 0 and dataset["oxigraph"]["pss_mib"] > 0
    hodo = dataset["hodo"]
    assert "unavailable" in hodo or (hodo["load_s"] > 0 and hodo["pss_mib"] > 0)
    assert report.render(quick)


def test_docs_block_is_the_committed_results() -> None:
    results = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    assert report.committed_block() == report.render(results)


def test_every_web_server_choice_answers(quick: dict[str, Any]) -> None:
    from bench.wsgi import CHOICES, QUERIES

    rows = quick["wsgi"]["rows"]
    assert {(r["server"], r["workers"]) for r in rows} == set(CHOICES)
    assert {r["query"] for r in rows} == set(QUERIES)
    for row in rows:
        assert row["errors"] == 0, row
        assert row["p50_ms"] > 0 and row["rps"] > 0 and row["pss_mib"] > 0
    assert "**Web server.**" in report.render(quick)


def _check_pages(pages: dict[str, Any]) -> None:
    from bench.pageweight import PAGES

    assert [(p["name"], p["path"]) for p in pages["pages"]] == list(PAGES)
    for page in pages["pages"]:
        assert page["kinds"]["html"]["n"] == 1, page
        assert 0 < page["first"]["gzip"] < page["first"]["identity"], page
        # assets come from the cache on a repeat visit: only the HTML (and JSON) asked again
        assert page["repeat_requests"] < page["requests"], page
        assert set(page["repeat_statuses"]) == {"304"}, page
        assert 0 < page["repeat"]["gzip"] < page["first"]["gzip"], page


def test_page_weight_of_every_kind_of_page(quick: dict[str, Any]) -> None:
    _check_pages(quick["pages"])
    assert "**Page weight**" in report.render(quick)


def test_pages_option_measures_only_pages_and_keeps_the_rest(
        release_dir: Path, tmp_path: Path) -> None:
    committed = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    kept = {k: v for k, v in committed.items() if k != "pages"}
    (tmp_path / "latest.json").write_text(json.dumps(kept), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bench", "--pages", "--out", str(tmp_path), "--dist",
                    str(release_dir)], cwd=ROOT, check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    merged = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in merged.items() if k != "pages"} == kept
    _check_pages(merged["pages"])


def test_a_sparql_only_run_keeps_the_other_rows_with_their_date() -> None:
    from bench.run import keep_rows

    previous = {"date": "then", "queries": [{"name": "ask"}, {"name": "term-page", "title": "T"}]}
    release = {"queries": [{"name": "ask", "fresh": True}]}
    keep_rows(release, previous)
    assert release["queries"] == [{"name": "ask", "fresh": True},
                                  {"name": "term-page", "title": "T", "date": "then"}]
    assert "The rows of T were measured on then" in report._kept({"release": release})


def test_a_run_without_the_release_part_keeps_the_release_stamp() -> None:
    from bench.run import keep_unmeasured

    previous = {"machine": {"date": "then", "git_commit": "old"}, "release": {"queries": []},
                "scale": {"date": "then"}}
    results = {"machine": {"date": "now", "git_commit": "new"}, "scale": {"date": "now"}}
    keep_unmeasured(results, previous, sparql_only=False)
    assert results == {"machine": {"date": "then", "git_commit": "old"},
                       "release": {"queries": []}, "scale": {"date": "now"}}
    measured = {"machine": {"date": "now"}, "release": {"queries": []}}
    keep_unmeasured(measured, previous, sparql_only=False)
    assert measured["machine"] == {"date": "now"} and measured["scale"] == {"date": "then"}


def test_a_real_ontologys_synonyms_keep_their_scope() -> None:
    from bench.datasets import _write_term
    from hodo.pipeline.imports import Synonym, TermRecord

    out = io.StringIO()
    term = TermRecord("MONDO:0005015", "diabetes mellitus", synonyms=(
        Synonym("diabetes", "EXACT"), Synonym("DM", "RELATED"), Synonym("sugar", None)))
    assert _write_term(out, term, "http://example.org/t") == 5
    oboinowl = "http://www.geneontology.org/formats/oboInOwl#"
    assert f'<{oboinowl}hasExactSynonym> "diabetes"@en .' in out.getvalue()
    assert f'<{oboinowl}hasRelatedSynonym> "DM"@en .' in out.getvalue()
    assert f'<{oboinowl}hasRelatedSynonym> "sugar"@en .' in out.getvalue()


class _Recorder:
    """Stands in for ``bench.client.Client``: answers 200 at once, and notes every request."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, target: Any) -> None:
        self.target = target
        self.connections = 1

    def get(self, path: str, accept: str) -> Any:
        self.sent.append((self.target.name, path))
        return client.Reply(200, b"", 0.001)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("regime", ["warm", "distinct"])
def test_each_server_gets_runs_of_requests_taking_turns(
        regime: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs, not single requests taking turns: a request to the other server between two of
    one server's would leave it cold caches; the order turns every round."""
    monkeypatch.setattr(client, "Client", _Recorder)
    monkeypatch.setattr(_Recorder, "sent", [])
    query = next(q for q in sparql_mix() if q.both)
    targets = [client.Target("hodo", 1), client.Target("oxigraph", 2)]
    pool = Pool(("http://example.org/a",), ("a",), ("甲",), ("w",))
    latency = client.sequential(targets, query, pool, regime, 10, 100)

    assert {name: row["n"] for name, row in latency.items()} == {"hodo": 10, "oxigraph": 10}
    # 10 requests each in 4 runs of 3, 3, 2 and 2, the first server turning every round
    h, o = "hodo", "oxigraph"
    assert [name for name, _ in _Recorder.sent] == (
        [h] * 3 + [o] * 3 + [o] * 3 + [h] * 3 + [h] * 2 + [o] * 2 + [o] * 2 + [h] * 2)
    per_server = {name: [path for n, path in _Recorder.sent if n == name]
                  for name in ("hodo", "oxigraph")}
    texts = [path.split("?", 1)[1] for path in per_server["hodo"]]
    assert texts == [path.split("?", 1)[1] for path in per_server["oxigraph"]], \
        "both servers are sent the same texts"
    assert len(set(texts)) == (1 if regime == "warm" else 10)


class _SlowRecorder(_Recorder):
    """Like ``_Recorder``, but each answer takes 20 ms."""

    def get(self, path: str, accept: str) -> Any:
        time.sleep(0.02)
        return super().get(path, accept)


def test_each_server_has_a_budget_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow query at scale: the server that takes the first turn must not spend the time the
    other has, or the other is never measured."""
    monkeypatch.setattr(client, "Client", _SlowRecorder)
    monkeypatch.setattr(_Recorder, "sent", [])
    query = next(q for q in sparql_mix() if q.both)
    targets = [client.Target("hodo", 1), client.Target("oxigraph", 2)]
    pool = Pool(("http://example.org/a",), ("a",), ("甲",), ("w",))
    latency = client.sequential(targets, query, pool, "distinct", 40, 0, budget_s=0.05)
    counts = {name: row["n"] for name, row in latency.items()}
    assert 3 <= counts["hodo"] <= 5 and 3 <= counts["oxigraph"] <= 5, counts


def test_scale_latency_compares_the_queries_both_answered() -> None:
    from bench.scale import common_geomeans

    per_query = {"cheap": {"latency": {"hodo": {"p50_ms": 2.0}, "oxigraph": {"p50_ms": 1.0}}},
                 "refused": {"latency": {"hodo": {}, "oxigraph": {"p50_ms": 900.0}}},
                 "also": {"latency": {"hodo": {"p50_ms": 8.0}, "oxigraph": {"p50_ms": 4.0}}}}
    assert common_geomeans(per_query, ["hodo", "oxigraph"]) == {"hodo": 4.0, "oxigraph": 2.0}
    assert common_geomeans(per_query, ["oxigraph"]) == {"oxigraph": 15.326}
