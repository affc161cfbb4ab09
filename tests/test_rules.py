"""Circulation rules, through the real service on a real SQLite file and a fixed clock.

The clock stands on Wednesday 12 March 2025 (``conftest.START``); Saturdays and Sundays
are closed by default. Every refusal must be raised with its reason *and* recorded as
one ``refusal`` fact carrying that reason, with nothing else written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from kiosk.data.core.errors import AlreadyBorrowed, CardRefused, KioskError, NotFound, Refused
from kiosk.data.core.library import set_pin
from kiosk.data.core.models import Copy, Hold, Loan, LoanRule
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.locale import t

TODAY = date(2025, 3, 12)
STUDENT_DUE = date(2025, 3, 26)  # +14 days, a Wednesday
TEACHER_DUE = date(2025, 4, 11)  # +30 days, a Friday
PERIODICAL_DUE = date(2025, 3, 19)  # +7 days, a Wednesday


def refused(
    facts: Callable[..., list[Any]],
    call: Callable[[], Any],
    key: str,
    *,
    patron: str | None = None,
    copy: str | None = None,
    kind: type[KioskError] = Refused,
) -> KioskError:
    """Run ``call``, expect it refused with ``key``, and exactly one refusal fact for it."""
    before = len(facts())
    with pytest.raises(kind) as info:
        call()
    assert info.value.key == key
    new = facts()[before:]
    assert [fact.kind for fact in new] == ["refusal"], new
    assert new[0].data["reason"] == key
    if patron is not None:
        assert new[0].patron == patron
    if copy is not None:
        assert new[0].copy == copy
    return info.value


def copy_status(db: Any, barcode: str) -> str:
    with db.connection_context():
        return Copy.get(Copy.barcode == barcode).status


def open_loans(db: Any, barcode: str) -> list[Loan]:
    with db.connection_context():
        return list(
            Loan.select().join(Copy).where((Copy.barcode == barcode) & Loan.returned_at.is_null())
        )


# -- loan period and quota ------------------------------------------------------------


def test_student_borrows_two_for_fourteen_days(circulation, make, facts, library):
    student = make.patron()
    first, second, third = make.copy(), make.copy(), make.copy()

    one = circulation.checkout(student.number, first.barcode)
    assert one.loan.due_on == STUDENT_DUE
    assert one.patron.may_borrow == 1
    two = circulation.checkout(student.number, second.barcode)
    assert two.patron.may_borrow == 0
    assert [loan.barcode for loan in two.patron.loans] == [first.barcode, second.barcode]

    error = refused(
        facts, lambda: circulation.checkout(student.number, third.barcode), "patron.quota",
        patron=student.number, copy=third.barcode,
    )
    assert error.params == {"limit": 2}
    assert facts("refusal")[-1].data["params"] == {"limit": 2}
    assert copy_status(library, third.barcode) == "available"
    assert open_loans(library, third.barcode) == []
    checkouts = facts("checkout")
    assert [f.copy for f in checkouts] == [first.barcode, second.barcode]
    assert all(f.data["due_on"] == STUDENT_DUE.isoformat() for f in checkouts)


def test_teacher_borrows_ten_for_thirty_days(circulation, make, facts):
    teacher = make.patron(kind="teacher")
    copies = [make.copy() for _ in range(11)]
    for copy in copies[:10]:
        result = circulation.checkout(teacher.number, copy.barcode)
        assert result.loan.due_on == TEACHER_DUE
    assert result.patron.may_borrow == 0
    error = refused(
        facts, lambda: circulation.checkout(teacher.number, copies[10].barcode),
        "patron.quota", patron=teacher.number,
    )
    assert error.params["limit"] == 10


def test_student_periodical_rule_one_for_seven_days(circulation, make, facts):
    student = make.patron()
    old_issue = date(2025, 2, 1)
    magazine = make.copy(kind="periodical", issue_date=old_issue)
    other_magazine = make.copy(kind="periodical", issue_date=old_issue)
    book = make.copy()

    result = circulation.checkout(student.number, magazine.barcode)
    assert result.loan.due_on == PERIODICAL_DUE
    error = refused(
        facts, lambda: circulation.checkout(student.number, other_magazine.barcode),
        "patron.quota_kind", copy=other_magazine.barcode,
    )
    assert error.params == {"limit": 1}
    # The periodical counts towards the overall two, but a book is still allowed.
    assert circulation.checkout(student.number, book.barcode).loan.due_on == STUDENT_DUE


def test_changing_a_loan_rule_changes_the_next_checkout(circulation, make, facts):
    student = make.patron()
    copies = [make.copy() for _ in range(4)]
    make.rule("student", loan_days=21, max_items=3)

    for copy in copies[:3]:
        assert circulation.checkout(student.number, copy.barcode).loan.due_on == date(2025, 4, 2)
    refused(facts, lambda: circulation.checkout(student.number, copies[3].barcode), "patron.quota")

    make.rule("student", loan_days=7, max_items=4)
    assert circulation.checkout(student.number, copies[3].barcode).loan.due_on == PERIODICAL_DUE


def test_teacher_periodical_falls_back_to_overall_rule(circulation, make):
    teacher = make.patron(kind="teacher")
    magazine = make.copy(kind="periodical", issue_date=date(2025, 1, 1))
    assert circulation.checkout(teacher.number, magazine.barcode).loan.due_on == TEACHER_DUE


def test_patron_kind_without_rule_is_refused(circulation, make, facts, library):
    helper = make.patron(kind="helper")
    copy = make.copy()
    with library.connection_context():
        LoanRule.delete().where(LoanRule.patron_kind == "helper").execute()
    refused(facts, lambda: circulation.checkout(helper.number, copy.barcode), "patron.no_rule")


# -- renewals -------------------------------------------------------------------------


def test_renewal_gives_a_loan_period_from_today_up_to_the_limit(circulation, make, facts, clock):
    student = make.patron()
    copy = make.copy()
    loan = circulation.checkout(student.number, copy.barcode).loan
    clock.advance(days=10)  # Saturday 22 March, in the week before the due date (26 March)

    renewed = circulation.renew(student.number, loan.loan_id)
    assert renewed.due_on == date(2025, 4, 7)  # 22 March + 14 = Saturday 5 April -> Monday
    assert renewed.renewals == 1
    assert facts("renew")[-1].data == {"loan": loan.loan_id, "due_on": "2025-04-07"}

    error = refused(
        facts, lambda: circulation.renew(student.number, loan.loan_id), "renew.limit",
        patron=student.number, copy=copy.barcode,
    )
    assert error.params["title"] == renewed.title
    assert circulation.patron(student.number).loans[0].due_on == date(2025, 4, 7)


def test_a_renewal_minutes_after_borrowing_is_too_early(circulation, make, facts, clock):
    """The rule a school expects (docs/lending.md): renew in the last week, for a loan
    period from that day; not minutes after borrowing for 28 days."""
    student = make.patron()
    loan = circulation.checkout(student.number, make.copy().barcode).loan  # due Wed 26 March
    clock.advance(minutes=5)
    error = refused(facts, lambda: circulation.renew(student.number, loan.loan_id),
                    "renew.too_early", patron=student.number)
    assert (error.params["due"], error.params["date"]) == ("3月26日（周三）", "3月19日（周三）")
    assert t(error.key, **error.params).endswith(
        "3月26日（周三）才到期，还不能续借，3月19日（周三）起可以续借。")
    clock.set(clock.now.replace(day=18))  # 8 days before: still too early
    refused(facts, lambda: circulation.renew(student.number, loan.loan_id), "renew.too_early")
    assert circulation.patron(student.number).loans[0].renewals == 0
    clock.set(clock.now.replace(day=19))  # 7 days before: the window opens
    renewed = circulation.renew(student.number, loan.loan_id)
    assert renewed.due_on == date(2025, 4, 2)  # 19 March + 14, not 26 March + 14


def test_the_renewal_window_is_a_library_setting(circulation, make, facts, clock):
    student = make.patron()
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    make.setting("renew_window_days", "14")
    clock.advance(days=1)
    renewed = circulation.renew(student.number, loan.loan_id)
    assert renewed.due_on == date(2025, 3, 27)  # 13 March + 14: one day more, never less


def test_the_librarian_renews_by_hand_at_any_time(circulation, make, facts):
    student = make.patron()
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    renewed = circulation.renew(student.number, loan.loan_id, by="L0001")
    assert renewed.due_on == date(2025, 4, 9)  # a loan period beyond 26 March


def test_teacher_renews_twice(circulation, make, facts, clock):
    teacher = make.patron(kind="teacher")
    loan = circulation.checkout(teacher.number, make.copy().barcode).loan  # due 11 April
    clock.advance(days=25)  # Sunday 6 April
    due = circulation.renew(teacher.number, loan.loan_id).due_on
    assert due == date(2025, 5, 6)  # 6 April + 30
    clock.set(clock.now.replace(month=5, day=1))
    assert circulation.renew(teacher.number, loan.loan_id).renewals == 2
    refused(facts, lambda: circulation.renew(teacher.number, loan.loan_id), "renew.limit")


def test_periodical_is_not_renewable(circulation, make, facts):
    student = make.patron()
    magazine = make.copy(kind="periodical", issue_date=date(2025, 2, 1))
    loan = circulation.checkout(student.number, magazine.barcode).loan
    refused(facts, lambda: circulation.renew(student.number, loan.loan_id), "renew.limit")


def test_overdue_loan_cannot_be_renewed(circulation, make, facts, clock):
    student = make.patron()
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    clock.set(clock.now.replace(day=27))
    refused(facts, lambda: circulation.renew(student.number, loan.loan_id), "renew.overdue")
    clock.set(clock.now.replace(day=26))  # on the due date itself renewal is fine
    assert circulation.renew(student.number, loan.loan_id).renewals == 1


def test_waiting_hold_by_someone_else_refuses_renewal(circulation, make, facts, clock):
    student, other = make.patron(), make.patron()
    copy = make.copy()
    loan = circulation.checkout(student.number, copy.barcode).loan
    clock.advance(days=8)  # the week before it is due

    make.hold(student, copy)  # the borrower's own hold does not stand in the way
    assert circulation.renew(student.number, loan.loan_id).renewals == 1
    make.rule("student", loan_days=14, max_items=2, max_renewals=3)
    make.hold(other, copy)
    refused(facts, lambda: circulation.renew(student.number, loan.loan_id), "renew.held")


def test_renewing_someone_elses_loan_is_not_found(circulation, make):
    student, other = make.patron(), make.patron()
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    with pytest.raises(NotFound) as info:
        circulation.renew(other.number, loan.loan_id)
    assert info.value.key == "loan.unknown"


# -- what cannot be lent --------------------------------------------------------------


def test_reference_title_is_not_lent(circulation, make, facts, library):
    student = make.patron()
    dictionary = make.copy(kind="reference")
    refused(
        facts, lambda: circulation.checkout(student.number, dictionary.barcode),
        "copy.reference_only", copy=dictionary.barcode,
    )
    assert copy_status(library, dictionary.barcode) == "available"


def test_reference_only_copy_of_a_lendable_title_is_not_lent(circulation, make, facts):
    student = make.patron()
    title = make.title(kind="book")
    shelf_copy = make.copy(title)
    reading_room_copy = make.copy(title, reference_only=True)
    refused(
        facts, lambda: circulation.checkout(student.number, reading_room_copy.barcode),
        "copy.reference_only",
    )
    assert circulation.checkout(student.number, shelf_copy.barcode).loan.due_on == STUDENT_DUE


@pytest.mark.parametrize(
    ("issue", "lendable"),
    [
        (date(2025, 3, 1), False),  # this month's issue stays in the library
        (date(2025, 3, 31), False),
        (date(2025, 4, 1), False),  # an issue dated ahead is current too
        (None, False),  # an issue of unknown date is treated as current
        (date(2025, 2, 28), True),  # last month's issue may go home
        (date(2024, 3, 15), True),  # same month, an earlier year
    ],
)
def test_current_periodical_stays_in_the_library(circulation, make, facts, issue, lendable):
    student = make.patron()
    magazine = make.copy(kind="periodical", issue_date=issue)
    if lendable:
        assert circulation.checkout(student.number, magazine.barcode).loan.due_on == PERIODICAL_DUE
    else:
        refused(
            facts, lambda: circulation.checkout(student.number, magazine.barcode),
            "copy.periodical_current", copy=magazine.barcode,
        )


@pytest.mark.parametrize("status", ["repair", "lost", "withdrawn"])
def test_copy_out_of_circulation_is_not_lent(circulation, make, facts, status):
    student = make.patron()
    copy = make.copy(status=status)
    refused(facts, lambda: circulation.checkout(student.number, copy.barcode), "copy.not_lendable")


def test_unknown_barcode_is_refused_and_recorded(circulation, make, facts):
    student = make.patron()
    error = refused(
        facts, lambda: circulation.checkout(student.number, "NOPE-123"), "copy.unknown",
        kind=NotFound, patron=student.number,
    )
    assert error.params["code"] == "NOPE-123"


@pytest.mark.parametrize("raw", ["\x1b[2JT000001", "T0\x00001", "é" * 3, "T" * 10_000, "  "])
def test_damaged_or_hostile_label_is_refused_and_recorded_safely(circulation, make, facts, raw):
    student = make.patron()
    refused(
        facts, lambda: circulation.checkout(student.number, raw), "copy.damaged_code",
        kind=NotFound, patron=student.number,
    )
    refused(facts, lambda: circulation.checkin(raw), "copy.damaged_code", kind=NotFound)
    for fact in facts("refusal"):
        assert len(fact.data["code"]) <= 64
        assert "\x1b" not in fact.data["code"] and "\x00" not in fact.data["code"]


def test_copy_on_loan_to_this_patron_raises_already_borrowed(circulation, make, facts):
    student = make.patron()
    copy = make.copy()
    loan = circulation.checkout(student.number, copy.barcode).loan
    before = facts()
    with pytest.raises(AlreadyBorrowed) as info:
        circulation.checkout(student.number, copy.barcode)
    assert info.value.loan == loan
    assert info.value.key == "copy.already_yours"
    assert facts() == before  # an offer to return or renew, not a refusal


def test_copy_on_loan_to_someone_else_is_refused(circulation, make, facts, library):
    first, second = make.patron(), make.patron()
    copy = make.copy()
    loan = circulation.checkout(first.number, copy.barcode).loan
    refused(
        facts, lambda: circulation.checkout(second.number, copy.barcode), "copy.on_loan_other",
        patron=second.number, copy=copy.barcode,
    )
    assert [row.id for row in open_loans(library, copy.barcode)] == [loan.loan_id]


def test_copy_on_hold_shelf_goes_only_to_the_hold_patron(circulation, make, facts, library):
    borrower, reserver, other = make.patron(), make.patron(name="Lin Mei"), make.patron()
    copy = make.copy()
    circulation.checkout(borrower.number, copy.barcode)
    hold_id = make.hold(reserver, copy)

    back = circulation.checkin(copy.barcode)
    assert (back.destination, back.hold_for) == ("hold_shelf", "Lin Mei")
    assert copy_status(library, copy.barcode) == "hold_shelf"

    refused(facts, lambda: circulation.checkout(other.number, copy.barcode), "copy.on_hold_other")
    refused(
        facts, lambda: circulation.checkout(borrower.number, copy.barcode), "copy.on_hold_other"
    )
    result = circulation.checkout(reserver.number, copy.barcode)
    assert result.loan.barcode == copy.barcode
    with library.connection_context():
        hold = Hold.get_by_id(hold_id)
        assert (hold.status, hold.copy.barcode) == ("fulfilled", copy.barcode)
    assert copy_status(library, copy.barcode) == "on_loan"


# -- patrons who may not borrow -------------------------------------------------------


def test_overdue_books_block_new_loans_until_returned(circulation, make, facts, clock):
    student = make.patron()
    late, wanted = make.copy(), make.copy()
    circulation.checkout(student.number, late.barcode)
    clock.set(clock.now.replace(day=27))

    view = circulation.patron(student.number)
    assert (view.overdue_count, view.may_borrow) == (1, 0)
    assert view.loans[0].days_overdue == 1
    error = refused(
        facts, lambda: circulation.checkout(student.number, wanted.barcode), "patron.overdue"
    )
    assert error.params == {"count": 1}

    back = circulation.checkin(late.barcode)
    assert back.days_overdue == 1
    assert circulation.checkout(student.number, wanted.barcode).patron.may_borrow == 1


def test_blocked_patron_cannot_borrow(circulation, make, facts):
    student = make.patron(blocked_reason="damaged books")
    copy = make.copy()
    error = refused(
        facts, lambda: circulation.checkout(student.number, copy.barcode), "card.blocked",
        kind=CardRefused, patron=student.number,
    )
    assert error.params["reason"] == "damaged books"


def test_inactive_patron_cannot_borrow(circulation, make, facts):
    student = make.patron(active=False)
    refused(
        facts, lambda: circulation.checkout(student.number, make.copy().barcode),
        "card.inactive", kind=CardRefused,
    )


def test_unknown_patron_is_not_found(circulation, make):
    with pytest.raises(NotFound) as info:
        circulation.checkout("999999", make.copy().barcode)
    assert info.value.key == "patron.unknown"


# -- due dates and the calendar -------------------------------------------------------


def test_due_date_on_a_closed_day_moves_to_the_next_open_day(circulation, make):
    student = make.patron()
    make.closed_day(date(2025, 3, 26))
    make.closed_day(date(2025, 3, 27))
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    assert loan.due_on == date(2025, 3, 28)


def test_due_date_skips_closed_days_and_the_weekend_after_them(circulation, make):
    student = make.patron()
    for day in (26, 27, 28):
        make.closed_day(date(2025, 3, day))
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    assert loan.due_on == date(2025, 3, 31)  # Fri closed, Sat/Sun closed weekdays


def test_due_date_on_a_weekend_moves_to_monday(circulation, make):
    student = make.patron()
    make.rule("student", loan_days=10, max_items=2)
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    assert loan.due_on == date(2025, 3, 24)  # 22 March is a Saturday


def test_closed_weekdays_are_a_setting(circulation, make):
    student = make.patron()
    make.rule("student", loan_days=10, max_items=2)
    make.setting("closed_weekdays", "6")  # open on Saturdays
    loan = circulation.checkout(student.number, make.copy().barcode).loan
    assert loan.due_on == date(2025, 3, 22)


# -- the returns-only switch ----------------------------------------------------------


def test_returns_only_switch_refuses_loans_and_renewals_but_takes_returns(
    circulation, make, facts
):
    student = make.patron()
    lent, wanted = make.copy(), make.copy()
    loan = circulation.checkout(student.number, lent.barcode).loan

    circulation.set_returns_only(True)
    assert circulation.returns_only()
    refused(facts, lambda: circulation.checkout(student.number, wanted.barcode), "circ.returns_only")
    refused(facts, lambda: circulation.renew(student.number, loan.loan_id), "circ.returns_only")
    assert circulation.checkin(lent.barcode).destination == "shelf"

    circulation.set_returns_only(False)
    assert not circulation.returns_only()
    assert circulation.checkout(student.number, wanted.barcode).loan.due_on == STUDENT_DUE


# -- where a returned copy goes -------------------------------------------------------


def test_checkin_sends_a_returned_copy_to_its_shelf(circulation, make, facts, library, clock):
    student = make.patron(name="Wang Fang")
    title = make.title(classification="I247.8")
    shelved, unshelved = make.copy(title, shelf="Fiction A"), make.copy(title)
    loan = circulation.checkout(student.number, shelved.barcode).loan
    circulation.checkout(student.number, unshelved.barcode)
    clock.advance(days=20)

    back = circulation.checkin(shelved.barcode)
    assert (back.destination, back.shelf, back.borrower) == ("shelf", "Fiction A", "Wang Fang")
    assert back.days_overdue == 6
    assert circulation.checkin(unshelved.barcode).shelf == "I"  # classification's class
    assert copy_status(library, shelved.barcode) == "available"
    assert facts("checkin")[0].data == {"loan": loan.loan_id}
    with library.connection_context():
        assert Loan.get_by_id(loan.loan_id).returned_at is not None


def test_checkin_of_a_held_title_goes_to_the_hold_shelf(circulation, make, library):
    first, second = make.patron(name="First"), make.patron(name="Second")
    borrower = make.patron()
    copy = make.copy()
    circulation.checkout(borrower.number, copy.barcode)
    make.hold(first, copy)
    make.hold(second, copy)
    back = circulation.checkin(copy.barcode)
    assert (back.destination, back.hold_for) == ("hold_shelf", "First")  # first come first
    with library.connection_context():
        statuses = {h.patron.name: h.status for h in Hold.select()}
    assert statuses == {"First": "ready", "Second": "waiting"}


@pytest.mark.parametrize("status", ["lost", "repair", "withdrawn"])
def test_checkin_of_a_copy_out_of_circulation_goes_to_the_desk(
    circulation, make, library, status
):
    copy = make.copy(status=status)
    assert circulation.checkin(copy.barcode).destination == "desk"
    assert copy_status(library, copy.barcode) == status


def test_lost_copy_found_on_loan_goes_to_the_desk_and_ends_the_loan(circulation, make, library):
    student = make.patron()
    copy = make.copy()
    loan = circulation.checkout(student.number, copy.barcode).loan
    with library.connection_context():
        Copy.update(status="lost").where(Copy.barcode == copy.barcode).execute()
    back = circulation.checkin(copy.barcode)
    assert back.destination == "desk"
    with library.connection_context():
        assert Loan.get_by_id(loan.loan_id).returned_at is not None


def test_checkin_of_a_copy_not_on_loan(circulation, make, facts):
    copy = make.copy(shelf="Picture books")
    back = circulation.checkin(copy.barcode)
    assert (back.destination, back.shelf, back.borrower) == ("not_on_loan", "Picture books", "")
    assert facts("checkin")[-1].data == {"loan": None}


def test_checkin_of_an_unknown_barcode_is_refused_and_recorded(circulation, facts):
    refused(facts, lambda: circulation.checkin("X-404"), "copy.unknown", kind=NotFound)


def test_rules_read_the_live_database_not_a_cache(library, make, clock, facts):
    """A second service (another kiosk thread) sees a rule change made after it started."""
    service = Circulation(Store(library, "kiosk-2", clock=clock))
    student = make.patron()
    first, second = make.copy(), make.copy()
    make.rule("student", loan_days=14, max_items=1)
    service.checkout(student.number, first.barcode)
    refused(facts, lambda: service.checkout(student.number, second.barcode), "patron.quota")
    assert facts("refusal")[-1].kiosk == "kiosk-2"


# -- the librarian's PIN --------------------------------------------------------------


def test_wrong_pin_is_a_recorded_refusal_and_five_lock_the_card(circulation, make, facts, library):
    librarian = make.patron(kind="librarian")
    student = make.patron()
    with library.connection_context():
        set_pin(librarian.number, "4321")
        set_pin(student.number, "1111")  # a PIN on a non-librarian opens nothing

    assert circulation.check_librarian(librarian.number, "4321")
    assert facts()[-1].kind == "librarian_login"
    assert not circulation.check_librarian(student.number, "1111")
    for _ in range(4):
        assert not circulation.check_librarian(librarian.number, "0000")
    refusals = facts("refusal")
    assert [(f.patron, f.data["reason"]) for f in refusals] == (
        [(student.number, "pin.wrong")] + [(librarian.number, "pin.wrong")] * 4
    )
    assert not any("0000" in repr(f.data) or "4321" in repr(f.data) for f in facts())

    assert not circulation.check_librarian(librarian.number, "0000")  # the fifth
    with pytest.raises(Refused) as info:
        circulation.check_librarian(librarian.number, "4321")  # right PIN, but locked
    assert info.value.key == "pin.locked" and info.value.params["minutes"] == 5


def test_a_plain_number_that_is_also_a_book_is_the_book(library, make, clock):
    from kiosk.data.lending.circulation import Circulation

    make.patron("10000001")
    make.patron("20230001")
    make.copy(barcode="10000001")
    plain = Circulation(Store(library, "kiosk-plain", clock=clock), allow_plain_cards=True)
    assert plain.is_card("20230001")
    assert not plain.is_card("10000001")
