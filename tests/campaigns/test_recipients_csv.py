"""Recipients from CSV files: every row accounted for, bad rows reported by line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpp_engine.campaigns import (
    CampaignSettingError,
    DuplicateRecipient,
    Recipient,
    RecipientImport,
    RecipientsFileError,
    RecipientsRefusedError,
    RowError,
    read_recipients,
)

from .strategies import msisdns


def read(text: str, **kwargs: object) -> RecipientImport:
    return read_recipients(io.StringIO(text, newline=""), **kwargs)  # type: ignore[arg-type]


def test_rows_become_recipients_with_their_fields_and_lines() -> None:
    report = read(
        "MSISDN,amount,due_date\n+44 7700 900123, 12.50 ,31.12.2026\n359888123456,7.00,01.01.2027\n"
    )
    assert report.recipients == [
        Recipient("447700900123", {"amount": "12.50", "due_date": "31.12.2026"}, 2),
        Recipient("359888123456", {"amount": "7.00", "due_date": "01.01.2027"}, 3),
    ]
    assert report.columns == ("amount", "due_date")
    assert report.msisdn_column == "MSISDN"
    assert (report.rows, report.blank_rows, report.errors, report.duplicates) == (2, 0, [], [])


def test_a_phone_column_in_any_case_is_the_msisdn_column() -> None:
    report = read("name,Phone\nAnn,447700900123\n")
    assert report.recipients == [Recipient("447700900123", {"name": "Ann"}, 2)]
    assert report.msisdn_column == "Phone"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    d = delimiter
    text = f'msisdn{d}"name, full"{d}amount\n447700900123{d}"Doe, Ann"{d}1,50\n'
    if delimiter == ",":
        text = text.replace("1,50", '"1,50"')
    report = read(text)
    assert report.delimiter == delimiter
    assert report.recipients[0].fields == {"name, full": "Doe, Ann", "amount": "1,50"}


def test_a_semicolon_file_with_decimal_commas() -> None:
    # The continental Excel export: ";" between cells, "," inside amounts.
    report = read("msisdn;amount\n447700900123;12,50\n")
    assert report.delimiter == ";"
    assert report.recipients[0].fields == {"amount": "12,50"}


def test_utf8_with_and_without_bom_from_a_path(tmp_path: Path) -> None:
    body = "msisdn,name\n447700900123,Анна\n"
    for name, data in (("bom.csv", b"\xef\xbb\xbf" + body.encode()), ("plain.csv", body.encode())):
        path = tmp_path / name
        path.write_bytes(data)
        report = read_recipients(path)
        assert report.msisdn_column == "msisdn"
        assert report.recipients == [Recipient("447700900123", {"name": "Анна"}, 2)]
        assert read_recipients(str(path)).recipients == report.recipients


def test_a_bom_left_in_a_text_stream_is_ignored() -> None:
    assert read("\ufeffmsisdn\n447700900123\n").msisdn_column == "msisdn"


def test_windows_line_endings() -> None:
    report = read("msisdn,name\r\n447700900123,Ann\r\n359888123456,Bob\r\n")
    assert [r.line for r in report.recipients] == [2, 3]
    assert report.recipients[1].fields == {"name": "Bob"}


def test_bad_rows_are_reported_by_line_and_skipped() -> None:
    report = read(
        "msisdn,name,amount\n"
        "447700900123,Ann,1\n"  # 2 good
        "44770090O123,Bob,2\n"  # 3 letter O
        "359888123456,,3\n"  # 4 empty required name
        "359888123457,Cy\n"  # 5 too few cells
        "359888123458,Di,4,extra\n"  # 6 too many cells
        ",Ed,5\n"  # 7 empty msisdn
        "123,,6\n",  # 8 two problems
        required=("name", "amount"),
    )
    assert [r.line for r in report.recipients] == [2]
    assert report.errors == [
        RowError(3, "msisdn", "44770090O123", "contains letters"),
        RowError(4, "name", "", "empty, and the template needs it"),
        RowError(5, "row", "359888123457,Cy", "expected 3 cells, found 2"),
        RowError(6, "row", "359888123458,Di,4,extra", "expected 3 cells, found 4"),
        RowError(7, "msisdn", "", "empty"),
        RowError(8, "msisdn", "123", "too short: 3 digits, at least 8"),
        RowError(8, "name", "", "empty, and the template needs it"),
    ]
    assert report.bad_lines == [3, 4, 5, 6, 7, 8]
    assert report.rows == 7


def test_empty_cells_of_fields_the_template_does_not_need_are_kept() -> None:
    report = read("msisdn,name,note\n447700900123,Ann,\n", required=("name",))
    assert report.recipients[0].fields == {"name": "Ann", "note": ""}


def test_refuse_lists_every_bad_row_not_only_the_first() -> None:
    rows = "".join(f"44770090{i:04d}x,n\n" for i in range(30))
    with pytest.raises(RecipientsRefusedError) as info:
        read("msisdn,name\n447700900123,Ann\n" + rows, on_error="refuse")
    error = info.value
    assert [e.line for e in error.errors] == list(range(3, 33))
    assert error.field == "rows"
    assert error.value == 30
    assert error.report.recipients[0].line == 2
    assert "line 3:" in str(error)
    assert "and 10 more" in str(error)


def test_refuse_without_bad_rows_returns_the_report() -> None:
    report = read("msisdn\n447700900123\n447700900123\n", on_error="refuse")
    assert len(report.recipients) == 1
    assert report.duplicates == [DuplicateRecipient(3, "447700900123", 2)]


def test_duplicates_keep_the_first_and_are_reported() -> None:
    report = read(
        "msisdn,name\n"
        "+44 7700 900123,Ann\n"
        "447700900124,Bob\n"
        "0044-7700-900123,Ann again\n"
        "07700 900124,Bob again\n",
        default_country_code="44",
    )
    assert [(r.line, r.fields["name"]) for r in report.recipients] == [(2, "Ann"), (3, "Bob")]
    assert report.duplicates == [
        DuplicateRecipient(4, "447700900123", 2),
        DuplicateRecipient(5, "447700900124", 3),
    ]


def test_a_bad_row_does_not_hide_a_later_good_row_with_the_same_number() -> None:
    report = read("msisdn,name\n447700900123,\n447700900123,Ann\n", required=("name",))
    assert [r.line for r in report.recipients] == [3]
    assert report.duplicates == []
    assert report.bad_lines == [2]


def test_blank_rows_are_counted_not_reported() -> None:
    report = read("msisdn,name\n\n447700900123,Ann\n,\n  ,  \n")
    assert (report.rows, report.blank_rows, report.errors) == (1, 3, [])


def test_a_quoted_line_break_keeps_later_line_numbers_right() -> None:
    report = read('msisdn,address\n447700900123,"1 High St\nLondon"\nbad,x\n')
    assert report.recipients[0].fields == {"address": "1 High St\nLondon"}
    assert report.errors == [RowError(4, "msisdn", "bad", "contains letters")]


def test_a_malformed_row_is_shortened_in_the_report() -> None:
    report = read("msisdn,name\n447700900123," + ",".join(["x" * 10] * 20) + "\n")
    (error,) = report.errors
    assert error.field == "row"
    assert len(error.value) == 80
    assert error.value.endswith("...")


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("", "header", "header row is required"),
        ("\n447700900123\n", "header", "header row is required"),
        ("number,name\n447700900123,Ann\n", "header", "no 'msisdn' or 'phone' column"),
        ("msisdn,phone\n1,2\n", "header", "more than one"),
        ("msisdn,name,name\n", "header", "twice"),
        ("msisdn,,name\n", "header", "column 2 has no name"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(text: str, field: str, reason: str) -> None:
    with pytest.raises(RecipientsFileError) as info:
        read(text)
    assert info.value.field == field
    assert info.value.line == 1
    assert reason in info.value.reason


def test_a_template_field_without_a_column_is_refused_with_a_hint() -> None:
    with pytest.raises(RecipientsFileError) as info:
        read("msisdn,Amount\n447700900123,5\n", required=("Amount", "amount", "due"))
    assert info.value.value == ["amount", "due"]
    assert "'amount' (the file has 'Amount')" in info.value.reason
    assert "'due'" in info.value.reason


def test_the_number_column_is_not_a_template_field() -> None:
    with pytest.raises(RecipientsFileError, match="number column is not a template field"):
        read("msisdn,name\n447700900123,Ann\n", required=("msisdn",))


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    # Past the text reader's first chunk, so the line has to be found, not guessed.
    lines = ["msisdn,name"] + [f"4477009{i:05d},Ann" for i in range(2000)]
    lines[1500] = "447700999999,Анна"
    path = tmp_path / "cp1251.csv"
    data = "\n".join(lines).encode("utf-8").replace("Анна".encode(), "Анна".encode("cp1251"))
    path.write_bytes(data)
    with pytest.raises(RecipientsFileError) as info:
        read_recipients(path)
    assert (info.value.line, info.value.field) == (1501, "file")
    assert "UTF-8" in info.value.reason


def test_a_file_whose_header_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes("msisdn,имя\n".encode("cp1251"))
    with pytest.raises(RecipientsFileError) as info:
        read_recipients(path)
    assert (info.value.line, info.value.field) == (1, "file")


def test_an_unreadable_csv_is_a_file_error() -> None:
    # A cell past the csv module's field size limit: an unclosed quote swallowing the file.
    text = 'msisdn,name\n447700900123,"' + "x" * (csv.field_size_limit() + 1) + "\n"
    with pytest.raises(RecipientsFileError) as info:
        read(text)
    assert (info.value.line, info.value.field) == (2, "file")


def test_a_bad_policy_or_country_code_is_refused_before_reading() -> None:
    with pytest.raises(CampaignSettingError) as info:
        read("msisdn\n", on_error="ignore")
    assert (info.value.field, info.value.value) == ("on_error", "ignore")
    with pytest.raises(ValueError, match="country code"):
        read("msisdn\n", default_country_code="044")


# Properties: parsing what csv.writer wrote gives back the rows; every row is
# accounted for exactly once.

_header_names = st.lists(
    st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
        lambda n: n not in ("msisdn", "phone")
    ),
    max_size=4,
    unique=True,
)
_cells = st.text(
    st.characters(exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), min_size=1, max_size=12
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    names=_header_names,
    numbers=st.lists(msisdns, max_size=20, unique=True),
    delimiter=st.sampled_from([",", ";", "\t"]),
    bom=st.booleans(),
    data=st.data(),
)
def test_what_csv_writer_wrote_reads_back(
    names: list[str], numbers: list[str], delimiter: str, bom: bool, data: st.DataObject
) -> None:
    msisdn_at = data.draw(st.integers(0, len(names)))
    header = [*names]
    header.insert(msisdn_at, "MSISDN")
    rows = [
        dict(
            zip(
                names,
                data.draw(st.lists(_cells, min_size=len(names), max_size=len(names))),
                strict=True,
            )
        )
        for _ in numbers
    ]
    out = io.StringIO(newline="")
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for number, values in zip(numbers, rows, strict=True):
        cells = [values[n] for n in names]
        cells.insert(msisdn_at, "+" + number)
        writer.writerow(cells)
    report = read(out.getvalue(), required=names)
    assert report.errors == []
    assert report.columns == tuple(names)
    assert [(r.msisdn, dict(r.fields)) for r in report.recipients] == list(
        zip(numbers, rows, strict=True)
    )
    if names:
        assert report.delimiter == delimiter


_row_kinds = st.sampled_from(
    ["good", "dup", "letters", "short", "empty_field", "few", "many", "blank"]
)


@given(st.lists(st.tuples(_row_kinds, msisdns), max_size=40), st.sampled_from(["skip", "refuse"]))
def test_every_row_is_a_recipient_an_error_a_duplicate_or_blank(
    rows: list[tuple[str, str]], on_error: str
) -> None:
    lines = ["msisdn,name"]
    used: list[str] = []
    expected_bad: list[int] = []
    expected_dups: list[int] = []
    for line, (kind, number) in enumerate(rows, 2):
        if kind == "dup" and used:
            lines.append(f"{used[0]},again")
            expected_dups.append(line)
            continue
        if kind in ("good", "dup"):
            if number in used:
                expected_dups.append(line)
            used.append(number)
            lines.append(f"{number},x")
            continue
        if kind == "blank":
            lines.append("")
            continue
        expected_bad.append(line)
        lines.append(
            {
                "letters": f"{number}a,x",
                "short": "1234,x",
                "empty_field": f"{number},",
                "few": number,
                "many": f"{number},x,y",
            }[kind]
        )
    text = "\n".join(lines) + "\n"
    try:
        report = read(text, required=("name",), on_error=on_error)
    except RecipientsRefusedError as exc:
        assert on_error == "refuse"
        assert sorted({e.line for e in exc.errors}) == expected_bad
        report = exc.report
    else:
        assert on_error == "skip" or not expected_bad
    assert report.bad_lines == expected_bad
    assert [d.line for d in report.duplicates] == expected_dups
    assert report.rows == len(report.recipients) + len(report.bad_lines) + len(report.duplicates)
    assert report.rows + report.blank_rows == len(rows)
    assert len({r.msisdn for r in report.recipients}) == len(report.recipients)
