"""Finding an agency by what a person types: the exact name or code in any case, the one
agency whose name holds every word typed, else the candidates to choose from (several, or names
spelt nearly like the text), and none at all for text that fits nothing."""

from __future__ import annotations

import pytest

from modules.agencies import service as agencies_service


@pytest.fixture
def agencies(session):
    return agencies_service.list_active(session=session)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        # the exact name, as the <datalist> fills it in, in any case and spacing
        ("Pemerintah Kota Bandung", "K3273"),
        ("  pemerintah  KOTA bandung ", "K3273"),
        ("Badan Kepegawaian Negara", "LB-BKN"),
        # the name as people say it: without "Pemerintah", the kind shortened
        ("Kota Bandung", "K3273"),
        ("Kabupaten Bandung", "K3204"),
        ("Kab. Bandung", "K3204"),
        ("Pemkab Bandung Barat", "K3217"),
        # the code, or a central agency's acronym
        ("K3273", "K3273"),
        ("k3204", "K3204"),
        ("LB-BKN", "LB-BKN"),
        ("bkn", "LB-BKN"),
        ("Kemenag", "KM-KEMENAG"),
        # a part of the name that only one agency has
        ("cimahi", "K3277"),
        ("kepegawaian", "LB-BKN"),
        ("bandung barat", "K3217"),
    ],
)
def test_text_naming_one_agency_resolves_to_it(agencies, typed: str, code: str) -> None:
    found = agencies_service.lookup(agencies, typed)
    assert found.agency is not None and found.agency.code == code
    assert found.problem(typed) is None


def test_a_part_several_names_share_offers_them_all(agencies) -> None:
    found = agencies_service.lookup(agencies, "Bandung")
    assert found.agency is None and not found.similar
    assert [a.code for a in found.candidates] == ["K3204", "K3217", "K3273"]  # picker order
    assert found.count == 3
    assert found.problem("Bandung") == (
        "Several agencies match what you typed. Choose yours below."
    )


def test_a_part_too_many_names_share_asks_for_more(agencies) -> None:
    found = agencies_service.lookup(agencies, "kabupaten")
    assert found.agency is None and found.candidates == ()
    assert found.count > agencies_service.MAX_CANDIDATES
    assert "Too many agencies" in (found.problem("kabupaten") or "")


def test_a_misspelt_name_is_suggested_never_chosen(agencies) -> None:
    found = agencies_service.lookup(agencies, "Kota Bandug")
    assert found.agency is None and found.similar
    assert "K3273" in [a.code for a in found.candidates]
    assert found.problem("Kota Bandug") == "No agency has that name. Is it one of these?"
    # one close name is offered too, not taken: the person confirms it
    only = agencies_service.lookup(agencies, "Cimahy")
    assert only.agency is None and [a.code for a in only.candidates] == ["K3277"]


@pytest.mark.parametrize("typed", ["Dinas Khayalan Sekali", "zzzz", "Pemerintah", "..."])
def test_text_fitting_nothing_has_no_candidates(agencies, typed: str) -> None:
    found = agencies_service.lookup(agencies, typed)
    assert found.agency is None and found.candidates == () and found.count == 0
    assert "No agency matches" in (found.problem(typed) or "")


def test_blank_text_asks_to_choose(agencies) -> None:
    found = agencies_service.lookup(agencies, "   ")
    assert found.agency is None
    assert found.problem("   ") == "Choose your agency from the list."


def test_pick_takes_the_text_then_a_chosen_id(agencies) -> None:
    by_code = {a.code: a for a in agencies}
    kota, kabupaten = by_code["K3273"], by_code["K3204"]
    # ambiguous text and one of its candidates chosen (a radio button, or a script's id)
    chosen = agencies_service.pick(agencies, text="Bandung", agency_id=str(kota.id))
    assert chosen.agency == kota
    assert agencies_service.pick(agencies, text="", agency_id=f" {kota.id} ").agency == kota
    # text that names one agency wins over a stale choice: it is what the box shows
    typed = agencies_service.pick(agencies, text="Kabupaten Bandung", agency_id=str(kota.id))
    assert typed.agency == kabupaten
    # an id that is no active agency is no choice
    assert agencies_service.pick(agencies, text="", agency_id="999999").agency is None
    assert agencies_service.pick(agencies, text="Bandung", agency_id="x").count == 3


def test_inactive_agencies_are_not_found(session) -> None:
    bkn = agencies_service.get_by_code(session=session, code="LB-BKN")
    assert bkn is not None
    bkn.active = False
    session.add(bkn)
    session.commit()
    active = agencies_service.list_active(session=session)
    assert agencies_service.lookup(active, "Badan Kepegawaian Negara").agency is None
    assert agencies_service.pick(active, text="", agency_id=str(bkn.id)).agency is None


def test_overlong_text_is_not_searched(agencies) -> None:
    typed = "kota " * 100
    found = agencies_service.lookup(agencies, typed)
    assert found.agency is None and found.count == 0
    assert "No agency matches" in (found.problem(typed) or "")
