"""The librarian's PIN lock survives a restart and travels with the sync (issue 12,
point 9).

It lived in memory: a restart (or a power cut) gave five fresh tries. Now every
wrong PIN is a fact, and the lock is worked out from the facts, at every kiosk and
at the desk, once they have synced.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import synckit as sk

from kiosk.data.core import masterdata
from kiosk.data.core.errors import Refused
from kiosk.data.core.library import set_pin
from kiosk.data.core.security import hash_pin
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation

PIN = "4321"


def locked_minutes(circulation: Circulation, number: str) -> int | None:
    """Try the right PIN: ``None`` if it opens, else the minutes the lock has left."""
    try:
        assert circulation.check_librarian(number, PIN)
    except Refused as refused:
        assert refused.key == "pin.locked"
        return int(refused.params["minutes"])
    return None


@pytest.fixture
def librarian(library, make) -> str:
    number = make.patron(kind="librarian").number
    with library.connection_context():
        set_pin(number, PIN)
    return number


def test_a_restart_gives_no_fresh_tries(library, librarian, clock):
    kiosk = Circulation(Store(library, "kiosk-1", clock=clock))
    for _ in range(5):
        assert not kiosk.check_librarian(librarian, "0000")
    restarted = Circulation(Store(library, "kiosk-1", clock=clock))  # a new process, same file
    assert locked_minutes(restarted, librarian) == 5
    clock.advance(minutes=3)
    assert locked_minutes(Circulation(Store(library, "kiosk-1", clock=clock)), librarian) == 2
    clock.advance(minutes=2)
    assert locked_minutes(Circulation(Store(library, "kiosk-1", clock=clock)), librarian) is None


def test_tries_before_a_restart_still_count(library, librarian, clock):
    for _ in range(3):
        assert not Circulation(Store(library, "kiosk-1", clock=clock)).check_librarian(librarian, "1")
    again = Circulation(Store(library, "kiosk-1", clock=clock))
    assert not again.check_librarian(librarian, "2")
    assert not again.check_librarian(librarian, "3")  # the fifth in a row
    assert locked_minutes(again, librarian) == 5


def test_a_right_pin_starts_the_count_again_and_old_tries_expire(library, librarian, clock):
    kiosk = Circulation(Store(library, "kiosk-1", clock=clock))
    for _ in range(4):
        assert not kiosk.check_librarian(librarian, "0000")
    assert kiosk.check_librarian(librarian, PIN)
    for _ in range(4):
        assert not kiosk.check_librarian(librarian, "0000")
    clock.advance(hours=2)  # a typo long ago is not a guess
    assert not kiosk.check_librarian(librarian, "0000")
    assert locked_minutes(kiosk, librarian) is None


def test_the_lock_reaches_the_desk_and_every_kiosk_by_sync(tmp_path: Path, clock):
    """Guesses at two kiosks, both offline, add up once they sync: five in a row."""
    site = sk.make_site(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, clock)
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("patron_saved", patron="L0001", name="Ms Li", kind="librarian",
                        pin_hash=hash_pin(PIN))
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    for _ in range(3):
        assert not hall.circulation.check_librarian("L0001", "1111")
        clock.advance(seconds=10)
    for _ in range(2):
        assert not room.circulation.check_librarian("L0001", "2222")
        clock.advance(seconds=10)
    assert locked_minutes_without_trying(hall) is None  # each kiosk knows of its own
    hall.sync(site.desk)
    room.sync(site.desk)
    hall.sync(site.desk)
    desk = Circulation(Store(site.desk, "desk", clock=clock))
    for place in (desk, hall.circulation, room.circulation):
        assert locked_minutes(place, "L0001") == 5, place.kiosk_id
    clock.advance(minutes=5)
    assert locked_minutes(hall.circulation, "L0001") is None


def locked_minutes_without_trying(kiosk: sk.Kiosk) -> int | None:
    """The lock as the kiosk sees it, read without recording an attempt."""
    from kiosk.data.lending.pin_guard import pin_state

    with sk.on(kiosk.db):
        state = pin_state("L0001", kiosk.circulation.store.clock())
    return state.minutes_left(kiosk.circulation.store.clock()) or None
