"""The desk as a SIP2 server, driven over real TCP by pysip2 (an independent codec).

Every flow runs against an SQLite desk and a PostgreSQL desk: login (and its refusal,
recorded), the status exchange, patron status and information, checkout, checkin with
its sort bin and hold shelf, renew, renew all, item information, hold, end session,
resend, and the terminal's offline ("no block") loans and returns played with the sync's
conflict rules. A SIP2 loan is a fact like a kiosk's: numbered at the desk, pulled by a
kiosk, in the day log and the term report.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import synckit
from pysip2 import (
    HoldRequest,
    ItemInformationRequest,
    PatronInformationRequest,
    RenewAllRequest,
    RenewRequest,
    SCStatusRequest,
)
from sip2kit import LOCATION, TERMINAL, Desk, now, running_desk

from kiosk.data.core import library, masterdata
from kiosk.data.core.facts import utcnow
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Journal, Loan, SyncCase
from kiosk.data.core.store import Store
from kiosk.data.desk import reports
from kiosk.data.lending.circulation import Circulation
from kiosk.data.librarian.daybook import DayBook
from kiosk.sip2.adapter import TERMS_TTL, add_terminal


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def desk(desk_url: str, tmp_path: Path):
    with running_desk(desk_url, tmp_path) as running:
        yield running


def facts(desk: Desk, kind: str | None = None) -> list[Journal]:
    with synckit.on(desk.db):
        query = Journal.select().order_by(Journal.seq)
        if kind:
            query = query.where(Journal.kind == kind)
        return list(query)


def open_loans(desk: Desk) -> dict[str, str]:
    """Copy barcode -> borrower number of every open loan at the desk."""
    state = synckit.state(desk.db)
    return {copy: patron for _, copy, patron, _, returned, *_ in state["loans"] if returned == "None"}


def save(desk: Desk, what: str, **data: object) -> None:
    with synckit.on(desk.db), desk.db.atomic():
        masterdata.save(what, **data)


# -- login and status ---------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_recorded(desk: Desk) -> None:
    terminal = desk.terminal()
    assert terminal.login(password="guess").ok == "0"
    assert terminal.login(name="nobody", password="x").ok == "0"
    assert terminal.login().ok == "1"
    refused = [json.loads(row.data) for row in facts(desk, "refusal")]
    assert [r["reason"] for r in refused] == ["sip2.login_refused"] * 2
    assert [r["params"]["terminal"] for r in refused] == [TERMINAL, "nobody"]
    assert [row.kiosk for row in facts(desk, "refusal")] == [TERMINAL, "sip2"]
    with synckit.on(desk.db):
        log = DayBook(Circulation(Store(desk.db, "desk"))).day_log()
    assert any("自助设备登录失败" in entry.what for entry in log)  # (the librarian's language)


def test_three_refused_logins_close_the_connection(desk: Desk) -> None:
    terminal = desk.terminal()
    for _ in range(3):
        assert terminal.login(password="guess").ok == "0"
    assert terminal.closed()


def test_only_login_and_status_before_a_login(desk: Desk) -> None:
    terminal = desk.terminal()
    status = terminal.send(SCStatusRequest(status_code="0", max_print_width="040",
                                           protocol_version="2.00"))
    assert status.online_status == "Y"
    terminal.sock.sendall(terminal.frame(
        ItemInformationRequest(transaction_date=now(), institution_id="LK", item_identifier="B00001")
    ))
    assert terminal.closed()


def test_the_status_exchange_says_what_is_supported(desk: Desk) -> None:
    terminal = desk.connected()
    status = terminal.send(SCStatusRequest(status_code="0", max_print_width="040",
                                           protocol_version="2.00"))
    assert (status.online_status, status.checkin_ok, status.checkout_ok) == ("Y", "Y", "Y")
    assert status.offline_ok == "Y" and status.protocol_version == "2.00"
    assert status.library_name == "School Library" and status.terminal_location == LOCATION
    # patron status, checkout, checkin, (no block), status, resend, login, patron info,
    # end session, (no fee paid), item info, (no status update, no enable), hold, renew, all
    assert status.supported_messages == "YYYNYYYYYNYNNYYY"
    datetime.strptime(status.date_time_sync, "%Y%m%d    %H%M%S")


# -- patrons -----------------------------------------------------------------------------


def test_patron_status_in_the_patron_language(desk: Desk) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")
    english = terminal.status(card, "001")
    assert english.valid_patron == "Y" and english.personal_name == "Student S0001"
    assert english.patron_status == " " * 14 and english.language == "001"
    assert english.screen_message == ("Hello, Student S0001! You may borrow 50 more.",)
    chinese = terminal.status(card, "019")
    assert chinese.language == "019" and "你好" in chinese.screen_message[0]


def test_a_refused_card_is_explained_and_recorded(desk: Desk) -> None:
    terminal = desk.connected()
    old = desk.card("S0002")
    with synckit.on(desk.db), desk.db.atomic():
        library.issue_card("S0002")  # a new card: the old one is lost
    lost = terminal.status(old)
    assert lost.patron_status[4] == "Y" and lost.patron_status[0] == "Y"
    assert lost.valid_patron == "Y" and "reported lost" in lost.screen_message[0]
    unknown = terminal.status("LK.X9999.1.AAAAAAAAAAAAAAAA")
    assert unknown.valid_patron == "N" and unknown.patron_status[:4] == "YYYY"
    reasons = [json.loads(row.data)["reason"] for row in facts(desk, "refusal")]
    assert reasons == ["card.revoked", "card.forged"]
    refused = terminal.checkout(old, "B00001")
    assert refused.ok == "0" and "reported lost" in refused.screen_message[0]
    assert open_loans(desk) == {}


def test_patron_information_lists_what_the_summary_asks_for(desk: Desk) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")
    for barcode in ("B00001", "B00003", "B00005"):
        assert terminal.checkout(card, barcode).ok == "1"

    def info(summary: str, start: str | None = None, end: str | None = None):
        return terminal.send(PatronInformationRequest(
            language="001", transaction_date=now(), summary=summary, institution_id="LK",
            patron_identifier=card, start_item=start, end_item=end,
        ))

    charged = info("  Y       ")
    assert charged.charged_items_count == "0003" and charged.overdue_items_count == "0000"
    assert charged.charged_items == ("B00001", "B00003", "B00005")
    assert charged.hold_items == () and charged.overdue_items == ()
    assert info("  Y       ", "2", "3").charged_items == ("B00003", "B00005")
    assert info("          ").charged_items == ()


# -- lending -------------------------------------------------------------------------------


def test_a_sip2_loan_is_a_fact_like_any_other(desk: Desk, tmp_path: Path) -> None:
    hall = desk.site.add_kiosk("hall")
    terminal = desk.connected()
    card = desk.card("S0001")
    assert terminal.status(card).valid_patron == "Y"
    lent = terminal.checkout(card, "B00001")
    assert (lent.ok, lent.desensitize, lent.title_identifier) == ("1", "Y", "Book 0")
    due = date.fromisoformat(json.loads(facts(desk, "checkout")[0].data)["due_on"])
    assert lent.due_date.startswith(due.strftime("%Y%m%d"))
    assert lent.screen_message[0].startswith("Borrowed: “Book 0”. Please bring it back by")
    checkout = facts(desk, "checkout")[0]
    assert (checkout.kiosk, checkout.patron, checkout.copy) == (TERMINAL, "S0001", "B00001")
    assert json.loads(checkout.data)["card"] == 1
    assert open_loans(desk) == {"B00001": "S0001"}
    # numbered at the desk: the kiosk pulls it in its next sync and lends it no more
    report = hall.sync(desk.db)
    assert report.pulled >= 1
    assert synckit.state(hall.db)["loans"] == synckit.state(desk.db)["loans"]
    with synckit.on(hall.db):
        assert hall.circulation.patron("S0001").loans[0].barcode == "B00001"
    # in the desk's day log and its term report
    with synckit.on(desk.db):
        log = DayBook(Circulation(Store(desk.db, "desk"))).day_log()
        today = date.today()
        assert reports.term_report(today, today).total_loans == 1
    assert [(e.kind, e.copy, e.kiosk) for e in log if e.kind == "checkout"] == [
        ("checkout", "B00001", TERMINAL)
    ]
    assert synckit.state(desk.db) == synckit.replay(desk.db, tmp_path)


def test_a_checkout_obeys_the_kiosk_rules(desk: Desk) -> None:
    save(desk, "title_saved", key="REF", title="Atlas", kind="reference", author="A")
    save(desk, "copy_saved", copy="R00001", title="REF", shelf="R")
    terminal = desk.connected()
    card = desk.card("S0001")
    refused = terminal.checkout(card, "R00001")
    assert (refused.ok, refused.desensitize) == ("0", "N")
    assert refused.screen_message == (
        "“Atlas” is a reference book: it stays in the library. You can read it here!",
    )
    assert terminal.checkout(desk.card("S0002"), "B00002").ok == "1"
    other = terminal.checkout(card, "B00002")
    assert other.ok == "0" and "still lent to someone else" in other.screen_message[0]
    unknown = terminal.checkout(card, "NOPE")
    assert unknown.ok == "0" and "We do not know this book" in unknown.screen_message[0]
    reasons = [json.loads(row.data)["reason"] for row in facts(desk, "refusal")]
    assert reasons == ["copy.reference_only", "copy.on_loan_other", "copy.unknown"]
    assert all(row.kiosk == TERMINAL for row in facts(desk, "refusal"))


def test_the_returns_only_switch_reaches_the_terminals_within_a_second(desk: Desk) -> None:
    """The server keeps the settings it lends by for a second (kiosk.data.lending.terms):
    the librarian's end-of-term switch refuses a terminal's loans a second later at most
    (a kiosk's, at its next sync), and its returns go on."""
    terminal = desk.connected()
    card = desk.card("S0001")
    assert terminal.checkout(card, "B00001").ok == "1"  # the terms are read, and kept
    save(desk, Kind.SETTING_SAVED, key="returns_only", value="1")
    switched = time.monotonic()
    while (answer := terminal.checkout(card, "B00002")).ok == "1":
        assert time.monotonic() - switched < TERMS_TTL + 0.5, "still lending"
        assert terminal.checkin("B00002").ok == "1"
        time.sleep(0.05)
    assert answer.screen_message == (
        "It is the end of term: books can only be returned now, not borrowed.",
    )
    assert terminal.checkin("B00001").ok == "1"
    assert terminal.status(card).patron_status[0] == "Y"  # charge privileges denied


def renewable_at_once(desk: Desk) -> None:
    """A renewal window as long as a loan: these tests renew a loan just made."""
    save(desk, Kind.SETTING_SAVED, key="renew_window_days", value="30")


def test_a_book_already_yours_is_renewed_when_the_terminal_may(desk: Desk) -> None:
    renewable_at_once(desk)
    terminal = desk.connected()
    card = desk.card("S0001")
    assert terminal.checkout(card, "B00001").ok == "1"
    again = terminal.checkout(card, "B00001")
    assert again.ok == "0" and again.screen_message == ("You already have “Book 0”.",)
    renewed = terminal.checkout(card, "B00001", renew=True)
    assert (renewed.ok, renewed.renewal_ok) == ("1", "Y")
    assert [row.kind for row in facts(desk) if row.kind in ("checkout", "renew")] == [
        "checkout", "renew"
    ]


def test_checkin_says_where_the_book_goes(desk: Desk) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")
    assert terminal.checkout(card, "B00001").ok == "1"
    back = terminal.checkin("B00001")
    assert (back.ok, back.alert, back.sort_bin, back.permanent_location) == ("1", "N", "I", "I")
    assert back.screen_message == ("Returned: “Book 0”. Thank you!",)
    assert open_loans(desk) == {}
    # a hold on the title: the copy goes to the hold shelf, with the 3M extension's fields
    assert terminal.checkout(card, "B00001").ok == "1"
    waiting = desk.card("S0003")
    save(desk, "setting_saved", key="holds_students", value="1")
    held = terminal.send(HoldRequest(
        hold_mode="+", transaction_date=now(), institution_id="LK",
        patron_identifier=waiting, item_identifier="B00001",
    ))
    assert (held.ok, held.queue_position, held.title_identifier) == ("1", "1", "Book 0")
    back = terminal.checkin("B00001")
    assert (back.ok, back.alert, back.sort_bin) == ("1", "Y", "HOLD")
    fields = {part[:2]: part[2:] for part in back_fields(terminal.last)}
    assert (fields["CV"], fields["CY"], fields["DA"], fields["CT"]) == (
        "01", "S0003", "Student S0003", LOCATION
    )
    unknown = terminal.checkin("NOPE")
    assert (unknown.ok, unknown.alert) == ("0", "Y")


def back_fields(frame: bytes) -> list[str]:
    return [part for part in frame.decode().split("|") if part[:2].isalpha()]


def test_renew_and_renew_all(desk: Desk) -> None:
    renewable_at_once(desk)
    terminal = desk.connected()
    card = desk.card("S0001")
    for barcode in ("B00001", "B00003"):
        assert terminal.checkout(card, barcode).ok == "1"

    def renew(barcode: str):
        return terminal.send(RenewRequest(
            third_party_allowed="N", no_block="N", transaction_date=now(), nb_due_date=now(),
            institution_id="LK", patron_identifier=card, item_identifier=barcode,
        ))

    renewed = renew("B00001")
    assert (renewed.ok, renewed.renewal_ok, renewed.title_identifier) == ("1", "Y", "Book 0")
    assert renewed.screen_message[0].startswith("Renewed: “Book 0”. New due date:")
    mine_not = renew("B00002")
    assert mine_not.ok == "0" and "not yours" in mine_not.screen_message[0]
    everything = terminal.send(RenewAllRequest(
        transaction_date=now(), institution_id="LK", patron_identifier=card
    ))
    assert everything.ok == "1"
    assert sorted(everything.renewed_items) == ["B00001", "B00003"]
    # the rules: three renewals at most (synckit's rule); the fourth of B00001 is refused
    assert renew("B00001").renewal_ok == "Y"
    refused = renew("B00001")
    assert refused.ok == "0" and "renewed as many times as allowed" in refused.screen_message[0]


def test_item_information(desk: Desk) -> None:
    terminal = desk.connected()
    item = terminal.send(ItemInformationRequest(
        transaction_date=now(), institution_id="LK", item_identifier="B00004"
    ))
    assert (item.circulation_status, item.title_identifier, item.media_type) == ("03", "Book 1", "001")
    assert item.due_date is None and item.permanent_location == "I"
    assert terminal.checkout(desk.card("S0001"), "B00004").ok == "1"
    item = terminal.send(ItemInformationRequest(
        transaction_date=now(), institution_id="LK", item_identifier="B00004"
    ))
    assert item.circulation_status == "04" and item.due_date
    unknown = terminal.send(ItemInformationRequest(
        transaction_date=now(), institution_id="LK", item_identifier="NOPE"
    ))
    assert unknown.circulation_status == "01" and "We do not know this book" in unknown.screen_message[0]


def test_hold_rules(desk: Desk) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")

    def hold(mode: str, barcode: str = "B00005"):
        return terminal.send(HoldRequest(
            hold_mode=mode, transaction_date=now(), institution_id="LK",
            patron_identifier=card, item_identifier=barcode,
        ))

    # the library's rules for reservations (kiosk.data.lending.holds): students may
    # reserve only where the library allows it
    refused = hold("+")
    assert refused.ok == "0" and "Only teachers may reserve" in refused.screen_message[0]
    assert facts(desk, "refusal")[-1].kiosk == TERMINAL
    save(desk, "setting_saved", key="holds_students", value="1")
    placed = hold("+")
    assert (placed.ok, placed.available) == ("1", "Y")
    again = hold("+", "B00006")  # the same title
    assert again.ok == "0" and "already reserved" in again.screen_message[0]
    assert hold("*").ok == "0"  # changed at the desk only
    holds = facts(desk, "hold")
    assert [(h.kiosk, h.patron, h.copy) for h in holds] == [(TERMINAL, "S0001", "B00005")]
    info = terminal.send(PatronInformationRequest(
        language="001", transaction_date=now(), summary="Y         ", institution_id="LK",
        patron_identifier=card,
    ))
    assert info.hold_items_count == "0001" and info.hold_items == ("Book 2",)
    cancelled = hold("-", "B00006")  # any copy of the title
    assert cancelled.ok == "1" and "cancelled" in cancelled.screen_message[0]
    assert [(f.kiosk, f.patron) for f in facts(desk, "hold_cancelled")] == [(TERMINAL, "S0001")]
    assert hold("-").ok == "0"  # nothing left to cancel


def test_end_session_closes_the_page(desk: Desk) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")
    assert terminal.status(card).valid_patron == "Y"
    ended = terminal.end(card)
    assert ended.end_session == "Y" and ended.screen_message == ("Thank you, goodbye!",)


def test_resend_and_a_repeated_request_do_nothing_twice(desk: Desk) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")
    terminal.checkout(card, "B00001")
    answer = terminal.last
    again = terminal.send_raw(terminal.sent)  # the same message, the same sequence number
    assert terminal.last == answer and again.ok == "1"
    terminal.sock.sendall(b"97AZFEF5\r")
    from sip2kit import read_frame

    assert read_frame(terminal.sock) == answer
    assert len(facts(desk, "checkout")) == 1


# -- offline ---------------------------------------------------------------------------------


def test_an_offline_loan_is_played_by_the_sync_rules(desk: Desk) -> None:
    terminal = desk.connected()
    first, second = desk.card("S0001"), desk.card("S0002")
    assert terminal.checkout(second, "B00001").ok == "1"
    # the terminal lent B00001 to S0001 an hour ago, while it could not reach the desk
    earlier = utcnow() - timedelta(hours=1)
    taken = terminal.checkout(first, "B00001", offline_at=earlier)
    assert taken.ok == "1" and taken.due_date
    offline = facts(desk, "checkout")[-1]
    assert (offline.kiosk, offline.patron) == (TERMINAL, "S0001")
    assert json.loads(offline.data)["offline"] is True
    with synckit.on(desk.db):
        cases = [(c.kind, c.patron, c.copy) for c in SyncCase.select()]
        loans = {loan.patron.number: loan.returned_at for loan in Loan.select()}
    assert cases == [("lent_twice", "S0001", "B00001")]
    assert loans["S0002"] is None and loans["S0001"] is not None  # the later one holds it
    # the terminal sends its stored transaction again: nothing new
    terminal.checkout(first, "B00001", offline_at=earlier)
    assert len(facts(desk, "checkout")) == 2


def test_an_offline_return_older_than_the_loan_changes_nothing(desk: Desk) -> None:
    terminal = desk.connected()
    assert terminal.checkout(desk.card("S0001"), "B00001").ok == "1"
    back = terminal.checkin("B00001", offline_at=utcnow() - timedelta(hours=2))
    assert back.ok == "1"
    assert open_loans(desk) == {"B00001": "S0001"}
    with synckit.on(desk.db):
        assert [c.kind for c in SyncCase.select()] == ["stale_return"]
    later = terminal.checkin("B00001", offline_at=utcnow() + timedelta(seconds=2))
    assert later.ok == "1" and open_loans(desk) == {}


# -- terminals of other kinds ----------------------------------------------------------------


def test_an_old_terminal_speaks_gb18030(desk: Desk) -> None:
    add_terminal(desk.db, "old-unit", "pw", encoding="gb18030", language="zh_CN")
    save(desk, "title_saved", key="CN1", title="西游记", author="吴承恩", kind="book")
    save(desk, "copy_saved", copy="C00001", title="CN1", shelf="I")
    terminal = desk.terminal(encoding="gb18030")
    assert terminal.login("old-unit", "pw").ok == "1"
    lent = terminal.checkout(desk.card("S0001"), "C00001")
    assert lent.ok == "1" and lent.title_identifier == "西游记"
    assert "《西游记》" in lent.screen_message[0] or "西游记" in lent.screen_message[0]
    assert "西游记".encode("gb18030") in terminal.last


def test_plain_cards_where_the_library_allows_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    with running_desk(url, tmp_path, allow_plain_cards=True) as desk:
        save(desk, "patron_saved", patron="20240001", name="Plain Card", kind="student")
        terminal = desk.connected()
        assert terminal.status("20240001").personal_name == "Plain Card"
        assert terminal.checkout("20240001", "B00001").ok == "1"
        assert open_loans(desk) == {"B00001": "20240001"}
    with running_desk(f"sqlite:///{tmp_path / 'other.sqlite'}", tmp_path / "o") as desk:
        save(desk, "patron_saved", patron="20240001", name="Plain Card", kind="student")
        refused = desk.connected().status("20240001")
        assert refused.valid_patron == "N"


def test_what_this_desk_does_not_do_is_answered_no(desk: Desk) -> None:
    from pysip2 import (
        BlockPatronRequest,
        FeePaidRequest,
        ItemStatusUpdateRequest,
        PatronEnableRequest,
    )

    terminal = desk.connected()
    card = desk.card("S0001")
    paid = terminal.send(FeePaidRequest(
        transaction_date=now(), fee_type="01", payment_type="00", currency_type="CNY",
        fee_amount="1.00", institution_id="LK", patron_identifier=card,
    ))
    assert paid.payment_accepted == "N"
    assert paid.screen_message == ("This cannot be done here. Please ask the librarian.",)
    update = terminal.send(ItemStatusUpdateRequest(
        transaction_date=now(), institution_id="LK", item_identifier="B00001", item_properties="x",
    ))
    assert update.item_properties_ok == "0"
    enabled = terminal.send(PatronEnableRequest(
        transaction_date=now(), institution_id="LK", patron_identifier=card,
    ))
    assert enabled.patron_status == " " * 14
    blocked = terminal.send(BlockPatronRequest(
        card_retained="N", transaction_date=now(), institution_id="LK",
        blocked_card_message="lost", patron_identifier=card, terminal_password="",
    ))
    assert blocked.valid_patron is None and blocked.screen_message
    assert terminal.checkout(card, "B00001").ok == "1"  # the session goes on
