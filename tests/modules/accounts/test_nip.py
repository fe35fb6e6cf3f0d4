"""NIP (PNS) and NI PPPK validation: each rule on its own."""

from __future__ import annotations

from datetime import date

import pytest

from modules.accounts.nip import NipError, parse_nip

TODAY = date(2026, 11, 23)


def test_valid_pns_nip_is_parsed() -> None:
    parsed = parse_nip("19850314 201001 1 001", TODAY)
    assert parsed.employment_type == "PNS"
    assert parsed.birth_date == date(1985, 3, 14)
    assert (parsed.appointment_year, parsed.appointment_month) == (2010, 1)
    assert parsed.sex == "M" and parsed.serial == 1


def test_pppk_number_is_accepted_although_21_is_no_month() -> None:
    parsed = parse_nip("199203182022212004", TODAY)
    assert parsed.employment_type == "PPPK"
    assert parsed.appointment_year == 2022 and parsed.appointment_month is None
    assert parsed.sex == "F" and parsed.serial == 4


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "Enter your NIP"),
        ("19850314201001100A", "digits only"),
        ("１９８５０３１４２０１００１１００１", "digits only"),  # full-width digits
        ("1985031420100110", "exactly 18 digits"),
        ("1985031420100110011", "exactly 18 digits"),
        ("198502302010011001", "real birth date"),  # 30 February
        ("198513142010011001", "real birth date"),  # month 13
        ("193003142010011001", "birth year is not plausible"),
        ("201503142010011001", "birth year is not plausible"),
        ("198503142010001001", "appointment month (01-12)"),
        ("198503142010131001", "appointment month (01-12)"),
        ("198503142010221001", "appointment month (01-12)"),  # 22: neither month nor PPPK code
        ("198503142027011001", "lies in the future"),
        ("198503142026121001", "lies in the future"),  # December 2026 is after November 2026
        ("198503141999011001", "less than 18 years after birth"),
        ("194103142010011001", "too long after the birth date"),
        ("198503142010013001", "Digit 15 must be 1 (male) or 2 (female)"),
        ("198503142010010001", "Digit 15 must be 1 (male) or 2 (female)"),
        ("198503142010011000", "serial number from 001 to 999"),
        ("199203182022213001", "Digit 15"),  # PPPK with a bad sex digit
        ("199203182030211001", "lies in the future"),  # PPPK appointed in the future
    ],
)
def test_each_rule_is_enforced(number: str, message: str) -> None:
    with pytest.raises(NipError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_nip(number, TODAY)
