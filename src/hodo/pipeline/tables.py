"""Curators' tables as rows of text: TSV, CSV and the sheets of an Excel workbook (.xlsx).

Rows are numbered as a spreadsheet shows them (the header is row 1), so that an error can name
the row a curator sees. Blank rows and rows whose first cell starts with ``#`` (comments) are
skipped; cells are stripped of surrounding spaces.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hodo.core.errors import UsageError
from hodo.core.i18n import add_messages, translate

#: The extensions read, and the field separator of the text formats.
DELIMITERS: dict[str, str] = {".tsv": "\t", ".tab": "\t", ".csv": ","}
WORKBOOK = ".xlsx"


add_messages({
    "table_format": {"en": "{path}: not a table HODO reads (give .tsv, .csv or .xlsx)",
                     "zh": "{path}：HODO 无法读取此类表格（请使用 .tsv、.csv 或 .xlsx）"},
    "table_missing": {"en": "{path}: no such file", "zh": "{path}：文件不存在"},
    "table_encoding": {"en": "{path}: not UTF-8 text", "zh": "{path}：不是 UTF-8 文本"},
    "table_unreadable": {"en": "{path}: cannot read: {reason}", "zh": "{path}：无法读取：{reason}"},
    "table_workbook": {"en": "{path}: not an Excel workbook: {reason}",
                       "zh": "{path}：不是 Excel 工作簿：{reason}"},
})


class TableError(UsageError):
    """A table cannot be read at all (missing, not UTF-8, not a workbook); said in either
    language."""

    def __init__(self, key: str, path: Path, reason: object = "") -> None:
        self.key, self.params = key, {"path": str(path), "reason": str(reason)}
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return translate(f"table_{self.key}", lang).format(**self.params)


@dataclass(frozen=True)
class Row:
    """One data row: its number as a spreadsheet shows it, and its cells by header."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Table:
    """A table read from a file (one sheet of a workbook)."""

    name: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]


def read_tables(path: Path) -> list[Table]:
    """Every table in ``path``: one for TSV and CSV, one per non-empty sheet of a workbook.

    Raises:
        TableError: the file cannot be read, or its format is not one of the above.
    """
    suffix = path.suffix.lower()
    if suffix not in DELIMITERS and suffix != WORKBOOK:
        raise TableError("format", path)
    if suffix == WORKBOOK:
        return [t for t in _workbook_tables(path) if t.headers]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise TableError("missing", path) from error
    except UnicodeDecodeError as error:
        raise TableError("encoding", path) from error
    except OSError as error:
        raise TableError("unreadable", path, error.strerror or error) from error
    rows = list(csv.reader(io.StringIO(text), delimiter=DELIMITERS[suffix]))
    return [_table(path.name, rows)]


def _workbook_tables(path: Path) -> Iterator[Table]:
    """The sheets of an .xlsx workbook, each as a table (cell values as text)."""
    import openpyxl  # optional reader, imported where it is needed

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as error:
        raise TableError("missing", path) from error
    except Exception as error:  # zipfile, XML or openpyxl's own errors: not a workbook
        raise TableError("workbook", path, error) from error
    try:
        for sheet in book.worksheets:
            rows = [[_cell_text(value) for value in row]
                    for row in sheet.iter_rows(values_only=True)]
            yield _table(f"{path.name}:{sheet.title}", rows)
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A workbook cell as the text a curator typed: whole numbers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(name: str, rows: Sequence[Sequence[str]]) -> Table:
    """Header and data rows; comment and blank rows are skipped, numbers kept."""
    numbered = [(n, [c.strip() for c in row]) for n, row in enumerate(rows, 1)]
    content = [(n, row) for n, row in numbered
               if any(row) and not (row and row[0].startswith("#"))]
    if not content:
        return Table(name, (), ())
    _, header = content[0]
    headers = tuple(header)
    body = tuple(Row(n, {h: (row[i] if i < len(row) else "") for i, h in enumerate(headers) if h})
                 for n, row in content[1:])
    return Table(name, tuple(h for h in headers if h), body)
