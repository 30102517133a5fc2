"""Mobile-originated messages from a CSV file: ``source,destination,text[,delay]``.

A first row whose first cell is ``source`` is a header and skipped. ``delay`` is
the number of seconds to wait before sending the row, counted from the previous
row (from the start of playback for the first); empty means 0. A file with
100,000 rows at ``delay`` 0.001 plays a steady 1,000 MO/s.
"""

from __future__ import annotations

import csv
import math
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
    """A CSV row that cannot be played; names the file, line and column."""

    def __init__(self, path: Path, line: int, column: str, value: str, reason: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.value = value
        self.reason = reason
        super().__init__(f"{path}, line {line}: {column} = {value!r}: {reason}")


_MAX_ADDRESS = 20  # deliver_sm source_addr / destination_addr: 21 octets with the NUL


def read_mo_csv(path: Path) -> list[CsvMo]:
    """Every row of ``path``; raises :class:`MoCsvError` or OSError."""
    rows: list[CsvMo] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, cells in enumerate(csv.reader(handle), 1):
            if not cells or all(not cell.strip() for cell in cells):
                continue
            if number == 1 and cells[0].strip().lower() == "source":
                continue
            if len(cells) not in (3, 4):
                raise MoCsvError(
                    path,
                    number,
                    "row",
                    ",".join(cells)[:80],
                    f"expected 3 or 4 columns (source, destination, text[, delay]), "
                    f"found {len(cells)}",
                )
            source, destination, text = cells[0].strip(), cells[1].strip(), cells[2]
            for column, value in (("source", source), ("destination", destination)):
                if not value or len(value) > _MAX_ADDRESS or not value.isascii():
                    raise MoCsvError(
                        path, number, column, value, f"must be 1-{_MAX_ADDRESS} ASCII characters"
                    )
            delay = 0.0
            if len(cells) == 4 and cells[3].strip():
                try:
                    delay = float(cells[3])
                except ValueError:
                    raise MoCsvError(
                        path, number, "delay", cells[3], "not a number of seconds"
                    ) from None
                if not math.isfinite(delay) or delay < 0:
                    raise MoCsvError(
                        path, number, "delay", cells[3], "must be a finite number >= 0"
                    )
            rows.append(CsvMo(source, destination, text, delay, number))
    return rows
