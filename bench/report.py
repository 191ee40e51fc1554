"""The benchmark block of docs/performance.md and the scale plot, from ``latest.json`` alone.

One function (``render``) turns the JSON into the Markdown between the page's bench markers,
so the page can be re-rendered without measuring (``python -m bench --render``) and a test can
check that the page matches the committed JSON. Links in the block are relative to ``docs/``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from bench import proxy

PAGE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START = "<!-- bench:start: written by `make bench` (bench/run.py); do not edit by hand -->"
END = "<!-- bench:end -->"
SERVERS = ("hodo", "oxigraph")
METRICS = {"load_s": "load time", "disk_mib": "disk", "pss_mib": "memory",
           "p50_geomean_ms": "p50 latency"}


def _n(value: Any, digits: int = 2) -> str:
    """A number for a table cell; a dash when missing."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _turns(blocks: int | None) -> str:
    """How the servers took turns in the sequential phase (results before runs were
    interleaved request by request)."""
    if not blocks:
        return "interleaved one after the other"
    return (f"in {blocks} runs of consecutive requests per server, the servers taking turns "
            "(so that neither finds its caches emptied by the other's last request)")


def _latency(row: dict[str, Any] | None) -> str:
    if not row or "p50_ms" not in row:
        return "–"
    return f"{_n(row['p50_ms'])} / {_n(row['p99_ms'])}"


def render(results: dict[str, Any]) -> str:
    """The Markdown between the markers (without them)."""
    parts = [_intro(results)]
    if "release" in results:
        parts += [_servers_table(results), _mix_table(results), _geomeans(results),
                  _errors(results)]
    if "wsgi" in results:
        parts.append(_wsgi_section(results["wsgi"]))
    if "scale" in results:
        parts.append(_scale_section(results["scale"]))
    if "pages" in results:
        parts.append(_pages_section(results["pages"]))
    if "proxy" in results:
        parts.append(proxy.section(results["proxy"]))
    return "\n\n".join(p for p in parts if p)


def _kib(value: int | None) -> str:
    return "–" if value is None else f"{value / 1024:,.1f}"


def _pages_section(pages: dict[str, Any]) -> str:
    """Bytes on the wire per kind of page, first and repeat visit, with gzip and without."""
    lines = ["| page | requests | first visit, gzip KiB | first visit, uncompressed KiB | "
             "repeat visit, gzip KiB | repeat visit, uncompressed KiB | of which scripts, "
             "first visit gzip KiB |", "|---|---|---|---|---|---|---|"]
    for page in pages["pages"]:
        scripts = page["kinds"].get("script", {}).get("gzip")
        lines.append(
            f"| {page['name']} (`{page['path']}`) | {page['requests']} | "
            f"{_kib(page['first']['gzip'])} | {_kib(page['first']['identity'])} | "
            f"{_kib(page['repeat']['gzip'])} | {_kib(page['repeat']['identity'])} | "
            f"{_kib(scripts) if scripts else '0'} |")
    kinds = sorted({k for page in pages["pages"] for k in page["kinds"]})
    repeat = sum(page["repeat_requests"] for page in pages["pages"])
    statuses: dict[str, int] = {}
    for page in pages["pages"]:
        for status, n in page["repeat_statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return (f"**Page weight** ({pages.get('date', '')}, commit `{pages.get('git_commit', '')}`;"
            " `python -m bench --pages` measures only this). The bytes a browser moves to show "
            "each kind of page: Chromium opens the page once to learn every request it makes "
            "(the HTML, its scripts and style sheets, any fonts, its icon, and what its scripts "
            "fetch); "
            "each request is then sent again as the browser sent it, with `Accept-Encoding: "
            "gzip` and with `identity`, and the answer counted as it crosses the wire (status "
            "line, headers and body, HTTP/1.1, no TLS). A repeat visit comes after the HTML's "
            "`max-age`: assets, served at digest URLs as `immutable`, come from the browser's "
            "cache; the rest is asked again with `If-None-Match` "
            f"({repeat} requests, answered {_status_list(statuses)}). Kinds of response seen: "
            f"{', '.join(kinds)}.\n\n" + "\n".join(lines))


def _status_list(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n} × {status}" for status, n in sorted(statuses.items())) or "none"


def _wsgi_section(wsgi: dict[str, Any]) -> str:
    """HODO alone under each HTTP server and number of web workers (``--wsgi``)."""
    lines = ["| server | web workers | request | regime | p50 / p99 ms | req/s | PSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for row in wsgi["rows"]:
        lines.append(f"| {row['server']} | {row['workers']} | {row['query']} | "
                     f"{row['regime']} | {_n(row['p50_ms'])} / {_n(row['p99_ms'])} | "
                     f"{row['rps']:,.0f} | {_n(row.get('pss_mib'), 1)} |")
    default = wsgi["choices"][0]
    return (f"**Web server.** HODO alone ({wsgi.get('date', '')}), under each HTTP server and "
            f"number of web workers `hodo serve --server S --workers N` offers, on the same "
            f"requests and client load (`python -m bench --wsgi`); the default is "
            f"{default[0]} with {default[1]} web workers.\n\n" + "\n".join(lines))


def _intro(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    quick = " **A `--quick` run: the numbers are not measurements.**" if results.get(
        "quick") else ""
    return (
        f"Measured with `make bench` (`python -m bench`) on {m['date']}, commit "
        f"`{m['git_commit']}`: {m['cores']} cores, Python {m['python']}, pyoxigraph "
        f"{m['pyoxigraph']}, {m['oxigraph']}.{quick} HODO's production server (`hodo serve "
        f"--workers {s['workers']}` with its defaults: web workers, query worker processes, "
        "every limit on; its "
        "per-address rate limit raised out of reach, since the benchmark is one address, "
        "so the limiter runs but never refuses) and the Oxigraph server (`oxigraph serve "
        "--union-default-graph` on the on-disk store `oxigraph load` makes from `dist/hodo.nq`, "
        "where HODO answers from its copy of the release in memory) run side by side on "
        "loopback, on the same release data and the same queries (`bench/queries/*.rq`, with "
        "the same `Accept` header to both); before timing, both must give the same number of "
        "rows for each query. Two regimes: **warm** repeats one request, so any cache may "
        "answer it; **distinct** makes every request new to every cache (another term, or a "
        "`LIMIT` above the answer's size: same answer, same cost, different text). Latency: "
        f"{s['requests']} sequential requests per query and regime to each server, "
        f"{_turns(s.get('blocks'))}, on keep-alive connections where the server keeps "
        f"them ({_reuse(results)}); p50 / p99 in ms. Throughput: "
        f"{s['clients']} client processes for {_n(s['duration'], 1)} s per server, in "
        f"{s['rounds']} rounds alternating the servers. Ratios are HODO / Oxigraph: above 1 "
        "for latency, or below 1 for req/s, HODO is slower. Requests that did not answer 200 "
        "are counted apart as errors, never in the figures. Every number is in "
        "[bench/results/latest.json](../bench/results/latest.json).")


def _reuse(results: dict[str, Any]) -> str:
    """Requests per connection in the sequential phase, per server."""
    if "release" not in results:
        return "requests per connection not measured"
    totals = {name: [0, 0] for name in SERVERS}
    for query in results["release"]["queries"]:
        for row in query["regimes"].values():
            for name in SERVERS:
                if name in row and row[name].get("connections"):
                    totals[name][0] += row[name]["n"] + row[name]["sequential_errors"]
                    totals[name][1] += row[name]["connections"]
    return ", ".join(f"{_label(name)} {_n(r / c if c else None, 1)} requests per connection"
                     for name, (r, c) in totals.items())


def _servers_table(results: dict[str, Any]) -> str:
    info = results["release"]["servers"]
    lines = ["| server | start-up s | processes | PSS after warm-up MiB | PSS after load MiB |",
             "|---|---|---|---|---|"]
    for name in SERVERS:
        row = info[name]
        lines.append(f"| {_label(name)} | {_n(row['startup_s'])} | {row['processes']} | "
                     f"{_n(row['pss_mib']['after_warmup'], 1)} | "
                     f"{_n(row['pss_mib']['after_load'], 1)} |")
    return ("Start-up is spawn to first answer; memory is PSS summed over each server's "
            "process tree (HODO: the server's main process, its web workers and their query "
            "workers).\n\n" + "\n".join(lines))


def _label(name: str) -> str:
    return "HODO" if name == "hodo" else "Oxigraph"


def _mix_table(results: dict[str, Any]) -> str:
    lines = ["| query | regime | HODO p50/p99 ms | Oxigraph p50/p99 ms | ratio p50 | HODO req/s "
             "| Oxigraph req/s | ratio req/s |", "|---|---|---|---|---|---|---|---|"]
    for query in results["release"]["queries"]:
        for regime, row in query["regimes"].items():
            lines.append(
                f"| {query['title']} | {regime} | {_latency(row.get('hodo'))} | "
                f"{_latency(row.get('oxigraph'))} | {_n(row['ratio_p50'])} | "
                f"{_n(row['hodo']['rps'], 0)} | "
                f"{_n(row['oxigraph']['rps'], 0) if 'oxigraph' in row else '–'} | "
                f"{_n(row['ratio_rps'])} |")
    pool = results["release"]["pool"]
    return ("\n".join(lines) + f"\n\nTerm pages, search and autocomplete are HODO's own: no "
            f"Oxigraph figure. Their distinct requests cycle through {pool['pages']} pages "
            f"(the {pool['terms']} HODO classes with both labels and a parent, in English and "
            "Chinese) and through words and prefixes of their labels; in the throughput "
            "phase the pages repeat once the pool is spent." + _kept(results))


def _kept(results: dict[str, Any]) -> str:
    """When rows were kept from an earlier run (``--sparql-only``), which and from when."""
    kept = {q["title"]: q["date"] for q in results["release"]["queries"] if q.get("date")}
    if not kept:
        return ""
    return (" The rows of " + ", ".join(kept) + " were measured on "
            + ", ".join(sorted(set(kept.values()))) + " (a later `--sparql-only` run "
            "measured the SPARQL rows anew and kept them).")


def _geomeans(results: dict[str, Any]) -> str:
    means = results["release"]["geomean"]
    lines = ["| regime | geometric mean of ratio p50 | geometric mean of ratio req/s |",
             "|---|---|---|"]
    lines += [f"| {regime} | {_n(m['p50'])} | {_n(m['rps'])} |" for regime, m in means.items()]
    pages = {q["name"]: q["regimes"] for q in results["release"]["queries"] if not q["both"]}
    summary = "; ".join(
        f"{name} p50 {_n(r['warm']['hodo'].get('p50_ms'))} ms warm, "
        f"{_n(r['distinct']['hodo'].get('p50_ms'))} ms distinct" for name, r in pages.items())
    return ("Over the SPARQL queries both servers answer:\n\n" + "\n".join(lines)
            + (f"\n\nHODO only: {summary}." if summary else ""))


def _errors(results: dict[str, Any]) -> str:
    counts = {name: 0 for name in SERVERS}
    for query in results["release"]["queries"]:
        for row in query["regimes"].values():
            for name in SERVERS:
                counts[name] += row.get(name, {}).get("errors", 0)
    mismatches = [q["name"] for q in results["release"]["queries"]
                  if q["answers"] and not q["answers"]["match"]]
    text = (f"Errors (answers other than 200): HODO {counts['hodo']}, Oxigraph "
            f"{counts['oxigraph']}.")
    where = [f"{q['name']} {regime} ({_statuses(row['hodo'])})"
             for q in results["release"]["queries"] for regime, row in q["regimes"].items()
             if row["hodo"].get("errors")]
    if where:
        text += " HODO's, by query, regime and status: " + "; ".join(where) + "."
    if mismatches:
        text += " Row counts differed for: " + ", ".join(mismatches) + "."
    return text


def _statuses(row: dict[str, Any]) -> str:
    """``503: 4, 500: 1`` from the sequential and throughput counts of one row."""
    total: dict[str, int] = {}
    for part in (row.get("error_statuses", {}), row.get("throughput_error_statuses", {})):
        for status, count in part.items():
            total[status] = total.get(status, 0) + count
    return ", ".join(f"HTTP {s}: {n}" if s != "0" else f"no answer: {n}"
                     for s, n in sorted(total.items())) or "status not recorded"


def _scale_section(scale: dict[str, Any]) -> str:
    lines = ["| data | triples | load s HODO / Oxigraph | disk MiB HODO / Oxigraph | "
             "PSS MiB HODO / Oxigraph | p50 ms geo-mean HODO / Oxigraph | HODO within 1 s | "
             "Oxigraph within 1 s |", "|---|---|---|---|---|---|---|---|"]
    for d in scale["datasets"]:
        h, o = d["hodo"], d["oxigraph"]
        lines.append(
            f"| {d['name']} | {d['triples']:,} | {_n(h.get('load_s'), 1)} / "
            f"{_n(o.get('load_s'), 1)} | {_n(h.get('disk_mib'), 1)} / "
            f"{_n(o.get('disk_mib'), 1)} | {_n(h.get('pss_mib'), 1)} / "
            f"{_n(o.get('pss_mib'), 1)} | {_n(h.get('p50_geomean_ms'))} / "
            f"{_n(o.get('p50_geomean_ms'))} | {_within(h)} | {_within(o)} |")
    notes = [f"{d['name']}: HODO {d['hodo']['unavailable']}" for d in scale["datasets"]
             if d["hodo"].get("unavailable")]
    growth = "; ".join(
        f"{_label(server)} {METRICS.get(metric, metric)} ∝ N^{_n(k)}"
        for server, metrics in scale.get("growth", {}).items()
        for metric, k in metrics.items() if k is not None)
    when = f" (measured on {scale['date']})" if scale.get("date") else ""
    return (f"**Scale**{when}. Generated data of HODO's shape (classes with English and Chinese "
            "labels, synonyms, a subclass tree, findings; deterministic by seed) and real "
            "ontologies (MONDO, ChEBI from `cellxgene-ontology-guide`), each loaded beside the "
            "release (`hodo load FILE --store DIR` against `oxigraph load`) and served "
            "(`hodo serve --store DIR` against `oxigraph serve`); the same mix, with answers "
            "capped at 1,000 rows, in fresh variants, for at most "
            f"{_n(scale.get('budget_s'), 0)} s per query and server. Disk is the store as "
            "served (`hodo load` compacts the store it makes; the Oxigraph server compacts its "
            "store as it opens it); memory is PSS after the queries; latency is the geometric "
            "mean of the p50 of the queries both servers answered; \"within 1 s\" counts the "
            "queries whose first fresh request was answered (200) within a second.\n\n"
            + "\n".join(lines)
            + (f"\n\nHow cost grows with the number of triples N (least-squares slope on the "
               f"generated data, log-log): {growth}." if growth else "")
            + ("\n\n" + "; ".join(notes) + "." if notes else "")
            + "\n\n![Load time, memory and p50 latency against triples, log-log, both servers]"
              "(../bench/results/scale.svg)")


def _within(row: dict[str, Any]) -> str:
    within = row.get("within_1s")
    if not within:
        return "–"
    return f"{sum(within.values())}/{len(within)}"


def write_block(results: dict[str, Any], page: Path = PAGE) -> bool:
    """Replace the block between the markers; False when the markers are missing."""
    text = page.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(text):
        return False
    block = f"{START}\n{render(results)}\n{END}"
    page.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    return True


def committed_block(page: Path = PAGE) -> str:
    """What is between the markers now."""
    text = page.read_text(encoding="utf-8")
    return text.split(START + "\n", 1)[1].split("\n" + END, 1)[0]


# ---- the scale plot -----------------------------------------------------------------------------

PANELS = (("load_s", "load time, s"), ("pss_mib", "memory (PSS), MiB"),
          ("p50_geomean_ms", "p50 latency (geo-mean), ms"))
COLOURS = {"hodo": "#c0392b", "oxigraph": "#2471a3"}


def scale_svg(scale: dict[str, Any]) -> str:
    """Three log-log panels, triples against load time, memory and latency, both servers."""
    width, height = 300, 240
    panels = [_panel(scale["datasets"], key, title, i * width, width, height)
              for i, (key, title) in enumerate(PANELS)]
    legend = "".join(
        f'<rect x="{20 + 110 * k}" y="{height + 8}" width="12" height="12" fill="{c}"/>'
        f'<text x="{36 + 110 * k}" y="{height + 19}">{_label(name)}</text>'
        for k, (name, c) in enumerate(COLOURS.items())) + (
        f'<text x="250" y="{height + 19}">line: generated data; ring: a real ontology</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * 3}" height="{height + 30}" '
            f'viewBox="0 0 {width * 3} {height + 30}" font-family="sans-serif" font-size="11">\n'
            "<!-- generated by python -m bench from bench/results/latest.json; do not edit -->\n"
            f'<rect width="100%" height="100%" fill="white"/>\n{"".join(panels)}{legend}\n</svg>\n')


def _panel(datasets: list[dict[str, Any]], key: str, title: str, x0: int, width: int,
           height: int) -> str:
    """One panel: generated data as a line per server, real ontologies as labelled rings."""
    points = [(d["triples"], d[name][key], name, d["name"]) for d in datasets
              for name in COLOURS if d[name].get(key)]
    xs = [p[0] for p in points] or [1, 10]
    ys = [p[1] for p in points] or [1, 10]
    box = (x0 + 50, 25, width - 65, height - 60)
    sx = _log_scale(min(xs), max(xs), box[0], box[0] + box[2])
    sy = _log_scale(min(ys), max(ys), box[1] + box[3], box[1])
    out = [f'<text x="{x0 + width / 2}" y="15" text-anchor="middle">{title}</text>',
           f'<rect x="{box[0]}" y="{box[1]}" width="{box[2]}" height="{box[3]}" fill="none" '
           'stroke="#888"/>',
           f'<text x="{box[0] + box[2] / 2}" y="{height - 8}" text-anchor="middle">triples</text>']
    out += _ticks(min(xs), max(xs), sx, box, "x") + _ticks(min(ys), max(ys), sy, box, "y")
    for name, colour in COLOURS.items():
        line = sorted((x, y) for x, y, n, d in points if n == name and d.startswith("generated"))
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                   'stroke-width="2"/>')
        out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>'
                for x, y in line]
    for x, y, name, data in points:
        if not data.startswith("generated"):
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="white" '
                       f'stroke="{COLOURS[name]}" stroke-width="2"/>'
                       f'<text x="{sx(x) + 6:.1f}" y="{sy(y) - 5:.1f}" font-size="9" '
                       f'fill="{COLOURS[name]}">{data}</text>')
    return "\n".join(out) + "\n"


def _log_scale(lo: float, hi: float, a: float, b: float) -> Any:
    """A function from values to pixels on a log axis from ``lo`` to ``hi``, padded."""
    llo, lhi = math.log10(lo) - 0.1, math.log10(hi) + 0.1
    return lambda v: a + (math.log10(v) - llo) / (lhi - llo) * (b - a)


def _ticks(lo: float, hi: float, scale: Any, box: tuple[int, int, int, int], axis: str
           ) -> list[str]:
    out = []
    for power in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        value = 10.0 ** power
        if not lo / 1.3 <= value <= hi * 1.3:
            continue
        label = f"1e{power}" if abs(power) > 2 else f"{value:g}"
        p = scale(value)
        if axis == "x":
            out.append(f'<text x="{p:.1f}" y="{box[1] + box[3] + 14}" '
                       f'text-anchor="middle">{label}</text>')
        else:
            out.append(f'<text x="{box[0] - 4}" y="{p + 4:.1f}" text-anchor="end">{label}</text>')
    return out
