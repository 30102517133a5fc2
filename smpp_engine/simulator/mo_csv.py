"""Mobile-originated messages from a CSV file: ``source,destination,text[,delay]``.

A first row whose first cell is ``source`` is a header and skipped. ``delay`` is
the number of seconds to wait before sending the row, counted from the previous
row (from the start of playback for the first); empty means 0. A file with
100,000 rows at ``delay`` 0.001 plays a steady 1,000 MO/s. The same rows can be
given as text (:func:`parse_mo_csv`, the control API's ``csv_text``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CsvMo:
    """One row of an MO CSV file."""

    source: str
    destination: str
    text: str
    delay: float
    line: int


class MoCsvError(ValueError):
    """A CSV row that cannot be played; names the file (or ``<text>``), line and column."""

    def __init__(self, path: Path | str, line: int, column: str, value: str, reason: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.value = value
        self.reason = reason
        super().__init__(f"{path}, line {line}: {column} = {value!r}: {reason}")

    def shown(self) -> str:
        """Line, column and reason, without the value (the control API quotes no file)."""
        return f"line {self.line}: {self.column}: {self.reason}"


_MAX_ADDRESS = 20  # deliver_sm source_addr / destination_addr: 21 octets with the NUL


def read_mo_csv(path: Path) -> list[CsvMo]:
    """Every row of ``path``; raises :class:`MoCsvError` or OSError."""
    with path.open(newline="", encoding="utf-8") as handle:
        try:
            return _rows(handle, path)
        except UnicodeDecodeError as exc:
            raise MoCsvError(path, 0, "file", "", f"not UTF-8 (at byte {exc.start})") from None


def parse_mo_csv(text: str) -> list[CsvMo]:
    """Every row of CSV ``text``; raises :class:`MoCsvError` (path ``<text>``)."""
    return _rows(io.StringIO(text, newline=""), "<text>")


def _rows(lines: Iterable[str], path: Path | str) -> list[CsvMo]:
    rows: list[CsvMo] = []
    reader = csv.reader(lines)
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:  # a field over the csv module's limit, a stray quote
            raise MoCsvError(path, number, "row", "", f"not CSV: {exc}") from None
        row = _row(cells, number, path)
        if row is not None:
            rows.append(row)


def _row(cells: list[str], number: int, path: Path | str) -> CsvMo | None:
    if not cells or all(not cell.strip() for cell in cells):
        return None
    if number == 1 and cells[0].strip().lower() == "source":
        return None
    if len(cells) not in (3, 4):
        raise MoCsvError(
            path,
            number,
            "row",
            ",".join(cells)[:80],
            f"expected 3 or 4 columns (source, destination, text[, delay]), found {len(cells)}",
        )
    source, destination, text = cells[0].strip(), cells[1].strip(), cells[2]
    for column, value in (("source", source), ("destination", destination)):
        if not value or len(value) > _MAX_ADDRESS or not _printable_ascii(value):
            raise MoCsvError(
                path, number, column, value, f"must be 1-{_MAX_ADDRESS} printable ASCII characters"
            )
    delay = 0.0
    if len(cells) == 4 and cells[3].strip():
        try:
            delay = float(cells[3])
        except ValueError:
            raise MoCsvError(path, number, "delay", cells[3], "not a number of seconds") from None
        if not math.isfinite(delay) or delay < 0:
            raise MoCsvError(path, number, "delay", cells[3], "must be a finite number >= 0")
    return CsvMo(source, destination, text, delay, number)


def _printable_ascii(value: str) -> bool:
    return value.isascii() and value.isprintable()
