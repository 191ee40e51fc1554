"""Schemathesis against HODO's own OpenAPI document, through the Flask app (WSGI, no socket).

Every operation of ``/openapi.json`` gets requests generated from its description, valid ones
and (where the description says enough to make them) invalid ones, and each answer is checked:
never a server error, a status the document lists for the operation, a media type it lists,
and a body that matches the schema it gives. A failure here is a bug in the app or in the
document; either is fixed, never excluded. Derandomized with a bounded number of examples per
operation, so a run is repeatable and takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hodo.engine.store import Release
from hodo.web.openapi import document

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Examples per operation and generation mode.
EXAMPLES = 12
#: Operations whose every request is expensive by design (a reasoner run), given fewer.
EXPENSIVE = {"POST /validate": 3}


def _can_be_invalid(operation: dict[str, Any]) -> bool:
    """Whether the description constrains anything a request could get wrong: a body, a
    required query parameter, or a parameter that is not free text. (A path or optional text
    parameter accepts every string, so no request to the operation is invalid.)"""
    return "requestBody" in operation or any(
        (p.get("required") and p["in"] != "path") or p["schema"].get("type") != "string"
        or "enum" in p["schema"] for p in operation.get("parameters", []))


OPERATIONS = sorted((method.upper(), path, mode)
                    for path, item in document()["paths"].items()
                    for method, operation in item.items()
                    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                    if mode is GenerationMode.POSITIVE or _can_be_invalid(operation))


@pytest.fixture(scope="module")
def api(release: Release) -> Iterator[schemathesis.BaseSchema]:
    """The schema as the running app serves it, bound to that app."""
    from hodo.web import create_app

    # The conformance of the answers is checked here, not the validation deadline (tested in
    # test_validate_web): a reasoner run over the release must not meet it on a busy machine.
    app: Flask = create_app({"TESTING": True, "HODO_RATE_LIMIT": 0,
                             "HODO_VALIDATE_TIMEOUT": 120}, release=release)
    yield schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS,
                         ids=[f"{m} {p} {mode.value}" for m, p, mode in OPERATIONS])
def test_operation(api: schemathesis.BaseSchema, method: str, path: str,
                   mode: GenerationMode) -> None:
    operation = api[path][method]
    examples = EXPENSIVE.get(f"{method} {path}", EXAMPLES)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        # the body as the schema describes it: gzip, which the test client would not undo, is
        # a transport matter (tests/test_compression.py)
        response = case.call(headers={"Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)

    run()
