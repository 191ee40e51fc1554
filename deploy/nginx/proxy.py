#!/usr/bin/env python3
"""nginx as a caching, load-balancing reverse proxy in front of ``hodo serve`` nodes.

    proxy.py render --listen 80 --node 10.0.0.11:8000 --node 10.0.0.12:8000 \\
        --cache /var/cache/nginx/hodo > /etc/nginx/conf.d/hodo.conf
    proxy.py run --prefix /tmp/hodo-proxy --listen 127.0.0.1:8080 \\
        --node 127.0.0.1:8001 --node 127.0.0.1:8002

``render`` fills in the template ``hodo.conf`` beside this file and prints it; ``run`` writes it
and a main configuration (``nginx.conf``) into a folder of its own (configuration, cache,
temporary files, logs: no root-owned path) and becomes nginx, in the foreground: stop it with
SIGTERM (at once) or SIGQUIT (once the requests in flight are answered). The standard library
only, so any Python 3 runs it. Bad options: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import math
import os
import pwd
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "hodo.conf"
MAIN = HERE / "nginx.conf"
#: where Debian's package installs nginx, which is not on an unprivileged user's PATH
DEBIAN_NGINX = "/usr/sbin/nginx"
FIELD = re.compile(r"@([A-Z_]+)@")
ADDRESS = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$")
PORT_ONLY = re.compile(r"^\d{1,5}$")
SIZE = re.compile(r"^\d+[kmgKMG]?$")
ORIGIN = re.compile(r"^(?:\*|https?://[A-Za-z0-9.-]+(?::\d{1,5})?)?$")
#: What a node lets scripts of other origins read of an answer (``hodo.web.ops``; a test
#: checks the two agree).
EXPOSED = "Retry-After, Content-Language, Content-Location, Link, ETag"


class UsageError(Exception):
    """A bad option; the message is the one line shown."""


def fill(template: str, fields: dict[str, str]) -> str:
    """``template`` with every ``@NAME@`` replaced; a field left unfilled is an error (so a
    template that grows a field cannot be half-rendered)."""
    missing = sorted(set(FIELD.findall(template)) - set(fields))
    if missing:
        raise UsageError(f"the template needs {', '.join(missing)}")
    return FIELD.sub(lambda m: fields[m.group(1)], template)


def upstream_servers(nodes: Sequence[str], fail_timeout: int = 2) -> str:
    """The ``server`` lines of the upstream block, one per node."""
    for node in nodes:
        if not ADDRESS.match(node):
            raise UsageError(f"--node must be HOST:PORT, not {node!r}")
    return "\n".join(f"    server {node} max_fails=1 fail_timeout={fail_timeout}s;"
                     for node in nodes)


def query_limit(rate: int, burst: int, cors_origin: str = "*") -> dict[str, str]:
    """The fields of the per-client query limit: ``rate`` queries a minute per client address,
    across every node, ``burst`` of them at once; none at all when ``rate`` is 0.

    The refusal carries the headers a node's own 429 carries: ``cors_origin`` as
    ``Access-Control-Allow-Origin`` (as ``HODO_CORS_ORIGIN``; empty for none), so that a query
    page on another origin can read it, and the security headers.
    """
    if rate < 0 or burst < 1:
        raise UsageError(f"--query-rate must be 0 or more and --query-burst 1 or more, not "
                         f"{rate} and {burst}")
    if not ORIGIN.match(cors_origin):
        raise UsageError(f"--cors-origin must be *, an origin such as https://example.org, or "
                         f"empty, not {cors_origin!r}")
    if rate == 0:
        return {"QUERY_LIMIT_ZONE": "# no per-client query limit here (--query-rate 0): each "
                                    "node's own applies",
                "QUERY_LIMIT": "    # no per-client query limit here (--query-rate 0)"}
    wait = math.ceil(60 / rate)
    return {
        "QUERY_LIMIT_ZONE": f"limit_req_zone $hodo_query_client zone=hodo_queries:10m "
                            f"rate={rate}r/m;",
        "QUERY_LIMIT": "\n".join([
            f"    # at most {rate} queries a minute per client address, {burst} at once; over",
            "    # that, 429 in one line with Retry-After, as a node answers",
            f"    limit_req zone=hodo_queries burst={burst} nodelay;",
            "    limit_req_status 429;",
            "    error_page 429 @hodo_limited;",
            "    location @hodo_limited {",
            "        default_type text/plain;",
            f"        add_header Retry-After {wait} always;",
            *_refusal_headers(cors_origin),
            f'        return 429 "too many queries from this address: at most {rate} a minute; '
            f'try again in {wait} s\\n";',
            "    }"])}


def _refusal_headers(cors_origin: str) -> list[str]:
    """``add_header`` lines of the proxy's own refusal (an ``add_header`` in a location drops
    the server's, so each is said here)."""
    cors = [] if not cors_origin else [
        f'        add_header Access-Control-Allow-Origin "{cors_origin}" always;',
        f'        add_header Access-Control-Expose-Headers "{EXPOSED}" always;']
    if cors_origin not in ("", "*"):
        cors.append("        add_header Vary Origin always;")
    return [*cors,
            "        add_header Content-Security-Policy \"default-src 'none'; "
            "frame-ancestors 'none'\" always;",
            "        add_header X-Content-Type-Options nosniff always;",
            "        add_header Referrer-Policy strict-origin-when-cross-origin always;",
            "        add_header X-Frame-Options DENY always;"]


def site(args: argparse.Namespace) -> str:
    """``hodo.conf`` for these options."""
    if not (ADDRESS.match(args.listen) or PORT_ONLY.match(args.listen)):
        raise UsageError(f"--listen must be PORT or HOST:PORT, not {args.listen!r}")
    if not SIZE.match(args.cache_size):
        raise UsageError(f"--cache-size must be a size such as 512m or 2g, not "
                         f"{args.cache_size!r}")
    if not args.node:
        raise UsageError("name at least one --node HOST:PORT")
    for name in ("cache", "access_log"):
        value = str(getattr(args, name))
        if any(c.isspace() or c in ";{}'\"" for c in value):
            raise UsageError(f"--{name.replace('_', '-')} must be a path without spaces, "
                             f"quotes, braces or semicolons, not {value!r}")
    if not re.fullmatch(r"[A-Za-z0-9._*~^$-]+( [A-Za-z0-9._*~^$-]+)*", args.server_name):
        raise UsageError(f"--server-name must be host names separated by spaces, not "
                         f"{args.server_name!r}")
    return fill(SITE.read_text(encoding="utf-8"), {
        "LISTEN": args.listen, "SERVER_NAME": args.server_name,
        "SERVERS": upstream_servers(args.node), "CACHE_PATH": str(args.cache),
        "CACHE_SIZE": args.cache_size, "ACCESS_LOG": str(args.access_log),
        **query_limit(args.query_rate, args.query_burst, args.cors_origin)})


def main_config(prefix: Path, workers: str) -> str:
    """``nginx.conf`` for a run under ``prefix``. Run by root, nginx's workers would switch to
    ``nobody``, who cannot reach a private folder: they run as the user who runs this."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    return fill(MAIN.read_text(encoding="utf-8"), {
        "PREFIX": str(prefix), "WORKERS": workers,
        "USER": f"user {user};" if os.geteuid() == 0 else ""})


def prepare(args: argparse.Namespace) -> Path:
    """Write the configuration into the prefix folder and make its folders; the main
    configuration's path."""
    prefix: Path = args.prefix.resolve()
    if any(c.isspace() or c in ";{}'\"" for c in str(prefix)):
        raise UsageError(f"--prefix must be a path without spaces, quotes, braces or "
                         f"semicolons, not {str(prefix)!r}")
    if not re.fullmatch(r"auto|[1-9]\d{0,2}", args.workers):
        raise UsageError(f"--workers must be auto or a number, not {args.workers!r}")
    for folder in ("conf", "logs", "temp", "cache"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    args.cache = args.cache or prefix / "cache"
    args.access_log = args.access_log or prefix / "logs" / "access.log"
    (prefix / "conf" / "hodo.conf").write_text(site(args), encoding="utf-8")
    main = prefix / "conf" / "nginx.conf"
    main.write_text(main_config(prefix, args.workers), encoding="utf-8")
    return main


def nginx_binary(given: str | None) -> str:
    """The nginx to run: the one named, else the one on PATH, else Debian's."""
    found = given or shutil.which("nginx") or DEBIAN_NGINX
    if not os.access(found, os.X_OK):
        raise UsageError(f"no nginx at {found}: install it (apt-get install nginx) or name "
                         "it with --nginx")
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="proxy.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("render", "run"):
        sub = commands.add_parser(name)
        sub.add_argument("--listen", default="8080", help="PORT or HOST:PORT (default 8080)")
        sub.add_argument("--node", action="append", default=[],
                         help="a hodo serve node, HOST:PORT; repeat for each")
        sub.add_argument("--server-name", default="_", help="nginx server_name (default _)")
        sub.add_argument("--cache-size", default="1g", help="most the cache may hold")
        sub.add_argument("--cache", type=Path, default=None if name == "run" else
                         Path("/var/cache/nginx/hodo"), help="the cache folder")
        sub.add_argument("--access-log", type=Path, default=None if name == "run" else
                         Path("/var/log/nginx/hodo.access.log"), help="the access log")
        sub.add_argument("--query-rate", type=int, default=600,
                         help="queries a minute per client address, across every node "
                         "(default 600, as HODO_RATE_LIMIT; 0: no limit here)")
        sub.add_argument("--query-burst", type=int, default=60,
                         help="queries a client may send at once (default 60)")
        sub.add_argument("--cors-origin", default="*",
                         help="Access-Control-Allow-Origin of the proxy's own refusals, as the "
                         "nodes' HODO_CORS_ORIGIN (default *; empty for none)")
    run = commands.choices["run"]
    run.add_argument("--prefix", type=Path, required=True,
                     help="nginx's own folder: configuration, cache, temporary files, logs")
    run.add_argument("--workers", default="auto", help="nginx worker processes (default auto)")
    run.add_argument("--nginx", default=None, help="the nginx binary (default: nginx on "
                     f"PATH, else {DEBIAN_NGINX})")
    run.add_argument("--check", action="store_true",
                     help="only test the configuration (nginx -t) and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Render, or write the configuration and exec nginx."""
    args = parse_args(argv)
    try:
        if args.command == "render":
            sys.stdout.write(site(args))
            return 0
        nginx = nginx_binary(args.nginx)
        config = prepare(args)
    except (UsageError, OSError) as error:
        print(f"proxy.py: {error}", file=sys.stderr)
        return 2
    command = [nginx, "-p", str(args.prefix.resolve()), "-c", str(config), "-e", "stderr"]
    if args.check:
        command.append("-t")
    sys.stdout.flush()
    os.execv(nginx, command)


if __name__ == "__main__":
    sys.exit(main())
