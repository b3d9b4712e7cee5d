"""A FEC checked as an auditor's tool checks it (the DGFiP's Test Compta
Demat), independently of how the export wrote it: what an inspector's
software would refuse, or flag, in a Fichier des Écritures Comptables
(LPF art. A47 A-1 and its arrêté of 29 July 2013).

`audit(data, filename, start=…, end=…)` returns the problems found, each
a sentence naming the line (1 is the header); an empty list is a clean
file. What it checks:

- the file: ISO 8859-15 text (no byte order mark, no UTF-8, no control
  character but the separators), named `{SIREN}FEC{YYYYMMDD}.txt` (the
  SIREN nine digits, the date the closing day);
- the lines: the first exactly the 18 column names in their order,
  tab-separated; every line 18 fields, no empty line; the mandatory
  fields filled; an auxiliary account with both its number and label;
- the fields: EcritureDate, PieceDate and ValidDate real days YYYYMMDD
  within the period; CompteNum's first three characters digits; Debit
  and Credit written "1234,56" (no sign, no thousands separator, a comma
  and two decimals), never both non-zero on a line, never both zero;
- the entries (JournalCode + EcritureNum): their lines together, on one
  date, one PieceRef and one PieceDate; balanced to the cent; numbered
  per journal as a continuous sequence without a gap, in date order;
- the file as a whole: total debit equals total credit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
    "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
    "ValidDate", "Montantdevise", "Idevise",
)  # fmt: skip
REQUIRED = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "PieceRef",
            "PieceDate", "EcritureLib", "Debit", "Credit", "ValidDate")  # fmt: skip
DATES = ("EcritureDate", "PieceDate", "ValidDate")
FILENAME = re.compile(r"^(?P<siren>[0-9]{9})FEC(?P<closing>[0-9]{8})\.txt$")
AMOUNT = re.compile(r"^[0-9]+,[0-9]{2}$")
SEQUENCE = re.compile(r"([0-9]+)$")
# Control characters a text file of the arrêté cannot hold (tab and the line ends are the separators).
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class _Entry:
    journal: str
    number: str
    first_line: int
    day: str
    piece: str
    piece_day: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    lines: list[int] = field(default_factory=list)


def audit(data: bytes, filename: str, *, start: date | None = None, end: date | None = None) -> list[str]:
    """The problems of the FEC `data` named `filename` for the period
    [start, end] (either left out: not checked); [] when there is none."""
    problems = _filename_problems(filename, end)
    text, encoding_problems = _decoded(data)
    problems += encoding_problems
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the last line's end
    if not lines:
        return [*problems, "the file is empty: no header"]
    header = lines[0].split("\t")
    if tuple(header) != COLUMNS:
        problems.append(f"line 1: the header is not the 18 columns in their order: {header!r}")
    entries: dict[tuple[str, str], _Entry] = {}
    order: list[_Entry] = []
    total_debit = total_credit = Decimal(0)
    previous: tuple[str, str] | None = None
    for number, line in enumerate(lines[1:], 2):
        if line == "":
            problems.append(f"line {number}: empty")
            continue
        fields = line.split("\t")
        if len(fields) != len(COLUMNS):
            problems.append(f"line {number}: {len(fields)} fields, not {len(COLUMNS)}")
            continue
        row = dict(zip(COLUMNS, fields, strict=True))
        problems += _line_problems(number, row, start, end)
        debit, credit = _amount(row["Debit"]), _amount(row["Credit"])
        total_debit += debit or 0
        total_credit += credit or 0
        key = (row["JournalCode"], row["EcritureNum"])
        entry = entries.get(key)
        if entry is None:
            entry = _Entry(key[0], key[1], number, row["EcritureDate"], row["PieceRef"], row["PieceDate"])
            entries[key] = entry
            order.append(entry)
        elif previous != key:
            problems.append(f"line {number}: entry {key[0]} {key[1]} resumes after other entries' lines")
        for name, held in (("EcritureDate", entry.day), ("PieceRef", entry.piece), ("PieceDate", entry.piece_day)):
            if row[name] != held:
                problems.append(f"line {number}: {name} {row[name]!r} differs from its entry's {held!r}")
        entry.debit += debit or 0
        entry.credit += credit or 0
        entry.lines.append(number)
        previous = key
    for entry in order:
        if entry.debit != entry.credit:
            problems.append(f"line {entry.first_line}: entry {entry.journal} {entry.number} is not balanced: "
                            f"debit {entry.debit} ≠ credit {entry.credit}")  # fmt: skip
    problems += _sequence_problems(order)
    problems += _journal_label_problems(lines[1:])
    if total_debit != total_credit:
        problems.append(f"the file is not balanced: total debit {total_debit} ≠ total credit {total_credit}")
    return problems


def _filename_problems(filename: str, end: date | None) -> list[str]:
    found = FILENAME.match(filename)
    if found is None:
        return [f"the file name {filename!r} is not {{SIREN}}FEC{{YYYYMMDD}}.txt"]
    closing = _day(found["closing"])
    if closing is None:
        return [f"the file name's closing date {found['closing']!r} is not a day"]
    if end is not None and closing != end:
        return [f"the file name's closing date {closing.isoformat()} is not the period's end {end.isoformat()}"]
    return []


def _decoded(data: bytes) -> tuple[str, list[str]]:
    problems = []
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append("the file starts with a UTF-8 byte order mark: not ISO 8859-15")
    if any(byte >= 0x80 for byte in data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:  # a multibyte UTF-8 text read as Latin-9 is mojibake ("SociÃ©tÃ©")
            problems.append("the file is UTF-8 text, not ISO 8859-15")
    text = data.decode("iso8859_15")  # every byte has a meaning in Latin-9: what it means is checked
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        control = CONTROLS.search(line)
        if control:
            problems.append(f"line {number}: control character {control[0]!r} (not ISO 8859-15 text)")
    return text, problems


def _line_problems(number: int, row: dict[str, str], start: date | None, end: date | None) -> list[str]:
    problems = []
    for name in REQUIRED:
        if not row[name].strip():
            problems.append(f"line {number}: {name} is empty")
    for name in DATES:
        value = row[name]
        day = _day(value)
        if day is None:
            if value:
                problems.append(f"line {number}: {name} {value!r} is not a day YYYYMMDD")
            continue
        if (start is not None and day < start) or (end is not None and day > end):
            problems.append(f"line {number}: {name} {value} is outside the period")
    if not re.match(r"^[0-9]{3}", row["CompteNum"]):
        problems.append(f"line {number}: CompteNum {row['CompteNum']!r} does not start with three digits")
    if bool(row["CompAuxNum"].strip()) != bool(row["CompAuxLib"].strip()):
        problems.append(f"line {number}: an auxiliary account needs both CompAuxNum and CompAuxLib")
    if row["DateLet"] and _day(row["DateLet"]) is None:
        problems.append(f"line {number}: DateLet {row['DateLet']!r} is not a day YYYYMMDD")
    if bool(row["Montantdevise"].strip()) != bool(row["Idevise"].strip()):
        problems.append(f"line {number}: an amount in currency needs both Montantdevise and Idevise")
    amounts = {}
    for name in ("Debit", "Credit"):
        value = row[name]
        if value.startswith("-"):
            problems.append(f"line {number}: {name} {value!r} is negative")
        elif not AMOUNT.match(value):
            problems.append(f"line {number}: {name} {value!r} is not written 1234,56")
        amounts[name] = _amount(value)
    debit, credit = amounts["Debit"], amounts["Credit"]
    if debit and credit:
        problems.append(f"line {number}: both a debit and a credit")
    if debit is not None and credit is not None and not debit and not credit:
        problems.append(f"line {number}: neither a debit nor a credit")
    return problems


def _sequence_problems(entries: Sequence[_Entry]) -> list[str]:
    """Per journal, in the order of the file: numbers that follow each
    other without a gap, and dates that never go back."""
    problems = []
    last: dict[str, tuple[int, str]] = {}
    for entry in entries:
        found = SEQUENCE.search(entry.number)
        if found is None:
            problems.append(f"line {entry.first_line}: EcritureNum {entry.number!r} has no sequence number")
            continue
        sequence = int(found[1])
        held = last.get(entry.journal)
        if held is not None:
            if sequence != held[0] + 1:
                problems.append(f"line {entry.first_line}: journal {entry.journal}: entry {entry.number} "
                                f"follows number {held[0]} (a gap, or out of sequence)")  # fmt: skip
            if entry.day < held[1]:
                problems.append(f"line {entry.first_line}: journal {entry.journal}: entry {entry.number} of "
                                f"{entry.day} comes after one of {held[1]} (not in date order)")  # fmt: skip
        last[entry.journal] = (sequence, max(entry.day, held[1]) if held else entry.day)
    return problems


def _journal_label_problems(lines: Sequence[str]) -> list[str]:
    """A journal has one label throughout the file."""
    labels: dict[str, str] = {}
    problems = []
    for number, line in enumerate(lines, 2):
        fields = line.split("\t")
        if len(fields) != len(COLUMNS):
            continue
        code, label = fields[0], fields[1]
        if labels.setdefault(code, label) != label:
            problems.append(f"line {number}: journal {code} is labelled {label!r}, earlier {labels[code]!r}")
    return problems


def _amount(value: str) -> Decimal | None:
    if not AMOUNT.match(value.removeprefix("-")):
        return None
    return Decimal(value.replace(",", "."))


def _day(value: str) -> date | None:
    if not re.fullmatch(r"[0-9]{8}", value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def main(argv: Sequence[str]) -> int:
    """`python -m tests.fec_audit FILE...`: each file audited, a line each
    (its lines, entries and total when clean; its problems else); exit 1
    when a file has any."""
    import sys
    from pathlib import Path

    failed = False
    for name in argv:
        path = Path(name)
        data = path.read_bytes()
        problems = audit(data, path.name)
        if problems:
            failed = True
            print(f"{path.name}: {len(problems)} problem(s)", *problems, sep="\n  ", file=sys.stderr)
            continue
        rows = [line.split("\t") for line in data.decode("iso8859_15").splitlines()[1:]]
        entries = {(row[0], row[2]) for row in rows}
        debit = sum((Decimal(row[11].replace(",", ".")) for row in rows), Decimal(0))
        print(f"{path.name}: {len(rows)} lines, {len(entries)} entries, balanced ({debit:f} debit and credit), "
              "no problem")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
