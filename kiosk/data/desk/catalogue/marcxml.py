"""Reading MARCXML with defusedxml's parser (a DTD or an entity anywhere is refused)."""

from __future__ import annotations

import io
import logging
from typing import Any
from xml.sax import SAXException, SAXParseException
from xml.sax.handler import feature_namespaces

import pymarc
from defusedxml import DefusedXmlException
from defusedxml import expatreader as defused_sax

from kiosk.data.desk.catalogue.fields import add_record
from kiosk.data.desk.catalogue.records import ParsedCatalogue
from kiosk.data.desk.importing import ImportRefused, Problem, clean

log = logging.getLogger(__name__)


class _Collector(pymarc.XmlHandler):  # type: ignore[misc]
    """Keeps each record as it is parsed, numbered as it comes in the file, so a file
    cut in the middle keeps the good records before the cut and a damaged record is
    reported without losing the others. A leader of the wrong length is padded (the
    importer reads only its kind and status)."""

    def __init__(self) -> None:
        super().__init__(strict=False, normalize_form="NFC")
        self.found: list[tuple[int, pymarc.Record]] = []
        self.damaged: list[int] = []
        self.started = 0

    def startElementNS(self, name: tuple[str | None, str], qname: Any, attrs: Any) -> None:
        """Count records as they start; a damaged element damages its record only."""
        if name[1] == "record":
            self.started += 1
        try:
            super().startElementNS(name, qname, attrs)
        except Exception:  # noqa: BLE001 (a missing attribute, a bad tag...)
            self._damaged()

    def endElementNS(self, name: tuple[str | None, str], qname: Any) -> None:
        """Pad a short leader; a damaged element damages its record only."""
        if name[1] == "leader" and self._record is not None:
            self._record.leader = pymarc.Leader(("".join(self._text) + " " * 24)[:24])
            return
        try:
            super().endElementNS(name, qname)
        except Exception:  # noqa: BLE001
            self._damaged()

    def _damaged(self) -> None:
        if not self.damaged or self.damaged[-1] != self.started:
            self.damaged.append(self.started)
        self._record = self._field = None

    def process_record(self, record: pymarc.Record) -> None:
        """Keep a finished record with its number in the file."""
        self.found.append((self.started, record))

    @property
    def in_record(self) -> bool:
        """Whether the parser is inside a record (where a break cuts that record)."""
        return self._record is not None


def read_marcxml(data: bytes) -> ParsedCatalogue:
    parsed = ParsedCatalogue([], [], "", "XML")
    collector = _Collector()
    failure: SAXException | None = None
    # pymarc.parse_xml's own SAX parser expands entities; defusedxml's refuses any DTD,
    # entity or external reference, wherever it is in the file (MARCXML needs none).
    parser = defused_sax.create_parser(forbid_dtd=True)
    parser.setContentHandler(collector)
    parser.setFeature(feature_namespaces, True)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException:
        raise ImportRefused("import.xml_entities") from None
    except SAXException as error:
        failure = error
    formats: dict[str, None] = {}
    for number, record in collector.found:
        add_record(parsed, record, number, None, formats)
    parsed.problems.extend(
        Problem("record", number, "import.damaged.other") for number in collector.damaged
    )
    if failure is not None:
        line = failure.getLineNumber() if isinstance(failure, SAXParseException) else 0
        parsed.problems.append(Problem(
            "record", collector.started + (0 if collector.in_record else 1), "import.xml_broken",
            {"line": line, "reason": clean(str(failure.getMessage()), 80)},
        ))
    parsed.problems.sort(key=lambda p: p.number)
    parsed.format = "MARCXML " + (" + ".join(formats) or "")
    return parsed
