"""SIP2 messages on the wire (``kiosk.sip2.protocol``), checked against the standard's own
example and against pysip2, an independent implementation of it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pysip2 import (
    CheckoutRequest,
    CheckoutResponse,
    calculate_checksum,
    decode_as,
    encode_message,
)

from kiosk.sip2 import protocol
from kiosk.sip2.protocol import MessageError, Response, parse


def test_the_standards_example_checksum() -> None:
    # 3M's SIP2 document: the SC status "9900302.00AY1AZFCA5"
    assert protocol.checksum(b"9900302.00AY1AZ") == "FCA5"
    request = parse(b"9900302.00AY1AZFCA5")
    assert (request.command, request.fixed, request.sequence, request.checked) == (
        "99", "00302.00", "1", True
    )


@given(st.binary(max_size=300))
def test_checksums_agree_with_pysip2(data: bytes) -> None:
    assert protocol.checksum(data) == calculate_checksum(data)


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="|"),
    max_size=40,
)


@given(patron=TEXT.filter(bool), item=TEXT.filter(bool), sequence=st.integers(0, 9))
def test_a_request_pysip2_writes_is_read_field_for_field(patron: str, item: str, sequence: int) -> None:
    frame = encode_message(
        CheckoutRequest(
            sc_renewal_policy="Y", no_block="N", transaction_date="20250312    100000",
            nb_due_date="20250326    100000", institution_id="LK", patron_identifier=patron,
            item_identifier=item, terminal_password="",
        ),
        sequence_number=sequence, checksum=True, encoding="utf-8",
    )
    request = parse(frame[:-1])
    assert request.command == "11" and request.sequence == str(sequence) and request.checked
    assert (request.flag(0), request.flag(1), request.date(2)) == ("Y", "N", "20250312    100000")
    assert (request.get("AA"), request.get("AB"), request.get("AC")) == (patron, item, "")


@given(title=st.text(max_size=300), sequence=st.sampled_from([None, "0", "7"]))
def test_an_answer_pysip2_reads_whatever_the_title_holds(title: str, sequence: str | None) -> None:
    answer = Response("12", "1NUY20250312    100000")
    answer.add("AO", "LK").add("AA", "P1").add("AB", "B1").add("AJ", title).add("AH", "x")
    request = protocol.Request("11", "", {}, sequence, checked=sequence is not None)
    frame = answer.encode("utf-8", request)
    decoded = decode_as(frame, CheckoutResponse, encoding="utf-8")
    assert decoded.sequence_number == (int(sequence) if sequence else None)
    kept = decoded.message.title_identifier
    assert len(kept.encode()) <= protocol.MAX_FIELD and "|" not in kept
    assert title.startswith(kept.replace(" ", "")[:0])  # (a prefix of the cleaned title)
    assert protocol.clean(title).startswith(kept)


def test_a_long_chinese_title_is_cut_between_characters() -> None:
    answer = Response("18", "03000120250312    100000").add("AB", "B1").add("AJ", "书" * 200)
    for encoding in ("utf-8", "gb18030"):
        frame = answer.encode(encoding)
        value = frame.split(b"|AJ")[1].split(b"|")[0]
        assert len(value) <= protocol.MAX_FIELD
        assert value.decode(encoding) == "书" * (len(value) // len("书".encode(encoding)))


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b"9900302.00AY1AZFCA6", "wrong checksum"),
        (b"9900302.00AY1AZFCAZ", "checksum is not hex"),
        (b"XX", "unknown command"),
        (b"2300120250312", "fixed fields cut short"),
        (b"23001" + b"20250312    100000" + b"AOLK|", "field AA missing"),
        (b"17" + b"20250312    100000" + b"AOLK|AB" + b"9" * 256 + b"|", "longer than"),
        (b"17" + b"20250312    100000" + b"AOLK|A", "without a name"),
        (b"17" + b"20250312    100000" + b"AOLK|a1x|AB1|", "named"),
        (b"1" + b"\xff" * 40, "unknown command"),
        (b"9" * 3000, "too long"),
    ],
)
def test_unreadable_requests(frame: bytes, why: str) -> None:
    with pytest.raises(MessageError, match=why):
        parse(frame)


def test_frames_split_at_carriage_returns() -> None:
    frames, rest = protocol.split_frames(b"9300CNa|COb|\r\n9900302.00\r97")
    assert frames == [b"9300CNa|COb|", b"9900302.00"] and rest == b"97"


def test_dates() -> None:
    assert protocol.sip_date(datetime(2025, 3, 12, 9, 5, 7)) == "20250312    090507"
    assert protocol.sip_day(date(2025, 3, 26)) == "20250326    235900"
    assert protocol.read_date("20250312    090507") == datetime(2025, 3, 12, 9, 5, 7)
    assert protocol.read_date("20250312   Z090507") == datetime(2025, 3, 12, 9, 5, 7, tzinfo=UTC)
    assert protocol.read_date(" " * 18) is None
    assert protocol.read_date("2025131299999999xx") is None


def test_a_value_cannot_break_the_message() -> None:
    answer = Response("10", "1YUN20250312    100000").add("AJ", "a|b\rc\x1bd")
    assert answer.encode() == b"101YUN20250312    100000AJa b c d|\r"
