"""The change marker the live librarian tabs poll (kiosk.data.librarian.changes)."""

from __future__ import annotations

from dataclasses import replace

import synckit as sk

from kiosk.data.core.store import Store
from kiosk.data.librarian.changes import change_marker, rereads
from kiosk.data.librarian.daybook import DayBook


def test_the_marker_moves_with_a_fact_a_push_and_the_day_only(tmp_path, clock):
    site = sk.make_site(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, clock)
    hall = site.add_kiosk("hall")
    store = hall.circulation.store
    before = change_marker(store)
    assert change_marker(store) == before  # nothing happened: nothing to read
    hall.circulation.checkout("S0001", "B00001")
    lent = change_marker(store)
    assert lent.newest > before.newest and lent.unsent == lent.newest
    book = DayBook(hall.circulation)
    [new] = book.day_log_since(clock.today, before.newest)
    assert (new.kind, new.copy) == ("checkout", "B00001")
    hall.sync(site.desk)
    pushed = change_marker(store)
    assert pushed.unsent == 0 and pushed != lent  # the push moved it, without a new fact
    desk = change_marker(Store(site.desk, "desk", clock=clock))
    assert desk.last_sync is not None  # at the desk: the kiosk's last sync
    clock.advance(days=1)
    assert change_marker(store).day != pushed.day
    hall.db.close()
    site.desk.close()


def test_only_the_tabs_a_new_fact_can_change_are_read_again(tmp_path, clock, circulation):
    before = change_marker(circulation.store)
    now = replace(before, newest=before.newest + 1)
    assert rereads(before, now, {"checkout"}) == rereads(before, now, {"checkin", "renew"})
    assert rereads(before, now, {"checkout"}).overdue
    assert not rereads(before, now, {"checkout"}).cases
    assert rereads(before, now, {"refusal"}).cases
    assert not rereads(before, now, {"refusal", "librarian_login"}).overdue
    synced = replace(now, last_sync="2025-03-12 10:00:00")
    assert rereads(before, synced, {"checkout"}).cases  # a push may bring sync cases
    assert rereads(before, now, set()) == rereads(before, replace(now, day=now.day), set())
    assert rereads(before, now, set()).cases and rereads(before, now, set()).overdue
