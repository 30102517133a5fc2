"""Campaign recipients from a CSV file: one MSISDN column plus template fields.

The first row is the header. The MSISDN column is called ``msisdn`` or ``phone``
(any case); every other column is a template field, named by its header. The
file is UTF-8, with or without a byte order mark, and the delimiter is ``,``,
``;`` or tab, whichever the header line holds most of (outside quotes; ``,``
on a tie or when there is none). Cells are stripped of surrounding spaces.

Problems with the file as a whole (no header, no MSISDN column, a template field
without a column, text that is not UTF-8) raise :class:`RecipientsFileError`.
Problems with a row are :class:`RowError` entries, by line: a malformed MSISDN,
an empty value for a required field, too many or too few cells. A row can have
several. With ``on_error="skip"`` the good rows are returned with the errors;
with ``"refuse"`` :class:`RecipientsRefusedError` lists every bad row. A repeated
MSISDN keeps its first good row; the others are reported as duplicates. Blank
rows (no cell with anything in it) are counted, not reported. So every data row
ends up in exactly one place: ``rows == len(recipients) + len(bad_lines) +
len(duplicates)``.

The file is read row by row; only the result is held in memory. (A file that
turns out not to be UTF-8 is read once more, whole, to find the line at fault.)
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Final, Literal, TextIO

from .errors import CampaignError, CampaignSettingError
from .msisdn import MsisdnError, check_country_code, normalise_msisdn
from .recipients import DuplicateRecipient, Recipient

OnError = Literal["skip", "refuse"]

MSISDN_COLUMNS: Final = ("msisdn", "phone")
DELIMITERS: Final = (",", ";", "\t")
_SHOWN_ERRORS: Final = 20  # in a refusal's message; the exception carries all of them
_SHOWN_ROW: Final = 80  # characters of a malformed row quoted back


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one row: ``field`` is the column name, or ``row`` for the cell count."""

    line: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field} = {self.value!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RecipientImport:
    """The outcome of reading a recipients file.

    ``columns`` are the template-field columns in file order (the MSISDN column,
    ``msisdn_column``, is not among them). ``rows`` counts data rows that are not
    blank; ``blank_rows`` those that are.
    """

    recipients: list[Recipient]
    errors: list[RowError]
    duplicates: list[DuplicateRecipient]
    columns: tuple[str, ...]
    msisdn_column: str
    delimiter: str
    rows: int
    blank_rows: int

    @property
    def bad_lines(self) -> list[int]:
        """The lines with at least one error, in file order."""
        return sorted({error.line for error in self.errors})


class RecipientsFileError(CampaignError):
    """A recipients file that cannot be read at all; ``line`` is where reading stopped."""

    def __init__(self, reason: str, *, line: int, field: str, value: object) -> None:
        self.line = line
        super().__init__(f"line {line}: {reason}", field=field, value=value)


class RecipientsRefusedError(CampaignError):
    """Bad rows under ``on_error="refuse"``; ``errors`` has every one, ``report`` the rest."""

    def __init__(self, report: RecipientImport) -> None:
        self.report = report
        self.errors = report.errors
        lines = report.bad_lines
        shown = "; ".join(str(error) for error in report.errors[:_SHOWN_ERRORS])
        more = len(report.errors) - _SHOWN_ERRORS
        if more > 0:
            shown += f"; and {more} more"
        super().__init__(
            f"file refused, {len(lines)} bad rows: {shown}", field="rows", value=len(lines)
        )


def read_recipients(
    source: str | os.PathLike[str] | TextIO,
    *,
    required: Iterable[str] = (),
    on_error: OnError = "skip",
    default_country_code: str | None = None,
) -> RecipientImport:
    """Recipients from a CSV path (``str`` is a path, as for ``open``) or text stream.

    ``required`` are the fields every row must have a value for (usually the
    template's ``fields``); ``default_country_code`` turns national numbers with a
    leading 0 into international ones. A stream should be opened with
    ``newline=""`` so that quoted cells may hold line breaks.
    """
    if on_error not in ("skip", "refuse"):
        raise CampaignSettingError(
            "on_error is 'skip' or 'refuse'", field="on_error", value=on_error
        )
    if default_country_code is not None:
        check_country_code(default_country_code)
    wanted = tuple(dict.fromkeys(required))
    try:
        if isinstance(source, str | os.PathLike):
            with open(source, encoding="utf-8-sig", newline="") as stream:
                report = _read(stream, wanted, default_country_code)
        else:
            report = _read(source, wanted, default_country_code)
    except _UndecodableError as failure:
        if isinstance(source, str | os.PathLike):
            found = _first_bad_utf8_line(source)
            if found is not None:
                raise _not_utf8(*found, exact=True) from None
        raise _not_utf8(failure.exc, failure.line, exact=False) from None
    if report.errors and on_error == "refuse":
        raise RecipientsRefusedError(report)
    return report


def _sniff(line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=counts.__getitem__)  # the first on a tie: ","
    return best if counts[best] else ","


class _Header:
    def __init__(self, cells: list[str], raw: str, required: tuple[str, ...]) -> None:
        names = [cell.strip() for cell in cells]
        for position, name in enumerate(names, 1):
            if not name:
                raise RecipientsFileError(
                    f"header column {position} has no name", line=1, field="header", value=raw
                )
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise RecipientsFileError(
                "header names a column twice", line=1, field="header", value=repeated
            )
        numbers = [i for i, name in enumerate(names) if name.lower() in MSISDN_COLUMNS]
        if len(numbers) != 1:
            reason = (
                "no 'msisdn' or 'phone' column"
                if not numbers
                else "more than one 'msisdn' or 'phone' column"
            )
            raise RecipientsFileError(reason, line=1, field="header", value=raw)
        self.width = len(names)
        self.msisdn_index = numbers[0]
        self.msisdn_column = names[self.msisdn_index]
        self.fields = [(name, i) for i, name in enumerate(names) if i != self.msisdn_index]
        columns = {name for name, _ in self.fields}
        missing = [name for name in required if name not in columns]
        if missing:
            by_case = {name.lower(): name for name in columns}
            hints = [
                f"{name!r} (the file has {by_case[name.lower()]!r})"
                if name.lower() in by_case
                else f"{name!r} (the number column is not a template field)"
                if name.lower() in MSISDN_COLUMNS
                else repr(name)
                for name in missing
            ]
            raise RecipientsFileError(
                f"no column for template field {', '.join(hints)}",
                line=1,
                field="header",
                value=missing,
            )
        self.required = [(name, i) for name, i in self.fields if name in required]


def _read(stream: TextIO, required: tuple[str, ...], country: str | None) -> RecipientImport:
    try:
        first = stream.readline()
    except UnicodeDecodeError as exc:
        raise _UndecodableError(exc, 1) from None
    # A stream opened as plain "utf-8" keeps the byte order mark.
    first = first.removeprefix("\ufeff")
    if not first.strip():
        raise RecipientsFileError(
            "a header row is required (msisdn or phone, then the template fields)",
            line=1,
            field="header",
            value=first,
        )
    delimiter = _sniff(first)
    reader = csv.reader(chain((first,), stream), delimiter=delimiter)
    try:
        header_cells = next(reader)
    except csv.Error as exc:
        raise _unreadable(exc, 1) from None
    except UnicodeDecodeError as exc:
        raise _UndecodableError(exc, 1) from None
    header = _Header(header_cells, first.rstrip("\r\n"), required)

    recipients: list[Recipient] = []
    errors: list[RowError] = []
    duplicates: list[DuplicateRecipient] = []
    first_lines: dict[str, int] = {}
    rows = blank = 0
    width = header.width
    msisdn_index = header.msisdn_index
    msisdn_column = header.msisdn_column
    field_positions = header.fields
    field_names = [name for name, _ in field_positions]
    required_positions = header.required
    while True:
        # line_num counts the lines read so far; a row whose quoted cell spans
        # lines is reported at the line it starts on.
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            raise _UndecodableError(exc, line) from None
        except csv.Error as exc:
            raise _unreadable(exc, line) from None
        cells = list(map(str.strip, cells))
        if not any(cells):
            blank += 1
            continue
        rows += 1
        if len(cells) != width:
            shown = delimiter.join(cells)
            if len(shown) > _SHOWN_ROW:
                shown = shown[: _SHOWN_ROW - 3] + "..."
            errors.append(
                RowError(line, "row", shown, f"expected {width} cells, found {len(cells)}")
            )
            continue
        bad = False
        raw = cells[msisdn_index]
        msisdn = ""
        if not raw:
            errors.append(RowError(line, msisdn_column, raw, "empty"))
            bad = True
        else:
            try:
                msisdn = normalise_msisdn(raw, default_country_code=country, field=msisdn_column)
            except MsisdnError as exc:
                errors.append(RowError(line, msisdn_column, raw, exc.reason))
                bad = True
        for name, i in required_positions:
            if not cells[i]:
                errors.append(RowError(line, name, "", "empty, and the template needs it"))
                bad = True
        if bad:
            continue
        first_line = first_lines.get(msisdn)
        if first_line is not None:
            duplicates.append(DuplicateRecipient(line, msisdn, first_line))
            continue
        first_lines[msisdn] = line
        del cells[msisdn_index]
        recipients.append(Recipient(msisdn, dict(zip(field_names, cells, strict=True)), line))
    return RecipientImport(
        recipients=recipients,
        errors=errors,
        duplicates=duplicates,
        columns=tuple(name for name, _ in field_positions),
        msisdn_column=msisdn_column,
        delimiter=delimiter,
        rows=rows,
        blank_rows=blank,
    )


class _UndecodableError(Exception):
    def __init__(self, exc: UnicodeDecodeError, line: int) -> None:
        self.exc = exc
        self.line = line


def _unreadable(exc: csv.Error, line: int) -> RecipientsFileError:
    return RecipientsFileError(f"unreadable CSV ({exc})", line=line, field="file", value=None)


def _not_utf8(exc: UnicodeDecodeError, line: int, *, exact: bool) -> RecipientsFileError:
    where = "" if exact else " (at or after this line)"
    return RecipientsFileError(
        f"not UTF-8 text{where}; save the file as CSV UTF-8",
        line=line,
        field="file",
        value=exc.object[exc.start : exc.end],
    )


def _first_bad_utf8_line(path: str | os.PathLike[str]) -> tuple[UnicodeDecodeError, int] | None:
    # Only on the error path: the text reader decodes in chunks, so the line it
    # stopped at can be well before the bad bytes.
    with open(path, "rb") as binary:
        data = binary.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc, data.count(b"\n", 0, exc.start) + 1
    return None
