"""The FEC checker (tests/fec_audit.py) is itself tested: a clean file,
written by hand, passes; each defect an auditor's tool looks for, put into
it one at a time, is reported — so a FEC the checker finds clean is clean
for a reason, not because the checker looks at nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from tests.fec_audit import COLUMNS, audit

pytestmark = pytest.mark.unit

NAME = "732829320FEC20261130.txt"
START, END = date(2026, 11, 1), date(2026, 11, 30)
Row = list[str]


def rows() -> list[Row]:
    """A clean sales and bank journal: an invoice, its payment, a credit note."""

    def line(journal: str, number: str, day: str, account: str, label: str, piece: str, debit: str, credit: str,
             aux: tuple[str, str] = ("", "")) -> Row:  # fmt: skip
        name = {"VT": "Journal des ventes", "BQ": "Journal de banque"}[journal]
        return [journal, name, number, day, account, label, *aux, piece, day, f"Pièce {piece}", debit, credit,
                "", "", day, "", ""]  # fmt: skip

    client = ("C001", "Société Dupont")
    return [
        line("VT", "VT000001", "20261105", "411000", "Clients", "F-1", "1200,00", "0,00", client),
        line("VT", "VT000001", "20261105", "706000", "Prestations de services", "F-1", "0,00", "1000,00"),
        line("VT", "VT000001", "20261105", "445710", "TVA collectée", "F-1", "0,00", "200,00"),
        line("BQ", "BQ000001", "20261110", "512000", "Banque", "VIR-7", "1200,00", "0,00"),
        line("BQ", "BQ000001", "20261110", "411000", "Clients", "VIR-7", "0,00", "1200,00", client),
        line("VT", "VT000002", "20261120", "411000", "Clients", "AV-1", "0,00", "120,00", client),
        line("VT", "VT000002", "20261120", "706000", "Prestations de services", "AV-1", "100,00", "0,00"),
        line("VT", "VT000002", "20261120", "445710", "TVA collectée", "AV-1", "20,00", "0,00"),
    ]


def file_of(body: list[Row], header: Row | None = None, encoding: str = "iso8859_15") -> bytes:
    lines = ["\t".join(header or COLUMNS), *("\t".join(row) for row in body)]
    return "".join(f"{line}\r\n" for line in lines).encode(encoding)


def changed(change: Callable[[list[Row]], None]) -> bytes:
    body = rows()
    change(body)
    return file_of(body)


def col(name: str) -> int:
    return COLUMNS.index(name)


def test_given_a_clean_sales_and_bank_journal_when_audited_then_nothing_is_found():
    assert audit(file_of(rows()), NAME, start=START, end=END) == []


def test_line_feeds_alone_and_no_final_line_end_are_read_too():
    text = file_of(rows()).decode("iso8859_15").replace("\r\n", "\n").rstrip("\n")

    assert audit(text.encode("iso8859_15"), NAME, start=START, end=END) == []


def _set(row: int, name: str, value: str) -> Callable[[list[Row]], None]:
    def change(body: list[Row]) -> None:
        body[row][col(name)] = value

    return change


def _set_amounts(row: int, debit: str, credit: str) -> Callable[[list[Row]], None]:
    def change(body: list[Row]) -> None:
        body[row][col("Debit")], body[row][col("Credit")] = debit, credit

    return change


def _renumber(rows_at: range, number: str) -> Callable[[list[Row]], None]:
    def change(body: list[Row]) -> None:
        for row in rows_at:
            body[row][col("EcritureNum")] = number

    return change


def _redate(rows_at: range, day: str) -> Callable[[list[Row]], None]:
    def change(body: list[Row]) -> None:
        for row in rows_at:
            for name in ("EcritureDate", "PieceDate", "ValidDate"):
                body[row][col(name)] = day

    return change


def _swap(first: int, second: int) -> Callable[[list[Row]], None]:
    def change(body: list[Row]) -> None:
        body[first], body[second] = body[second], body[first]

    return change


DEFECTS: dict[str, tuple[Callable[[list[Row]], None], str]] = {
    "a date that is no day": (_set(0, "EcritureDate", "20261131"), "line 2: EcritureDate '20261131' is not a day"),
    "an ISO date": (_set(1, "PieceDate", "2026-11-05"), "line 3: PieceDate '2026-11-05' is not a day"),
    "no validation date": (_set(2, "ValidDate", ""), "line 4: ValidDate is empty"),
    "a validation date after the period": (_set(2, "ValidDate", "20261201"), "line 4: ValidDate 20261201 is outside"),
    "an entry after the period": (_redate(range(5, 8), "20261201"), "line 7: EcritureDate 20261201 is outside"),
    "an entry before the period": (_redate(range(3), "20261031"), "line 2: EcritureDate 20261031 is outside"),
    "an account not starting with three digits": (_set(1, "CompteNum", "A06000"), "CompteNum 'A06000'"),
    "an account of two digits": (_set(1, "CompteNum", "70"), "CompteNum '70'"),
    "no account label": (_set(1, "CompteLib", ""), "line 3: CompteLib is empty"),
    "no piece reference": (_set(3, "PieceRef", ""), "line 5: PieceRef is empty"),
    "an auxiliary account without its label": (_set(0, "CompAuxLib", ""), "line 2: an auxiliary account needs"),
    "an amount with a dot": (_set_amounts(3, "1200.00", "0,00"), "line 5: Debit '1200.00' is not written 1234,56"),
    "an amount without decimals": (_set_amounts(3, "1200", "0,00"), "line 5: Debit '1200' is not written"),
    "an amount with a thousands separator": (_set_amounts(3, "1 200,00", "0,00"), "Debit '1 200,00' is not"),
    "an amount with three decimals": (_set_amounts(4, "0,00", "1200,000"), "Credit '1200,000' is not"),
    "a negative amount": (_set_amounts(6, "0,00", "-100,00"), "line 8: Credit '-100,00' is negative"),
    "a debit and a credit on one line": (_set_amounts(1, "10,00", "1010,00"), "line 3: both a debit and a credit"),
    "a line of nothing": (_set_amounts(2, "0,00", "0,00"), "line 4: neither a debit nor a credit"),
    "an unbalanced entry": (_set_amounts(2, "0,00", "200,01"), "line 2: entry VT VT000001 is not balanced"),
    "a gap in a journal's numbers": (_renumber(range(5, 8), "VT000003"), "entry VT000003 follows number 1"),
    "a number taken twice": (_renumber(range(5, 8), "VT000001"), "entry VT VT000001 resumes after"),
    "a journal not starting from where it stands": (_renumber(range(3, 5), "BQ"), "'BQ' has no sequence number"),
    "entries out of date order": (_redate(range(5, 8), "20261102"), "of 20261102 comes after one of 20261105"),
    "an entry's lines on two dates": (_redate(range(2, 3), "20261106"), "line 4: EcritureDate '20261106' differs"),
    "an entry's lines on two pieces": (_set(4, "PieceRef", "VIR-8"), "line 6: PieceRef 'VIR-8' differs"),
    "an entry's lines apart": (_swap(2, 3), "entry VT VT000001 resumes after other entries' lines"),
    "a journal with two labels": (_set(4, "JournalLib", "Banque"), "line 6: journal BQ is labelled 'Banque'"),
    "a control character in a label": (_set(0, "CompteLib", "Clients\x0b"), "line 2: control character"),
    "a carriage return inside a line": (_set(0, "EcritureLib", "Pièce\rF-1"), "line 2: control character"),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_given_one_defect_when_audited_then_it_is_reported(defect):
    change, expected = DEFECTS[defect]

    problems = audit(changed(change), NAME, start=START, end=END)

    assert any(expected in problem for problem in problems), problems


def test_an_unbalanced_entry_unbalances_the_file_too():
    problems = audit(changed(_set_amounts(2, "0,00", "200,01")), NAME, start=START, end=END)

    assert "the file is not balanced: total debit 2520.00 ≠ total credit 2520.01" in problems


def test_a_file_that_balances_only_as_a_whole_still_has_its_unbalanced_entries_reported():
    def shifted(body: list[Row]) -> None:  # a cent moved from one entry to another: the totals still agree
        body[2][col("Credit")] = "200,01"
        body[4][col("Credit")] = "1199,99"

    problems = audit(changed(shifted), NAME, start=START, end=END)

    assert [p for p in problems if "not balanced" in p] == [
        "line 2: entry VT VT000001 is not balanced: debit 1200.00 ≠ credit 1200.01",
        "line 5: entry BQ BQ000001 is not balanced: debit 1200.00 ≠ credit 1199.99",
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (list(COLUMNS[:3]) + [COLUMNS[4], COLUMNS[3]] + list(COLUMNS[5:]), "the header is not the 18 columns"),
        (list(COLUMNS[:17]), "the header is not the 18 columns"),
        ([name.lower() for name in COLUMNS], "the header is not the 18 columns"),
    ],
    ids=["two columns swapped", "a column missing", "names in lower case"],
)
def test_given_a_wrong_header_when_audited_then_it_is_reported(header, expected):
    problems = audit(file_of(rows(), header=header), NAME, start=START, end=END)

    assert any(problem.startswith(f"line 1: {expected}") for problem in problems), problems


def test_a_header_separated_by_semicolons_is_not_the_header():
    data = file_of(rows()).replace(b"\t".join(c.encode() for c in COLUMNS), ";".join(COLUMNS).encode())

    assert any(problem.startswith("line 1: the header") for problem in audit(data, NAME, start=START, end=END))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda body: body[1].pop(), "line 3: 17 fields, not 18"),
        (lambda body: body[1].append(""), "line 3: 19 fields, not 18"),
        (lambda body: body[1].__setitem__(col("EcritureLib"), "Pièce\tF-1"), "line 3: 19 fields, not 18"),
    ],
    ids=["a field missing", "a field too many", "a tab in a label"],
)
def test_given_a_line_not_of_18_fields_when_audited_then_it_is_reported(change, expected):
    assert expected in audit(changed(change), NAME, start=START, end=END)


def test_an_empty_line_is_reported():
    data = file_of(rows()).replace(b"\r\nBQ", b"\r\n\r\nBQ", 1)

    assert "line 5: empty" in audit(data, NAME, start=START, end=END)


def test_a_file_in_utf_8_is_not_iso_8859_15():
    problems = audit(file_of(rows(), encoding="utf-8"), NAME, start=START, end=END)

    assert "the file is UTF-8 text, not ISO 8859-15" in problems


def test_a_byte_order_mark_is_not_iso_8859_15():
    problems = audit(b"\xef\xbb\xbf" + file_of(rows()), NAME, start=START, end=END)

    assert "the file starts with a UTF-8 byte order mark: not ISO 8859-15" in problems


def test_accents_and_the_euro_sign_of_latin_9_are_clean():
    body = rows()
    body[0][col("CompAuxLib")] = "Zoë Søren Œuvres €"

    assert audit(file_of(body), NAME, start=START, end=END) == []


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("732829320FEC20261130.csv", "is not {SIREN}FEC{YYYYMMDD}.txt"),
        ("73282932FEC20261130.txt", "is not {SIREN}FEC{YYYYMMDD}.txt"),
        ("FR732829320FEC20261130.txt", "is not {SIREN}FEC{YYYYMMDD}.txt"),
        ("732829320fec20261130.txt", "is not {SIREN}FEC{YYYYMMDD}.txt"),
        ("732829320FEC2026-11-30.txt", "is not {SIREN}FEC{YYYYMMDD}.txt"),
        ("732829320FEC20261131.txt", "the file name's closing date '20261131' is not a day"),
        ("732829320FEC20261231.txt", "the file name's closing date 2026-12-31 is not the period's end 2026-11-30"),
    ],
)
def test_given_a_wrong_file_name_when_audited_then_it_is_reported(filename, expected):
    problems = audit(file_of(rows()), filename, start=START, end=END)

    assert any(expected in problem for problem in problems), problems


def test_without_a_period_the_dates_are_checked_as_days_only():
    body = rows()
    body[0][col("EcritureDate")] = "20261131"

    problems = audit(file_of(body), NAME)

    assert any("is not a day" in problem for problem in problems)
    assert audit(file_of(rows()), "732829320FEC20991231.txt") == []


def test_an_empty_file_has_no_header():
    assert audit(b"", NAME) == ["the file is empty: no header"]
