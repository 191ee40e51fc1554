"""One hierarchy of the errors HODO reports: each carries its exit code for the command line and
its HTTP status for the web, and a message of one line that names the file, line or setting.

``hodo`` prints ``error: <message>`` and exits with :attr:`HodoError.exit_code`
(``hodo.cli``); the web's error handler answers :attr:`HodoError.http_status`
(``hodo.web.errors``). Exit codes: 0 success, 1 the data has problems, 2 unusable input.
"""

from __future__ import annotations

#: The data has problems (violations, inconsistency).
EXIT_PROBLEMS = 1
#: Unusable input: a file that cannot be read or parsed, a bad query or setting, no release.
EXIT_INPUT = 2


class HodoError(Exception):
    """An error HODO reports rather than a bug; subclasses set the two codes.

    An instance may carry its own status (``status=``), as a remote server's failure does.
    """

    exit_code: int = EXIT_INPUT
    http_status: int = 500

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.http_status = status


class UsageError(HodoError):
    """The input cannot be used as given: a file, a query, a parameter or a setting."""

    http_status = 400


class ProblemsFound(HodoError):
    """The input was read, and the data it holds has problems (violations, inconsistency)."""

    exit_code = EXIT_PROBLEMS
    http_status = 422


class NotAvailable(HodoError):
    """Something needed is missing or cannot answer now: the release, the reasoner, a worker,
    a remote server."""

    http_status = 503
