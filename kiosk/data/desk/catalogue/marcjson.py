"""Reading MARC-in-JSON files."""

from __future__ import annotations

import json
import logging
from typing import Any

import pymarc

from kiosk.data.desk import importing
from kiosk.data.desk.catalogue.fields import add_record
from kiosk.data.desk.catalogue.records import ParsedCatalogue
from kiosk.data.desk.importing import ImportRefused, Problem, clean

log = logging.getLogger(__name__)


def _json_record(item: Any) -> pymarc.Record:
    """One MARC-in-JSON object as a pymarc record (as pymarc's JSONReader builds it)."""
    record = pymarc.Record()
    record.leader = pymarc.Leader((str(item["leader"]) + " " * 24)[:24])
    for entry in item["fields"]:
        [(tag, value)] = entry.items()
        if isinstance(value, dict):
            subfields = [pymarc.Subfield(code=str(code), value=str(text))
                         for sub in value["subfields"] for code, text in sub.items()]
            record.add_field(pymarc.Field(
                tag=str(tag), indicators=pymarc.Indicators(str(value.get("ind1", " ")),
                                                           str(value.get("ind2", " "))),
                subfields=subfields))
        else:
            record.add_field(pymarc.Field(tag=str(tag), data=str(value)))
    return record


def read_json(data: bytes) -> ParsedCatalogue:
    text, encoding = importing.decode(data)
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ImportRefused("import.bad_json", reason=clean(str(error), 80)) from None
    parsed = ParsedCatalogue([], [], "", encoding.upper())
    formats: dict[str, None] = {}
    for number, item in enumerate(loaded if isinstance(loaded, list) else [loaded], 1):
        try:
            record = _json_record(item)
        except Exception:  # noqa: BLE001 (any shape a hostile file can take)
            parsed.problems.append(Problem("record", number, "import.damaged.other"))
            continue
        add_record(parsed, record, number, None, formats)
    parsed.format = "MARC-in-JSON " + " + ".join(formats)
    return parsed
