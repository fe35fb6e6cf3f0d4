"""HR roster import, the service: reading CSV (`,` or `;`) and XLSX, refusing bad files whole,
checking each row (with row, column and reason) within the uploader's scope, and applying every
valid row in one transaction, idempotently."""

from __future__ import annotations

import io
import threading
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlmodel import Session, select

from modules.accounts import roster, roster_file
from modules.accounts.grants import Scope
from modules.accounts.models import User
from modules.agencies import service as agencies_service
from modules.audit.models import AuditEvent
from tests.conftest import make_user

HEADER = ("nip", "nama", "email", "instansi", "unit_kerja", "jabatan", "golongan", "jenis_pegawai")
SITI = ("199001012015031001", "Siti Rahmawati", "siti@bkn.go.id", "LB-BKN", "Bidang A",
        "Analis SDM", "III/a", "PNS")  # fmt: skip
BUDI = ("199505052023212001", "Budi Santoso", "budi@bkn.go.id", "LB-BKN", "Bidang B",
        "Pengelola Layanan", "VII", "PPPK")  # fmt: skip
TODAY = date(2026, 11, 23)


def row(base: tuple[str, ...] = SITI, **changes: str) -> tuple[str, ...]:
    """A row like `base` with some columns replaced (by header name)."""
    cells = list(base)
    for name, value in changes.items():
        cells[HEADER.index(name)] = value
    return tuple(cells)


def csv_bytes(*rows: tuple[str, ...], sep: str = ",", header: tuple[str, ...] = HEADER) -> bytes:
    return "\n".join(sep.join(r) for r in (header, *rows)).encode() + b"\n"


def xlsx_bytes(*rows: tuple[object, ...], header: tuple[str, ...] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    for cells in (header, *rows):
        sheet.append(list(cells))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def agency(session: Session, code: str = "LB-BKN") -> int:
    found = agencies_service.get_by_code(session=session, code=code)
    assert found and found.id
    return found.id


def hr_scope(session: Session, code: str = "LB-BKN", unit: str | None = None) -> Scope:
    if unit:
        return Scope(units=frozenset({(agency(session, code), unit.lower())}))
    return Scope(agencies=frozenset({agency(session, code)}))


def check(session: Session, raw: bytes, scope: Scope | None = None) -> roster.Plan:
    table = roster_file.read(raw, max_rows=1000)
    return roster.check(session=session, table=table, scope=scope or hr_scope(session), today=TODAY)


def apply(session: Session, raw: bytes, scope: Scope | None = None) -> roster.Plan:
    table = roster_file.read(raw, max_rows=1000)
    return roster.apply(
        session=session,
        table=table,
        scope=scope or hr_scope(session),
        today=TODAY,
        actor_id=None,
        address="test",
        filename="roster.csv",
        sha256="0" * 64,
    )


def people(session: Session) -> list[tuple]:
    rows = session.exec(select(User).order_by(User.nip)).all()
    return [
        (u.nip, u.employment_type, u.name, u.email, u.agency_id, u.work_unit, u.position, u.grade,
         u.password_hash)
        for u in rows
    ]  # fmt: skip


@pytest.mark.parametrize("sep", [",", ";"])
def test_a_good_csv_with_commas_or_semicolons_creates_people_who_cannot_log_in_yet(
    session, sep
) -> None:
    raw = b"\xef\xbb\xbf" + csv_bytes(SITI, BUDI, sep=sep)  # Excel's "CSV UTF-8" has a BOM
    dry = check(session, raw)
    assert [(r.row, r.outcome) for r in dry.results] == [(2, "created"), (3, "created")]
    assert people(session) == []
    done = apply(session, raw)
    assert done.counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    bkn = agency(session)
    assert people(session) == [
        ("199001012015031001", "PNS", "Siti Rahmawati", "siti@bkn.go.id", bkn, "Bidang A",
         "Analis SDM", "III/a", ""),
        ("199505052023212001", "PPPK", "Budi Santoso", "budi@bkn.go.id", bkn, "Bidang B",
         "Pengelola Layanan", "VII", ""),
    ]  # fmt: skip


def test_a_good_xlsx_is_read_from_its_first_sheet(session) -> None:
    header = ("NIP", "Name", "Email", "Agency", "Unit", "Position", "Grade", "Employment Type")
    raw = xlsx_bytes(SITI, (), row(BUDI, golongan="vii"), header=header)  # a blank row between
    plan = check(session, raw)
    assert [(r.row, r.outcome) for r in plan.results] == [(2, "created"), (4, "created")]
    assert plan.headers["unit"] == "Unit"
    apply(session, raw)
    assert [p[7] for p in people(session)] == ["III/a", "VII"]


def test_applying_the_same_file_again_changes_nothing_and_a_change_is_listed_by_column(
    session,
) -> None:
    raw = csv_bytes(SITI, BUDI)
    apply(session, raw)
    before = people(session)
    again = apply(session, raw)
    assert [r.outcome for r in again.results] == ["unchanged", "unchanged"]
    assert again.creates == [] and again.updates == []
    assert people(session) == before
    changed = csv_bytes(row(SITI, jabatan="Analis SDM Ahli Muda", golongan="III/b"), BUDI)
    plan = apply(session, changed)
    assert [(r.outcome, r.fields) for r in plan.results] == [
        ("updated", ("position", "grade")),
        ("unchanged", ()),
    ]
    siti = session.exec(select(User).where(User.nip == SITI[0])).one()
    session.refresh(siti)
    assert (siti.position, siti.grade, siti.password_hash) == ("Analis SDM Ahli Muda", "III/b", "")
    imports = session.exec(select(AuditEvent).where(AuditEvent.action == "roster.import")).all()
    assert len(imports) == 3 and '"unchanged": 2' in imports[1].detail


def _reasons(plan: roster.Plan) -> dict[int, list[tuple[str, str]]]:
    return {
        r.row: [(x.column, x.message % x.values) for x in r.reasons]
        for r in plan.results
        if r.outcome == "rejected"
    }


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"nip": "19900101201503100"}, "nip", "A NIP has exactly 18 digits."),
        ({"nip": "199013012015031001"}, "nip", "Digits 1-8 must be a real birth date"),
        ({"jenis_pegawai": "PPPK"}, "jenis_pegawai", "The NIP is a PNS number, but this column"),
        ({"jenis_pegawai": "honorer"}, "jenis_pegawai", "Write PNS or PPPK."),
        ({"golongan": "IX"}, "golongan", "Not a PNS grade"),
        ({"email": "siti.bkn.go.id"}, "email", "Enter a valid email address"),
        ({"nama": ""}, "nama", "Give the person's full name"),
        ({"unit_kerja": ""}, "unit_kerja", "Fill this column"),
        ({"instansi": "XX-0000"}, "instansi", "No agency has this code"),
        ({"instansi": "LB-LAN"}, "instansi", "You may not import people of this agency."),
    ],
)
def test_bad_rows_are_rejected_with_row_column_and_reason_and_the_rest_applies(
    session, changes, column, message
) -> None:
    plan = apply(session, csv_bytes(BUDI, row(**changes)))
    assert [r.outcome for r in plan.results] == ["created", "rejected"]
    (reason,) = _reasons(plan)[3]
    assert plan.headers.get(reason[0], reason[0]) == column
    assert reason[1].startswith(message)
    assert [p[0] for p in people(session)] == [BUDI[0]]


def test_a_pppk_row_needs_a_pppk_grade(session) -> None:
    plan = check(session, csv_bytes(row(BUDI, golongan="III/a")))
    assert _reasons(plan) == {2: [("grade", "Not a PPPK grade: write I to XVII.")]}


def test_inactive_agencies_taken_emails_and_repeats_in_the_file_are_rejected(session) -> None:
    lan = agencies_service.get_by_code(session=session, code="LB-LAN")
    lan.active = False
    session.add(lan)
    session.commit()
    make_user(session, nip_number="198001012005011001", email="taken@bkn.go.id")
    rows = (
        SITI,
        row(nip="199001012015031002", email="lan@bkn.go.id", instansi="LB-LAN"),
        row(nip="199001012015031003", email="TAKEN@bkn.go.id"),
        row(nama="Siti Kembar", email="kembar@bkn.go.id"),  # SITI's NIP again
        row(nip="199001012015031004"),  # SITI's email again
    )
    plan = check(session, csv_bytes(*rows), Scope(everything=True))
    assert _reasons(plan) == {
        3: [("agency", "This agency is no longer active.")],
        4: [("email", "Another person's account already uses this email.")],
        5: [("nip", "This NIP already appears in row 2.")],
        6: [("email", "This email already appears in row 2.")],
    }


def test_a_person_outside_the_scope_is_rejected_without_naming_their_agency(session) -> None:
    make_user(
        session, nip_number=SITI[0], email="siti@lan.go.id", agency_id=agency(session, "LB-LAN")
    )
    plan = check(session, csv_bytes(SITI))
    (reason,) = _reasons(plan)[2]
    assert reason[0] == "nip" and "outside the agencies and units you manage" in reason[1]
    assert "LAN" not in reason[1] and "Lembaga" not in reason[1]


def test_hr_of_one_work_unit_imports_only_that_unit(session) -> None:
    scope = hr_scope(session, unit="Bidang A")
    rows = (row(unit_kerja="bidang  a"), row(BUDI, unit_kerja="Bidang B"))
    plan = check(session, csv_bytes(*rows), scope)
    assert [r.outcome for r in plan.results] == ["created", "rejected"]
    assert _reasons(plan)[3] == [
        ("unit", "You may only import people of the work units your HR role covers.")
    ]
    make_user(session, nip_number=BUDI[0], email="budi@bkn.go.id", work_unit="Bidang B")
    moved = check(session, csv_bytes(row(BUDI, unit_kerja="Bidang A")), scope)
    assert "outside the agencies and units" in _reasons(moved)[2][0][1]  # not theirs to move


def test_a_nip_stored_as_a_number_in_xlsx_is_refused_with_advice(session) -> None:
    as_int = (int(SITI[0]), *SITI[1:])
    as_float = (float(BUDI[0]), *BUDI[1:])
    plan = check(session, xlsx_bytes(as_int, as_float))
    reasons = _reasons(plan)
    assert set(reasons) == {2, 3}
    assert all("format the NIP column as Text" in r[0][1] for r in reasons.values())


@pytest.mark.parametrize("written", ["1.99001E+17", "1,99001E+17", "2E+17"])
def test_a_nip_excel_wrote_in_scientific_notation_into_a_csv_gets_the_same_advice(
    session, written
) -> None:
    plan = check(session, csv_bytes(row(nip=written), sep=";"))
    assert "format the NIP column as Text" in _reasons(plan)[2][0][1]


def test_numbers_and_dates_in_other_xlsx_columns_are_read_as_text(session) -> None:
    plan = check(session, xlsx_bytes(row(jabatan=12, unit_kerja=date(2026, 1, 2))))  # type: ignore[arg-type]
    assert [r.outcome for r in plan.results] == ["created"]
    assert plan.creates[0]["position"] == "12" and plan.creates[0]["work_unit"] == "2026-01-02"


OLD_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("nip,nama\n1,Désirée\n".encode("cp1252"), "The file is not UTF-8 text"),
        (csv_bytes(SITI, sep="\t"), "The columns are separated by tabs"),
        (csv_bytes(SITI, sep="|"), "The columns are separated by '|'"),
        (b"nip,nama,email\n1,2,3\n", "Missing columns: agency/instansi, unit/unit_kerja"),
        (csv_bytes(header=("nip", "nama", "name", *HEADER[2:])), "The column name appears twice"),
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf \r\n", "The file is empty."),
        (b"x" * (roster_file.MAX_BYTES + 1), "The file is larger than 10 MB"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "This file is not a CSV or XLSX"),
        (b"%PDF-1.7\n" + bytes(range(1, 32)) * 40, "This file is not a CSV or XLSX"),
        (OLD_XLS, "This is an old Excel file (.xls)"),
        (b"PK\x03\x04" + b"rusak" * 50, "cannot be opened as an Excel workbook"),
        ("nip,nama".encode("utf-16"), "The file is UTF-16 text"),
        (csv_bytes(), "has no rows below them"),
        (xlsx_bytes(()), "has no rows below them"),
        (b'nip,nama,email,instansi,unit,jabatan,golongan,jenis_pegawai\n"1,2\x00', "CSV"),
    ],
)
def test_bad_files_are_refused_whole_with_a_clear_reason(session, raw, message) -> None:
    with pytest.raises(roster_file.RosterFileError) as refused:
        roster_file.read(raw, max_rows=1000)
    assert message in str(refused.value)


@pytest.mark.parametrize("maker", [csv_bytes, xlsx_bytes])
def test_more_rows_than_allowed_are_refused_whole(maker) -> None:
    raw = maker(SITI, BUDI, row(nip="199001012015031002"))
    assert len(roster_file.read(raw, max_rows=3).rows) == 3
    with pytest.raises(roster_file.RosterFileError) as refused:
        roster_file.read(raw, max_rows=2)
    assert str(refused.value).startswith("The file has more than 2 rows")


def test_a_zip_that_unpacks_huge_is_refused_before_it_is_opened(monkeypatch) -> None:
    monkeypatch.setattr(roster_file, "MAX_UNPACKED", 1000)
    with pytest.raises(roster_file.RosterFileError) as refused:
        roster_file.read(xlsx_bytes(SITI), max_rows=10)
    assert "too large once unpacked" in str(refused.value)


def test_an_apply_that_fails_midway_writes_nothing(session, monkeypatch) -> None:
    apply(session, csv_bytes(SITI))
    before = people(session)

    def broken(**_kw: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(roster.audit, "record", broken)
    raw = csv_bytes(row(jabatan="Kepala Bidang"), BUDI)
    with pytest.raises(RuntimeError):
        apply(session, raw)
    assert people(session) == before  # neither the update nor the new person landed


def test_an_email_taken_after_the_dry_run_rejects_that_row_at_apply(session) -> None:
    raw = csv_bytes(SITI, BUDI)
    assert check(session, raw).counts["created"] == 2
    make_user(session, nip_number="198001012005011001", email="budi@bkn.go.id")
    plan = apply(session, raw)
    assert plan.counts == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert _reasons(plan)[3][0][0] == "email"


def test_the_report_has_one_line_per_reason_and_the_changed_columns(session) -> None:
    apply(session, csv_bytes(SITI))
    plan = check(session, csv_bytes(row(jabatan="Kepala"), row(BUDI, nip="1", golongan="X/z")))
    lines = list(roster.report_lines(plan, lambda message: message))
    assert lines[0] == ["Row", "NIP", "Name", "Outcome", "Column", "Reason"]
    assert lines[1] == [2, SITI[0], "Siti Rahmawati", "updated", "jabatan", ""]
    assert [line[4] for line in lines[2:]] == ["nip", "golongan"]
    assert all(line[:4] == [3, "1", "Budi Santoso", "rejected"] for line in lines[2:])


def test_two_confirmations_at_once_apply_the_upload_once(app) -> None:
    from modules.accounts import roster_uploads

    with Session(app.state.engine) as session:
        hr = make_user(session, nip_number="198001012005011001", email="hr@bkn.go.id")
        raw = csv_bytes(SITI, BUDI)
        table = roster_file.read(raw, max_rows=10)
        upload_id = roster_uploads.store(
            session=session, user_id=hr.id, filename="a.csv", raw=raw, table=table
        )
        scope, hr_id = hr_scope(session), hr.id
    outcomes: list[str] = []

    def confirm() -> None:
        with Session(app.state.engine) as own:
            try:
                roster.apply(
                    session=own,
                    table=table,
                    scope=scope,
                    today=TODAY,
                    actor_id=hr_id,
                    address="test",
                    filename="a.csv",
                    sha256="0" * 64,
                    upload_id=upload_id,
                )
                outcomes.append("applied")
            except roster.RosterError as exc:
                outcomes.append(str(exc))

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["This file was applied already.", "applied"]
    with Session(app.state.engine) as session:
        assert len(people(session)) == 3  # the HR officer and the two imported
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "roster.import")).all()
        assert len(events) == 1 and events[0].subject_id == upload_id


@hyp_settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
@example(b"\r!")  # a lone carriage return in the header line once escaped as a csv.Error
def test_any_bytes_give_a_table_or_a_clear_refusal(raw: bytes) -> None:
    for candidate in (raw, ",".join(HEADER).encode() + b"\n" + raw):
        try:
            roster_file.read(candidate, max_rows=50)
        except roster_file.RosterFileError as exc:
            assert exc.message  # a message for people, never a crash


CELL = st.text(max_size=30) | st.sampled_from(
    ["", "PNS", "PPPK", "III/a", "VII", "LB-BKN", SITI[0]]
)


@hyp_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(*[CELL] * len(HEADER)), min_size=1, max_size=8))
def test_any_rows_are_checked_without_crashing(session, rows) -> None:
    import csv as csv_module

    buffer = io.StringIO()
    csv_module.writer(buffer).writerows([HEADER, *rows])
    try:
        table = roster_file.read(buffer.getvalue().encode(), max_rows=50)
    except roster_file.RosterFileError:
        return  # e.g. every row blank
    plan = roster.check(session=session, table=table, scope=hr_scope(session), today=TODAY)
    assert len(plan.results) == len(table.rows)
    assert all(r.reasons for r in plan.results if r.outcome == "rejected")
