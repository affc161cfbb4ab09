"""The registry of fact kinds is complete: every kind has a whole row, in both languages.

A kind missing from a table was the way a fact got lost or shown as a raw name (the
day log printed ``shelf_scan`` for a kind it had no words for); the registry keeps
every table in one row (:mod:`kiosk.data.core.kinds`), and these tests keep the rows whole.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.data.core import fact_words, kinds, masterdata, models, projection
from kiosk.data.core.facts import HybridClock, new_fact
from kiosk.data.core.kinds import KINDS, Batch, Kind
from kiosk.locale import LANGUAGES, catalogue, set_language

SHOWN = [kind for kind, row in KINDS.items() if row.label is not None]


def test_every_kind_has_a_row_and_every_row_a_kind() -> None:
    assert set(KINDS) == {kind.value for kind in Kind}


def test_every_kind_but_master_data_has_a_projection() -> None:
    for kind, row in KINDS.items():
        assert (row.apply is None) == (row.batch is Batch.MASTER), kind


def test_master_data_is_applied_by_masterdata_and_never_shown() -> None:
    assert set(masterdata.APPLY_MANY) == kinds.MASTER
    for kind in kinds.MASTER:
        assert not kinds.shown(kind)
        assert not kinds.applies(kind)


def test_the_batch_path_knows_every_kind_it_plays_in_memory() -> None:
    """A kind played in memory must be one whose rules kiosk.data.sync.batch writes out, or
    one that changes nothing: a new kind marked MEMORY by mistake would never be applied."""
    rules = {projection.checkout, projection.checkin, projection.renew}
    for kind, row in KINDS.items():
        if row.batch is Batch.MEMORY:
            assert row.apply in rules or row.apply is projection.nothing, kind
            if row.apply is projection.nothing:
                assert row.conflicts is None and not row.extras, kind


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shown_kind_has_its_label_and_words(language: str) -> None:
    messages = catalogue(language)
    for kind in SHOWN:
        row = KINDS[kind]
        assert f"lib.log.kind.{row.label}" in messages, (language, kind)
        if row.words is fact_words.plain or row.words is fact_words.with_due:
            assert f"lib.log.what.{kind}" in messages, (language, kind)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shown_kind_is_said_in_words_not_as_its_name(language: str) -> None:
    set_language(language)
    clock = HybridClock("k")
    for kind in SHOWN:
        fact = new_fact(clock, "k", kind, datetime(2025, 3, 12, tzinfo=UTC), patron="S1",
                        copy="B1", reason="card.forged", status="lost", serial=2)
        label = kinds.label(kind)
        said = kinds.describe(kind, fact.data, "Charlotte's Web", "Li Ming")
        assert label and label != kind and not label.startswith("lib."), (kind, label)
        assert said and said != kind and "lib.log" not in said, (kind, said)


def test_an_unknown_kind_is_shown_by_its_name_and_never_applied() -> None:
    """A kind only a newer kiosk knows: kept and shown as it is, not applied here."""
    assert not kinds.known("teleport")
    assert not kinds.applies("teleport")
    assert kinds.label("teleport") == "teleport"
    with pytest.raises(KeyError):
        kinds.apply(new_fact(HybridClock("k"), "k", "teleport", datetime.now(UTC)))


def test_the_store_makes_only_registered_kinds(circulation) -> None:
    with pytest.raises(ValueError, match="teleport"):
        circulation.store.fact("teleport")
    assert circulation.store.fact(Kind.CHECKIN, copy="B1").kind == "checkin"
    assert type(circulation.store.fact(Kind.CHECKIN, copy="B1").kind) is str


def test_the_reviewed_cases_index_names_the_registered_kind() -> None:
    assert models.CASE_REVIEWED == Kind.CASE_REVIEWED
