"""Library cards: the QR payload (:mod:`kiosk.data.core.cards`) and ``Circulation.open_card``.

Forged, damaged, huge and hostile codes must be refused with the right reason, and the
refusal recorded with a sanitised, length-capped copy of what was scanned, so the
librarian's log can be shown in a terminal without any scanned byte taking control of it.
"""

from __future__ import annotations

import hmac
import random
import re
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from kiosk.data.core import cards, settings
from kiosk.data.core.errors import CardRefused
from kiosk.data.core.library import card_code
from kiosk.data.core.models import Journal
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation

KIOSK_ID = "kiosk-test"
SECRET = "5e" * 32
QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")
CODE_CAP = 64
"""The longest scanned code a refusal fact may keep."""


def refused_card(
    circulation: Circulation, facts: Callable[..., list[Any]], raw: str, key: str
) -> dict[str, Any]:
    """Open ``raw`` as a card, expect ``key``; return the data of its one refusal fact."""
    before = len(facts())
    with pytest.raises(CardRefused) as info:
        circulation.open_card(raw)
    assert info.value.key == key, (raw[:80], info.value)
    new = facts()[before:]
    assert [fact.kind for fact in new] == ["refusal"], new
    assert new[0].data["reason"] == key
    return new[0].data


def assert_safe(stored: str) -> None:
    """A code kept in the journal holds no control character and is capped."""
    assert len(stored) <= CODE_CAP
    controls = [c for c in stored if unicodedata.category(c)[0] == "C" or c in "\u2028\u2029"]
    assert controls == [], repr(stored)
    stored.encode("utf-8")  # no lone surrogate survives either


def code_for(library: Any, number: str, serial: int) -> str:
    with library.connection_context():
        return card_code(number, serial)


# -- the payload ----------------------------------------------------------------------


def test_encode_verify_round_trip():
    code = cards.encode("LK", "s-1001", 7, SECRET)
    assert code.startswith("LK.S-1001.7.")
    assert QR_ALPHANUMERIC.fullmatch(code)
    assert len(code) <= 38  # a version-2 QR code at error correction M
    assert cards.verify(code, "LK", SECRET) == cards.CardCode("LK", "S-1001", 7)


def test_mac_depends_on_every_part_and_the_secret():
    code = cards.encode("LK", "1001", 1, SECRET)
    assert cards.encode("LK", "1001", 2, SECRET)[-16:] != code[-16:]
    assert cards.encode("LK", "1002", 1, SECRET)[-16:] != code[-16:]
    assert cards.encode("LK", "1001", 1, "other")[-16:] != code[-16:]
    with pytest.raises(CardRefused) as info:
        cards.verify(code, "LK", "another library's secret")
    assert info.value.key == "card.forged"


def test_other_library_prefix_is_forged_even_with_a_valid_mac():
    foreign = cards.encode("XY", "1001", 1, SECRET)
    assert cards.verify(foreign, "XY", SECRET).prefix == "XY"
    with pytest.raises(CardRefused) as info:
        cards.verify(foreign, "LK", SECRET)
    assert info.value.key == "card.forged"


@pytest.mark.parametrize(
    ("prefix", "number", "serial"),
    [("lk", "1", 1), ("TOOLONGPREFIX", "1", 1), ("LK", "", 1), ("LK", "A.B", 1),
     ("LK", "1" * 21, 1), ("LK", "1", -1), ("LK", "1", 1_000_000)],
)
def test_encode_refuses_what_cannot_go_on_a_card(prefix, number, serial):
    with pytest.raises(ValueError):
        cards.encode(prefix, number, serial, SECRET)


def test_verify_compares_the_mac_in_constant_time(monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(cards.hmac, "compare_digest", spy)
    code = cards.encode("LK", "1001", 1, SECRET)
    cards.verify(code, "LK", SECRET)
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    with pytest.raises(CardRefused):
        cards.verify(forged, "LK", SECRET)
    assert len(calls) == 2
    assert calls[0] == (code[-16:].encode(), code[-16:].encode())
    assert calls[1][1] == forged[-16:].encode()


# -- opening a card at the kiosk ------------------------------------------------------


def test_card_round_trip(circulation, make, facts):
    student = make.patron(name="Zhang Wei", school_class="3-2")
    code = make.card(student)
    view = circulation.open_card(code)
    assert (view.number, view.name, view.kind, view.class_name) == (
        student.number, "Zhang Wei", "student", "3-2",
    )
    assert view.loans == () and view.may_borrow == 2
    assert facts("refusal") == []
    assert [f.kind for f in facts()] == ["card_issued"]


def test_scanner_line_ending_and_lowercase_are_accepted(circulation, make):
    student = make.patron()
    code = make.card(student)
    assert circulation.open_card(code + "\r\n").number == student.number
    assert circulation.open_card("  " + code.lower()).number == student.number
    assert circulation.is_card(code.lower())
    assert not circulation.is_card("T000001")


def test_forged_mac_is_refused_and_recorded(circulation, make, facts):
    code = make.card(make.patron())
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    data = refused_card(circulation, facts, forged, "card.forged")
    assert data["code"] == forged


def test_card_of_another_library_is_refused(circulation, make, facts, library):
    student = make.patron()
    make.card(student)
    with library.connection_context():
        secret = settings.get("card_secret")
    # Same secret (a copied installation), another prefix; and another secret altogether.
    for foreign in (
        cards.encode("XY", student.number, 1, secret),
        cards.encode("XY", student.number, 1, SECRET),
        cards.encode("LK", student.number, 1, SECRET),
    ):
        assert circulation.is_card(foreign) == foreign.startswith("LK.")
        refused_card(circulation, facts, foreign, "card.forged")


def test_truncated_card_is_damaged_at_every_length(circulation, make, facts):
    code = make.card(make.patron())
    for length in range(len(code)):
        data = refused_card(circulation, facts, code[:length], "card.damaged")
        assert data["code"] == code[:length]
    assert len(facts("refusal")) == len(code)


def test_hostile_bytes_are_damaged(circulation, make, facts):
    code = make.card(make.patron())
    rng = random.Random(20250312)
    hostile = [
        code.replace(".", "\x00", 1),
        code + "\x00",
        code[:5] + "\u202e" + code[5:],  # right-to-left override
        code.replace("LK", "ＬＫ"),  # full-width look-alikes
        "'; DROP TABLE loan; --",
        "%s%s%s%n",
        "LK.1001.1.AAAAAAAAAAAAAAA=",
    ]
    hostile += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))).decode("latin-1")
                for _ in range(20)]
    for raw in hostile:
        data = refused_card(circulation, facts, raw, "card.damaged")
        assert_safe(data["code"])


@pytest.mark.parametrize(
    "raw",
    [
        "\x1b[2J\x1b[H{code}",  # clear the screen, cursor home
        "{code}\x1b]0;pwned\x07",  # set the terminal title
        "\x1b[31m{code}\x1b[0m",  # colours
        "{code}\x9b31m",  # a C1 control sequence introducer
        "\x08\x08\x08{code}",  # backspaces
        "{code}\x7f",
    ],
)
def test_control_and_escape_characters_never_reach_the_journal(
    circulation, make, facts, library, raw
):
    raw = raw.format(code=make.card(make.patron()))
    data = refused_card(circulation, facts, raw, "card.damaged")
    assert_safe(data["code"])
    if "\x1b" in raw:
        assert "\\x1b" in data["code"]  # made visible, not obeyed
    with library.connection_context():
        stored = [row.data for row in Journal.select(Journal.data)]
    assert not any(char in text for text in stored for char in "\x1b\x07\x08\x9b\x7f")
    assert not any("\\u001b" in text.lower() for text in stored)


def test_ten_kilobyte_code_is_damaged_and_capped(circulation, make, facts):
    code = make.card(make.patron())
    huge = code + "A" * 10_240
    data = refused_card(circulation, facts, huge, "card.damaged")
    assert_safe(data["code"])
    assert data["code"].startswith(code[:20])
    data = refused_card(circulation, facts, "\x1b" * 10_240, "card.damaged")
    assert_safe(data["code"])


def test_invalid_utf8_decoded_with_surrogateescape_is_damaged(circulation, make, facts):
    code = make.card(make.patron())
    raw = (code.encode() + b"\xff\xfe\xc3").decode("utf-8", "surrogateescape")
    assert "\udcff" in raw
    data = refused_card(circulation, facts, raw, "card.damaged")
    assert_safe(data["code"])
    data = refused_card(
        circulation, facts, b"\xed\xa0\x80LK".decode("utf-8", "surrogateescape"), "card.damaged"
    )
    assert_safe(data["code"])


def test_old_card_is_revoked_when_reissued(circulation, make, facts):
    student = make.patron(name="Lost Card")
    old = make.card(student)
    new = make.card(student)
    assert old != new
    data = refused_card(circulation, facts, old, "card.revoked")
    assert facts("refusal")[-1].patron == student.number
    assert data["params"] == {"number": student.number, "name": "Lost Card"}
    assert circulation.open_card(new).number == student.number


def test_expired_card_is_refused_but_valid_on_its_last_day(circulation, make, facts, clock):
    student = make.patron()
    code = make.card(student, expires_on=clock.today)
    assert circulation.open_card(code).number == student.number
    clock.advance(days=1)
    data = refused_card(circulation, facts, code, "card.expired")
    assert data["params"]["date"] == (clock.today - timedelta(days=1)).isoformat()
    renewed = make.card(student, expires_on=date(2026, 7, 31))
    assert circulation.open_card(renewed).number == student.number


def test_card_of_unknown_patron_or_serial(circulation, make, facts, library):
    student = make.patron()
    make.card(student)
    refused_card(circulation, facts, code_for(library, "4242", 1), "card.unknown")
    assert facts("refusal")[-1].patron is None
    refused_card(circulation, facts, code_for(library, student.number, 9), "card.unknown")
    assert facts("refusal")[-1].patron == student.number


def test_inactive_patron_card_is_refused(circulation, make, facts):
    student = make.patron(active=False)
    refused_card(circulation, facts, make.card(student), "card.inactive")


def test_blocked_patron_card_is_refused(circulation, make, facts):
    student = make.patron(blocked_reason="card reported stolen")
    data = refused_card(circulation, facts, make.card(student), "card.blocked")
    assert data["params"]["reason"] == "card reported stolen"


def test_plain_numeric_cards_only_when_allowed(library, clock, make, facts):
    student = make.patron("20250001")
    blocked = make.patron("20250002", blocked_reason="overdue fines")
    strict = Circulation(Store(library, KIOSK_ID, clock=clock))
    assert not strict.is_card(student.number)
    refused_card(strict, facts, student.number, "card.damaged")

    plain = Circulation(Store(library, KIOSK_ID, clock=clock), allow_plain_cards=True)
    assert plain.is_card(student.number)
    assert not plain.is_card("99999999")  # a number no patron has is a book label
    assert plain.open_card(student.number).number == student.number
    refused_card(plain, facts, "99999999", "card.unknown")
    refused_card(plain, facts, blocked.number, "card.blocked")
    # Signed cards keep working where plain cards are allowed.
    assert plain.open_card(make.card(student)).number == student.number
