"""A synthetic national population for `bench/reports.py`: learners in agencies with skewed
sizes, and their progress in the shipped course, written with set-based SQL.

Everything random comes from one hash, PostgreSQL's `hashint8extended(value, seed)`. On SQLite
the same function is registered from Python (`hash8` below reproduces it bit for bit), and
every derived value is integer arithmetic on 16-bit slices of it, so the same `--seed` gives
the same people, progress and certificates on both databases: report figures can be compared
across them.

Rows are made by `INSERT … SELECT` over a numbered set (PostgreSQL `generate_series`, SQLite
a recursive CTE) joined to small staging tables (agencies, work units, names, positions,
grades, modules, lessons, questions) that are built in Python. The people themselves never
exist as Python objects.
"""

from __future__ import annotations

import functools
import math
import random
import re
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

# ---------------------------------------------------------------------------------------------
# The hash
# ---------------------------------------------------------------------------------------------

_M32 = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


@functools.lru_cache(maxsize=256)
def _seeded(seed: int) -> tuple[int, int, int]:
    """Jenkins lookup3 state after mixing in the seed (hash_bytes_uint32_extended)."""
    a = b = c = (0x9E3779B9 + 4 + 3923095) & _M32
    if seed:
        s = seed & 0xFFFFFFFFFFFFFFFF
        a = (a + (s >> 32)) & _M32
        b = (b + (s & _M32)) & _M32
        a = (a - c) & _M32
        a ^= _rot(c, 4)
        c = (c + b) & _M32
        b = (b - a) & _M32
        b ^= _rot(a, 6)
        a = (a + c) & _M32
        c = (c - b) & _M32
        c ^= _rot(b, 8)
        b = (b + a) & _M32
        a = (a - c) & _M32
        a ^= _rot(c, 16)
        c = (c + b) & _M32
        b = (b - a) & _M32
        b ^= _rot(a, 19)
        a = (a + c) & _M32
        c = (c - b) & _M32
        c ^= _rot(b, 4)
        b = (b + a) & _M32
    return a, b, c


def hash8(value: int, seed: int) -> int:
    """PostgreSQL's `hashint8extended(value, seed)` (a signed 64-bit integer)."""
    lo, hi = value & _M32, (value >> 32) & _M32
    lo ^= hi if value >= 0 else (~hi & _M32)
    a, b, c = _seeded(seed)
    a = (a + lo) & _M32
    c ^= b
    c = (c - _rot(b, 14)) & _M32
    a ^= c
    a = (a - _rot(c, 11)) & _M32
    b ^= a
    b = (b - _rot(a, 25)) & _M32
    c ^= b
    c = (c - _rot(b, 16)) & _M32
    a ^= c
    a = (a - _rot(c, 4)) & _M32
    b ^= a
    b = (b - _rot(a, 14)) & _M32
    c ^= b
    c = (c - _rot(b, 24)) & _M32
    r = (b << 32) | c
    return r - (1 << 64) if r >= 1 << 63 else r


# ---------------------------------------------------------------------------------------------
# SQL that differs between the two databases
# ---------------------------------------------------------------------------------------------


class Sql:
    """Snippets for the dialect at hand. Times are integer seconds since the Unix epoch until
    they are written; `ts` turns them into what SQLAlchemy stores (timestamptz on PostgreSQL,
    `YYYY-MM-DD HH:MM:SS.ffffff` text in UTC on SQLite)."""

    def __init__(self, dialect: str, seed: int) -> None:
        self.pg = dialect == "postgresql"
        self.seed = seed

    def h(self, expr: str, salt: int) -> str:
        """A 64-bit hash of an integer expression; `salt` gives independent streams."""
        seed = self.seed * 1000 + salt
        if self.pg:
            return f"hashint8extended(({expr})::bigint, {seed})"
        return f"bench_h({expr}, {seed})"

    @staticmethod
    def u(column: str, k: int) -> str:
        """Slice k (0-3) of a hash: an integer uniform on 0..65535."""
        return f"((({column}) >> {16 * k}) & 65535)"

    def ts(self, secs: str) -> str:
        if self.pg:
            return f"to_timestamp({secs})"
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', {secs}, 'unixepoch')"

    def day(self, days: str) -> str:
        """A DATE from days since the epoch."""
        if self.pg:
            return f"(DATE '1970-01-01' + ({days})::integer)"
        return f"date(({days}) * 86400, 'unixepoch')"

    def year_jakarta(self, secs: str) -> str:
        """The calendar year in Asia/Jakarta (UTC+7, no daylight saving) of a moment."""
        if self.pg:
            local = f"to_timestamp(({secs}) + 25200) AT TIME ZONE 'UTC'"
            return f"CAST(extract(year FROM {local}) AS integer)"
        return f"CAST(strftime('%Y', ({secs}) + 25200, 'unixepoch') AS INTEGER)"

    def pad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(({expr})::text, {width}, '0')"
        return f"printf('%0{width}d', {expr})"

    def hex16(self, expr: str) -> str:
        """Sixteen hex digits of a 64-bit integer (two's complement when negative)."""
        if self.pg:
            return f"lpad(to_hex({expr}), 16, '0')"
        return f"printf('%016x', {expr})"

    def txt(self, expr: str) -> str:
        return f"CAST({expr} AS {'text' if self.pg else 'TEXT'})"

    def least(self, a: str, b: str) -> str:
        return f"{'LEAST' if self.pg else 'min'}({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"{'GREATEST' if self.pg else 'max'}({a}, {b})"


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST_M = _words(
    "Agus Ahmad Andi Arif Bambang Budi Dedi Dimas Eko Fajar Fikri Hendra Heru Imam Irfan Joko "
    "Made Muhammad Nyoman Putu Rahmat Reza Rizky Rudi Slamet Sugeng Teguh Wahyu Yusuf Hadi Iwan "
    "Gede Ketut Yohanes Petrus Hasan Ridwan Syahrul Firman Taufik Bayu Dwi Adi Arief Yoga "
    "Ilham Andreas Samuel Frans Kadek Wayan Rahmad Zulkifli Hidayat Asep Dadang Ujang Yudi "
    "Faisal Ikhsan Rian Hamzah"
)
FIRST_F = _words(
    "Ani Ayu Dewi Dian Endang Fitri Indah Intan Kartika Lina Maria Mega Novi Nur Nurul Putri "
    "Ratna Rina Rini Siti Sri Sari Tuti Wulan Yanti Yuli Desi Eka Fransiska Aisyah Annisa "
    "Novita Rahma Diah Lilis Neneng Euis Yuyun Made Kadek Komang Yohana Magdalena Theresia "
    "Maya Retno Tri Wiwik Yeni Evi Ika Nining Susi Erna Farida Hana Laila Melati Nadia Rosa "
    "Vina Zahra"
)
LAST_COMMON = _words(
    "Siregar Nasution Harahap Lubis Sinaga Sembiring Ginting Tarigan Pasaribu Manurung "
    "Simanjuntak Hasibuan Tanjung Kaunang Wenas Rumengan Latuconsina Rumbiak Daulay Situmorang"
)
LAST_M = _words(
    "Santoso Wijaya Saputra Hidayat Pratama Kurniawan Setiawan Gunawan Wibowo Nugroho Prasetyo "
    "Firmansyah Ramadhan Susanto Utomo Hartono Purnomo Sulistyo Hakim Rahman Syahputra "
    "Suryadi Permana Hermawan Kusuma Nugraha Maulana Effendi Sutrisno Haryanto Iskandar Salim"
)
LAST_F = _words(
    "Lestari Handayani Rahayu Wulandari Anggraini Maharani Permatasari Puspitasari Saputri "
    "Kusumawati Rahmawati Susanti Fitriani Yuliani Oktaviani Novitasari Purnamasari Safitri "
    "Hartati Suryani Wahyuni Kurniasih Damayanti Pratiwi Utami Setyaningsih Mulyani Astuti "
    "Ningsih Sulastri Febriani Amalia"
)
# About two in five have no degree in their recorded name; the rest carry the usual suffixes.
DEGREES = [""] * 16 + [
    ", S.E.",
    ", S.H.",
    ", S.Pd.",
    ", S.Pd.",
    ", S.Kom.",
    ", S.Sos.",
    ", S.Kep., Ners",
    ", S.T.",
    ", S.IP.",
    ", S.Ag.",
    ", A.Md.",
    ", A.Md.Keb.",
    ", A.Md.Kep.",
    ", S.E., M.M.",
    ", S.H., M.H.",
    ", S.Pd., M.Pd.",
    ", S.Sos., M.Si.",
    ", S.T., M.T.",
    ", S.Farm., Apt.",
    ", S.Ak.",
    ", S.Kes.",
    ", M.Si.",
    ", S.E., M.Ak.",
    ", S.Psi.",
]

# Sixteen positions per kind of unit (repeats weight the common ones).
POSITIONS = {
    "umum": [
        "Analis Kebijakan Ahli Pertama",
        "Analis Kebijakan Ahli Muda",
        "Analis Sumber Daya Manusia Aparatur Ahli Pertama",
        "Pranata Komputer Ahli Pertama",
        "Pranata Komputer Terampil",
        "Arsiparis Terampil",
        "Analis Keuangan Pusat dan Daerah Ahli Muda",
        "Auditor Ahli Pertama",
        "Perencana Ahli Muda",
        "Pengadministrasi Perkantoran",
        "Pengadministrasi Perkantoran",
        "Penata Layanan Operasional",
        "Penata Layanan Operasional",
        "Pengelola Layanan Operasional",
        "Pengelola Pengadaan Barang/Jasa Ahli Pertama",
        "Kepala Subbagian Umum",
    ],
    "sekolah": [
        "Guru Ahli Pertama",
        "Guru Ahli Pertama",
        "Guru Ahli Pertama",
        "Guru Ahli Pertama",
        "Guru Ahli Muda",
        "Guru Ahli Muda",
        "Guru Ahli Muda",
        "Guru Ahli Madya",
        "Guru Ahli Madya",
        "Guru Ahli Pertama",
        "Guru Ahli Muda",
        "Kepala Sekolah",
        "Pustakawan Terampil",
        "Pengadministrasi Perkantoran",
        "Penata Layanan Operasional",
        "Guru Ahli Pertama",
    ],
    "kesehatan": [
        "Perawat Terampil",
        "Perawat Terampil",
        "Perawat Ahli Pertama",
        "Bidan Terampil",
        "Bidan Terampil",
        "Bidan Ahli Pertama",
        "Dokter Ahli Pertama",
        "Dokter Gigi Ahli Pertama",
        "Apoteker Ahli Pertama",
        "Asisten Penata Kefarmasian",
        "Nutrisionis Terampil",
        "Sanitarian Terampil",
        "Pranata Laboratorium Kesehatan Terampil",
        "Penyuluh Kesehatan Masyarakat Ahli Pertama",
        "Pengadministrasi Perkantoran",
        "Kepala Puskesmas",
    ],
    "lapangan": [
        "Penyuluh Pertanian Terampil",
        "Penyuluh Pertanian Ahli Pertama",
        "Polisi Pamong Praja Terampil",
        "Pengawas Lingkungan Hidup Ahli Pertama",
        "Penyuluh Agama Ahli Pertama",
        "Penghulu Ahli Pertama",
        "Pemeriksa Pajak Ahli Pertama",
        "Analis Hukum Ahli Pertama",
        "Penata Kependudukan dan Keluarga Berencana",
        "Surveyor Pemetaan Terampil",
        "Teknik Pengairan Terampil",
        "Pekerja Sosial Ahli Pertama",
        "Penata Layanan Operasional",
        "Pengelola Layanan Operasional",
        "Operator Layanan Operasional",
        "Pengadministrasi Perkantoran",
    ],
}

# Grade shares in percent (they add up to 100): most PNS are in III, most PPPK in IX (the
# grade of first-level professionals such as teachers) or the lower technical grades.
PNS_GRADE_SHARES = {
    "I/c": 1, "I/d": 1, "II/a": 4, "II/b": 4, "II/c": 6, "II/d": 5, "III/a": 14, "III/b": 16,
    "III/c": 14, "III/d": 14, "IV/a": 10, "IV/b": 6, "IV/c": 3, "IV/d": 1, "IV/e": 1,
}  # fmt: skip
PPPK_GRADE_SHARES = {
    "V": 18, "VI": 4, "VII": 16, "VIII": 6, "IX": 40, "X": 10, "XI": 5, "XII": 1,
}  # fmt: skip

REGIONAL_UNITS = [
    ("Sekretariat Daerah - Bagian Umum", "umum"),
    ("Sekretariat Daerah - Bagian Organisasi", "umum"),
    ("Sekretariat Daerah - Bagian Hukum", "umum"),
    ("Sekretariat Daerah - Bagian Pengadaan Barang dan Jasa", "umum"),
    ("Dinas Pendidikan", "umum"),
    ("Dinas Kesehatan", "kesehatan"),
    ("Rumah Sakit Umum Daerah", "kesehatan"),
    ("Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", "umum"),
    ("Badan Pengelolaan Keuangan dan Aset Daerah", "umum"),
    ("Badan Perencanaan Pembangunan Daerah", "umum"),
    ("Inspektorat Daerah", "umum"),
    ("Sekretariat DPRD", "umum"),
    ("Badan Pendapatan Daerah", "umum"),
    ("Dinas Pekerjaan Umum dan Penataan Ruang", "lapangan"),
    ("Dinas Sosial", "lapangan"),
    ("Dinas Kependudukan dan Pencatatan Sipil", "umum"),
    ("Dinas Perhubungan", "lapangan"),
    ("Dinas Lingkungan Hidup", "lapangan"),
    ("Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "umum"),
    ("Dinas Komunikasi dan Informatika", "umum"),
    ("Dinas Pertanian dan Ketahanan Pangan", "lapangan"),
    ("Satuan Polisi Pamong Praja", "lapangan"),
    ("Badan Penanggulangan Bencana Daerah", "lapangan"),
]
REGENCY_NUMBERED = [
    ("Dinas Pendidikan - SD Negeri {n}", "sekolah", 5),
    ("Dinas Pendidikan - SMP Negeri {n}", "sekolah", 2),
    ("Dinas Kesehatan - Puskesmas {n}", "kesehatan", 2),
    ("Kecamatan {n}", "umum", 1),
]
PROVINCE_NUMBERED = [
    ("Dinas Pendidikan - SMA Negeri {n}", "sekolah", 4),
    ("Dinas Pendidikan - SMK Negeri {n}", "sekolah", 2),
    ("Badan Pendapatan Daerah - UPTD Samsat {n}", "umum", 1),
    ("Dinas Kehutanan - Cabang Dinas Wilayah {n}", "lapangan", 1),
]
CENTRAL_UNITS = [
    ("Sekretariat Jenderal - Biro Umum", "umum"),
    ("Sekretariat Jenderal - Biro Sumber Daya Manusia", "umum"),
    ("Sekretariat Jenderal - Biro Keuangan", "umum"),
    ("Sekretariat Jenderal - Biro Hukum", "umum"),
    ("Sekretariat Jenderal - Biro Perencanaan", "umum"),
    ("Inspektorat Jenderal", "umum"),
    ("Badan Pengembangan Sumber Daya Manusia", "umum"),
    ("Pusat Data dan Informasi", "umum"),
    ("Direktorat Jenderal I - Direktorat Kebijakan", "umum"),
    ("Direktorat Jenderal I - Direktorat Pelaksanaan", "lapangan"),
    ("Direktorat Jenderal II - Direktorat Kebijakan", "umum"),
    ("Direktorat Jenderal II - Direktorat Pelaksanaan", "lapangan"),
]
LIKERT_SHARES = {  # percent per scale point 1..5 before and after the course
    "pre": (5, 12, 30, 35, 18),
    "post": (2, 6, 22, 42, 28),
}
# A value learners rate themselves lower or higher on (percentile shift of the answer).
TAG_SHIFT = {"adaptif": -8, "kolaboratif": -4, "kompeten": -2, "harmonis": 6, "loyal": 4}

# Big agencies come first in the size ranking, so the largest is one that really is large.
BIG_FIRST = ("KM-KEMENAG", "P32", "P35", "P33", "KM-KEMENKEU", "KM-KEMENKES", "P12", "P31")
KIND_WEIGHT = {"kementerian": 3.0, "provinsi": 2.5, "lembaga": 1.5, "kota": 1.2, "kabupaten": 1.0}

SHARE_PPPK = 0.20
SHARE_ENROLLED = 0.75
SHARE_COMPLETED = 0.45
SHARE_PRE = 0.30  # of everyone: a handed-in pre self-assessment
ENROL_ASSIGNED = 0.93  # of the people of an agency that assigned the course
STARTED_OF_OPEN = 0.75  # of the enrolled who have not completed: opened a lesson
LATE_SHARE = 0.12  # of the completions in an assigned agency: after the due date
ASSIGNED_AGENCIES = 0.60
U16 = 65536
DAY = 86400


def _u16(share: float) -> int:
    return max(0, min(U16, round(share * U16)))


# ---------------------------------------------------------------------------------------------
# The plan: agencies, their sizes and units (a few hundred rows, made in Python)
# ---------------------------------------------------------------------------------------------


@dataclass
class UnitPlan:
    name: str
    category: str  # the kind of positions in it (see POSITIONS)
    factor: int  # completion propensity, percent of the agency's
    assigned_at: int = 0  # epoch seconds (0: the course was not assigned)
    due_day: int = 0  # days since the epoch


@dataclass
class AgencyPlan:
    agency_id: int
    code: str
    name: str
    kind: str
    size: int = 0
    lo: int = 0  # slots lo..lo+size-1 of the numbered population
    units: list[UnitPlan] = field(default_factory=list)
    assigned: bool = False
    per_unit: bool = False  # assigned unit by unit (large agencies), else to the whole agency
    enrol: float = 0.0
    complete: float = 0.0  # before the unit's factor


@dataclass
class Plan:
    learners: int
    seed: int
    today: date
    now: int  # epoch seconds: the start of `today`, UTC
    window: int  # epoch seconds: start of the 11 months of activity
    agencies: list[AgencyPlan]

    @property
    def largest(self) -> AgencyPlan:
        return self.agencies[0]


def _region(name: str) -> str:
    """'Pemerintah Kabupaten Aceh Selatan' -> 'Kabupaten Aceh Selatan'."""
    return name.removeprefix("Pemerintah ").strip()


def _domain(agency: AgencyPlan) -> str:
    if agency.kind in ("kementerian", "lembaga") or agency.code.startswith("SIN-"):
        base = agency.code.split("-", 1)[-1]
    else:
        region = _region(agency.name)
        for prefix, tail in (("Provinsi ", "prov"), ("Kabupaten ", "kab"), ("Kota ", "")):
            if region.startswith(prefix):
                base = region.removeprefix(prefix) + tail
                break
        else:
            base = region
    return re.sub(r"[^a-z0-9]", "", base.lower()) + ".go.id"


def _sizes(learners: int, count: int) -> list[int]:
    """Agency sizes, largest first: the largest holds 5 % of everyone (50,000 of a million),
    the smallest about 0.025 % (250 of a million), in between a power law whose exponent is
    chosen so the sizes add up to `learners`."""
    if count == 1:
        return [learners]
    top = max(1, round(learners * 0.05))
    floor_ = max(1, round(learners * 0.00025))
    if top * count <= learners or floor_ * count >= learners:  # too few agencies to be skewed
        base, extra = divmod(learners, count)
        return [base + (1 if i < extra else 0) for i in range(count)]

    def total(alpha: float) -> float:
        return sum(floor_ + (top - floor_) * r**-alpha for r in range(1, count + 1))

    lo, hi = 0.01, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if total(mid) > learners:
            lo = mid
        else:
            hi = mid
    sizes = [int(floor_ + (top - floor_) * r**-lo) for r in range(1, count + 1)]
    sizes[0] = top
    rest = learners - sum(sizes)  # rounding: spread over the others, never above the largest
    i = 1
    while rest:
        step = 1 if rest > 0 else -1
        if floor_ <= sizes[i] + step < top:
            sizes[i] += step
            rest -= step
        i = i % (count - 1) + 1
    return sizes


def _unit_names(agency: AgencyPlan, count: int, provinces: list[str], regions: list[str]):
    """`count` distinct work units suited to the kind of agency: named offices first, then
    numbered schools, clinics and districts (regional) or regional offices (central)."""
    if agency.kind in ("kementerian", "lembaga") or agency.code.startswith("SIN-"):
        units = list(CENTRAL_UNITS)
        units += [(f"Kantor Wilayah Provinsi {p}", "lapangan") for p in provinces]
        units += [(f"Kantor {r}", "lapangan") for r in regions]
    else:
        units = list(REGIONAL_UNITS)
        numbered = PROVINCE_NUMBERED if agency.kind == "provinsi" else REGENCY_NUMBERED
        counters = dict.fromkeys(range(len(numbered)), 0)
        weights = [w for _n, _c, w in numbered]
        cycle = [i for i, w in enumerate(weights) for _ in range(w)]
        j = 0
        while len(units) < count:
            kind = cycle[j % len(cycle)]
            counters[kind] += 1
            pattern, category, _w = numbered[kind]
            units.append((pattern.format(n=counters[kind]), category))
            j += 1
    return units[:count]


def _assignment(rng: random.Random, now: int, earliest: int) -> tuple[int, int]:
    """An assignment made in office hours between `earliest` and 20 days ago, due 60 to
    120 days later (so some due dates have passed and some lie ahead)."""
    day = rng.randrange(earliest // DAY, (now - 20 * DAY) // DAY)
    assigned_at = day * DAY + rng.randrange(2, 9) * 3600  # 09:00-15:00 in Jakarta
    return assigned_at, day + rng.randrange(60, 121)


def make_plan(
    agencies: list[tuple[int, str, str, str]], learners: int, count: int, seed: int, today: date
) -> Plan:
    """Sizes, units, assignment dates and completion propensities of `count` agencies taken
    from `agencies` (id, code, name, kind)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data
    now = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())
    window = now - 335 * DAY
    by_code = {a[1]: a for a in agencies}
    first = [by_code[c] for c in BIG_FIRST if c in by_code]
    others = [a for a in agencies if a[1] not in BIG_FIRST]
    # weighted random order: ministries and provinces tend to be larger than regencies
    others.sort(key=lambda a: -(rng.random() ** (1 / KIND_WEIGHT.get(a[3], 1.0))))
    chosen = (first + others)[:count]
    sizes = _sizes(learners, len(chosen))
    provinces = sorted(
        _region(a[2]).removeprefix("Provinsi ") for a in agencies if a[3] == "provinsi"
    )
    regions = sorted(_region(a[2]) for a in agencies if a[3] in ("kabupaten", "kota"))
    plans = []
    lo = 0
    for rank, ((agency_id, code, name, kind), size) in enumerate(zip(chosen, sizes, strict=True)):
        plan = AgencyPlan(agency_id, code, name, kind, size=size, lo=lo)
        lo += size
        n_units = max(5, min(200, size // 250))
        # unit k of n receives sqrt((k+1)/n) - sqrt(k/n) of the people (see `unit` in SQL);
        # completion factors vary by unit around a people-weighted mean of 100 %
        raw = [rng.uniform(60, 140) for _ in range(n_units)]
        share = [math.sqrt((k + 1) / n_units) - math.sqrt(k / n_units) for k in range(n_units)]
        mean = sum(r * s for r, s in zip(raw, share, strict=True))
        names = _unit_names(plan, n_units, provinces, regions)
        plan.units = [
            UnitPlan(unit, category, round(r * 100 / mean))
            for (unit, category), r in zip(names, raw, strict=True)
        ]
        plan.assigned = rank == 0 or rng.random() < ASSIGNED_AGENCIES
        # Large agencies assign unit by unit, each with its own due date, so the largest
        # agency's report shows every status: done, overdue, in progress, not started.
        plan.per_unit = plan.assigned and n_units >= 50
        if plan.assigned:
            assigned_at, due_day = _assignment(rng, now, window)
            for unit in plan.units:
                if plan.per_unit:
                    assigned_at, due_day = _assignment(rng, now, window + 60 * DAY)
                unit.assigned_at, unit.due_day = assigned_at, due_day
        plans.append(plan)
    in_assigned = sum(p.size for p in plans if p.assigned) / learners
    enrol_self = (SHARE_ENROLLED - ENROL_ASSIGNED * in_assigned) / max(1e-9, 1 - in_assigned)
    enrol_self = max(0.3, min(0.9, enrol_self))
    propensity = [rng.uniform(0.65, 1.35) for _ in plans]
    for p in plans:
        p.enrol = ENROL_ASSIGNED if p.assigned else enrol_self
    # completion given enrolment: 25 % likelier where the course was assigned; scaled so
    # that SHARE_COMPLETED of everyone completes
    weight = sum(
        p.size * p.enrol * f * (1.25 if p.assigned else 1.0)
        for p, f in zip(plans, propensity, strict=True)
    )
    q = SHARE_COMPLETED * learners / weight
    for p, f in zip(plans, propensity, strict=True):
        p.complete = min(0.97, q * f * (1.25 if p.assigned else 1.0))
    return Plan(learners, seed, today, now, window, plans)


# ---------------------------------------------------------------------------------------------
# The course as the database knows it
# ---------------------------------------------------------------------------------------------


@dataclass
class CourseFacts:
    id: str
    title: str
    jp: int
    version_id: int
    version_label: str
    modules: list[tuple[str, str | None, list[str]]]  # id, graded quiz id, lesson ids
    pre: Any  # QuizContent of the self-assessment before the course
    post: Any  # ... and after it
    pre_layout: str
    post_layout: str

    @property
    def lesson_ids(self) -> list[str]:
        return [lesson for _m, _q, lessons in self.modules for lesson in lessons]


def course_facts(engine: Any, course_id: str = "berakhlak") -> CourseFacts:
    """The synced course: modules, lessons and quizzes from the catalogue, the version label
    from the database, and the fixed layout of the two self-assessments."""
    import json

    from sqlmodel import Session

    from modules.courses import service as courses_service
    from modules.quizzes.service import draw

    course = courses_service.Catalogue(engine).get(course_id)
    if course is None:
        raise SystemExit(f"course {course_id!r} is not in the database")
    content = course.content
    modules = []
    for m in content.modules:
        graded = [q.id for q in m.quizzes if not q.self_assessment]
        modules.append((m.id, graded[0] if graded else None, [lesson.id for lesson in m.lessons]))
    assessments = [q for m in content.modules for q in m.quizzes if q.self_assessment]
    pre, post = assessments[0], assessments[-1]
    layouts = []
    for quiz in (pre, post):
        # Self-assessments show every statement in order: the layout is the same for any seed.
        first, other = draw(quiz, 1), draw(quiz, 2)
        assert first == other, f"{quiz.id}: the layout depends on the seed"
        layouts.append(json.dumps([d.__dict__ for d in first]))
    with Session(engine) as session:
        label = courses_service.version_label(session=session, version_id=course.version_id)
    return CourseFacts(
        id=course.id,
        title=content.title,
        jp=content.jp,
        version_id=course.version_id,
        version_label=label or content.version_label,
        modules=modules,
        pre=pre,
        post=post,
        pre_layout=layouts[0],
        post_layout=layouts[1],
    )


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass
class Options:
    assessment_fraction: float = 0.1
    with_lessons: bool = False
    password_hash: str = ""
    number_pattern: str = "BA/{year}/{serial:06d}"
    validity_days: int = 365
    signer_name: str = ""
    signer_title: str = ""


class Loader:
    """Runs the load on one connection (staging tables are temporary, so they live in it)."""

    def __init__(self, conn: Connection, plan: Plan, course: CourseFacts, options: Options):
        self.conn = conn
        self.plan = plan
        self.course = course
        self.options = options
        self.sql = Sql(conn.dialect.name, plan.seed)
        self.timings: list[tuple[str, float, int]] = []
        self.notes: list[str] = []

    # -- helpers ---------------------------------------------------------------------------

    def run(self, statement: str, params: dict[str, Any] | None = None) -> int:
        result = self.conn.execute(text(statement), params or {})
        return result.rowcount

    def step(self, label: str, work: Callable[[], int | None], echo: bool = True) -> None:
        start = time.perf_counter()
        rows = work() or 0
        self.conn.commit()
        seconds = time.perf_counter() - start
        self.timings.append((label, seconds, rows))
        if echo:
            print(f"  {label:<44} {seconds:8.1f} s  {rows:>12,} rows", flush=True)

    def staging(self, name: str, columns: str, key: str, rows: Iterable[tuple[Any, ...]]) -> int:
        """A temporary table filled from Python (small: vocabulary, agencies, units)."""
        self.run(f"DROP TABLE IF EXISTS {name}")
        self.run(f"CREATE TEMPORARY TABLE {name} ({columns}, PRIMARY KEY ({key}))")
        names = [c.split()[0] for c in columns.split(",")]
        values = [dict(zip(names, row, strict=True)) for row in rows]
        if values:
            marks = ", ".join(f":{n}" for n in names)
            self.conn.execute(text(f"INSERT INTO {name} VALUES ({marks})"), values)
        return len(values)

    def analyze(self, *tables: str) -> None:
        # PostgreSQL never analyses temporary tables by itself; without statistics it plans
        # the million-row joins as if the tables were tiny.
        for table in tables:
            self.run(f"ANALYZE {table}")

    # -- the steps ---------------------------------------------------------------------------

    def load(self) -> None:
        self.step("staging tables (agencies, units, words)", self._staging)
        self.step("people (numbered, shuffled, hashed)", self._people)
        self.step("user", self._users)
        self.step("role_grant (one HR officer per agency)", self._grants)
        self.step("enrollment", self._enrollments)
        self.step("course_assignment", self._assignments)
        self.step("course_completion", self._completions)
        self.step("learning_event", self._events)
        self.step("certificate", self._certificates)
        self.step("certificate_counter", self._counters)
        self.step("quiz_attempt (self-assessments)", self._attempts)
        self.step("quiz_answer", self._answers)
        if self.options.with_lessons:
            self.step("lesson_progress", self._lessons)
        else:
            self.notes.append(
                "lesson_progress: not generated (about 20 rows per learner; reports do not "
                "read it); pass --with-lessons to add it"
            )
        self.step("drop staging tables", self._drop_staging)

    def _staging(self) -> int:
        plan, course = self.plan, self.course
        rows = self.staging(
            "bench_agency",
            "agency_id INTEGER, lo BIGINT, hi BIGINT, units INTEGER, assigned INTEGER, "
            "per_unit INTEGER, t_enrol BIGINT, t_complete BIGINT, domain TEXT, "
            "hr_user_id BIGINT",
            "agency_id",
            (
                (
                    a.agency_id,
                    a.lo,
                    a.lo + a.size - 1,
                    len(a.units),
                    int(a.assigned),
                    int(a.per_unit),
                    _u16(a.enrol),
                    _u16(a.complete),
                    _domain(a),
                    None,
                )
                for a in plan.agencies
            ),
        )
        # Each unit carries its assignment: when, the due date, and two bounds for the
        # completion times: `e_at` (completions crowd towards the due date once it has passed)
        # and `late_span` (some come up to 30 days after it).
        rows += self.staging(
            "bench_unit",
            "agency_id INTEGER, unit_no INTEGER, name TEXT, category TEXT, factor INTEGER, "
            "a_at BIGINT, d_day BIGINT, d_at BIGINT, e_at BIGINT, late_span BIGINT",
            "agency_id, unit_no",
            (
                (
                    a.agency_id,
                    k,
                    unit.name,
                    unit.category,
                    unit.factor,
                    unit.assigned_at,
                    unit.due_day,
                    unit.due_day * DAY,
                    min(unit.due_day * DAY, plan.now - 3600),
                    max(0, min(30 * DAY, plan.now - 3600 - unit.due_day * DAY)),
                )
                for a in plan.agencies
                for k, unit in enumerate(a.units)
            ),
        )
        words = {
            "first_m": FIRST_M,
            "first_f": FIRST_F,
            "last_m": LAST_M + LAST_COMMON,
            "last_f": LAST_F + LAST_COMMON,
            "degree": DEGREES,
        }
        rows += self.staging(
            "bench_word",
            "list TEXT, idx INTEGER, word TEXT, slug TEXT",
            "list, idx",
            (
                (key, i, w, re.sub(r"[^a-z]", "", w.lower()))
                for key, values in words.items()
                for i, w in enumerate(values)
            ),
        )
        rows += self.staging(
            "bench_position",
            "category TEXT, idx INTEGER, name TEXT",
            "category, idx",
            ((c, i, n) for c, names in POSITIONS.items() for i, n in enumerate(names)),
        )

        def buckets(shares: dict[str, int]) -> list[str]:
            values = [value for value, share in shares.items() for _ in range(share)]
            assert len(values) == 100
            return values

        grades = [("PNS", buckets(PNS_GRADE_SHARES)), ("PPPK", buckets(PPPK_GRADE_SHARES))]
        rows += self.staging(
            "bench_grade",
            "emp TEXT, idx INTEGER, grade TEXT",
            "emp, idx",
            ((emp, i, g) for emp, values in grades for i, g in enumerate(values)),
        )
        modules, lessons, first_n = [], [], 0
        for pos, (module_id, quiz_id, lesson_ids) in enumerate(course.modules):
            modules.append((pos, module_id, quiz_id, first_n, len(lesson_ids)))
            lessons += [(first_n + i, lesson, pos) for i, lesson in enumerate(lesson_ids)]
            first_n += len(lesson_ids)
        rows += self.staging(
            "bench_module",
            "pos INTEGER, module_id TEXT, quiz_id TEXT, first_n INTEGER, lesson_count INTEGER",
            "pos",
            modules,
        )
        rows += self.staging(
            "bench_lesson", "n INTEGER, lesson_id TEXT, module_pos INTEGER", "n", lessons
        )
        questions, likert = [], []
        for phase, quiz in (("pre", course.pre), ("post", course.post)):
            assert len(quiz.scale) == 5, quiz.id
            for qno, q in enumerate(quiz.questions):
                questions.append((phase, qno, q.id, sum(TAG_SHIFT.get(t, 0) for t in q.tags)))
            values = [v + 1 for v, share in enumerate(LIKERT_SHARES[phase]) for _ in range(share)]
            likert += [(phase, b, v) for b, v in enumerate(values)]
        rows += self.staging(
            "bench_question",
            "phase TEXT, qno INTEGER, question_id TEXT, shift INTEGER",
            "phase, qno",
            questions,
        )
        rows += self.staging(
            "bench_likert", "phase TEXT, bucket INTEGER, value INTEGER", "phase, bucket", likert
        )
        self.analyze(
            "bench_agency", "bench_unit", "bench_word", "bench_position", "bench_grade",
            "bench_module", "bench_lesson", "bench_question", "bench_likert",
        )  # fmt: skip
        return rows

    def _people(self) -> int:
        """bench_people: one row per learner, holding everything later steps derive rows
        from (each step is then one INSERT ... SELECT over it)."""
        s, plan, u = self.sql, self.plan, self.sql.u
        n = plan.learners
        # Slots are numbered agency by agency; user ids are a shuffle of them (by hash), so
        # an agency's people lie spread over the table as if they had registered over time.
        if s.pg:
            slots = (
                "SELECT a.agency_id, a.lo, p FROM bench_agency a, generate_series(a.lo, a.hi) AS p"
            )
        else:
            slots = (
                "WITH RECURSIVE q(agency_id, lo, hi, p) AS ("
                "SELECT agency_id, lo, hi, lo FROM bench_agency "
                "UNION ALL SELECT agency_id, lo, hi, p + 1 FROM q WHERE p < hi) "
                "SELECT agency_id, lo, p FROM q"
            )
        self.run("DROP TABLE IF EXISTS bench_slot")
        self.run(
            "CREATE TEMPORARY TABLE bench_slot AS "
            "SELECT row_number() OVER (ORDER BY hk, p) AS id, agency_id, p - lo AS rank "
            f"FROM (SELECT agency_id, lo, p, {s.h('p', 1)} AS hk FROM ({slots}) AS t) AS k"
        )
        # Seven independent 64-bit hashes per person; every attribute is a 16-bit slice.
        hashes = ", ".join(f"{s.h('id', k + 2)} AS h{k + 1}" for k in range(7))
        self.run("DROP TABLE IF EXISTS bench_hash")
        self.run(
            f"CREATE TEMPORARY TABLE bench_hash AS SELECT id, agency_id, rank, {hashes} "
            "FROM bench_slot"
        )
        self.run("DROP TABLE bench_slot")
        first_names = min(len(FIRST_M), len(FIRST_F))
        last_names = min(len(LAST_M), len(LAST_F)) + len(LAST_COMMON)
        # level 1: slices, the agency and the work unit (unit k of n takes
        # sqrt((k+1)/n) - sqrt(k/n) of the people: a few large units, a long tail)
        unit = f"(((({u('h.h2', 3)} * {u('h.h2', 3)}) >> 16) * a.units) >> 16)"
        level1 = f"""
            SELECT b.id, b.agency_id, b.rank, b.h6 AS hq, b.h7 AS hc, b.h3 AS hx, b.h4 AS hy,
              CASE WHEN {u("b.h1", 0)} < {_u16(SHARE_PPPK)} THEN 1 ELSE 0 END AS pppk,
              CASE WHEN {u("b.h1", 1)} < 32768 THEN 1 ELSE 2 END AS sex,
              1966 + (({u("b.h1", 2)} * 36) >> 16) AS by_,
              1 + (({u("b.h1", 3)} * 12) >> 16) AS bm,
              1 + (({u("b.h2", 0)} * 28) >> 16) AS bd,
              {u("b.h2", 1)} AS ut,
              1 + (({u("b.h2", 2)} * 12) >> 16) AS tm,
              b.unit,
              (({u("b.h3", 0)} * {first_names}) >> 16) AS fn,
              (({u("b.h3", 1)} * {last_names}) >> 16) AS ln,
              (({u("b.h3", 2)} * {len(DEGREES)}) >> 16) AS deg,
              ({u("b.h3", 3)} >> 12) AS pos,
              (({u("b.h4", 0)} * 100) >> 16) AS grade,
              CASE
                WHEN {u("b.h4", 1)} >= b.t_enrol THEN 0
                WHEN {u("b.h4", 2)} < (b.t_complete * un.factor) / 100 THEN 3
                WHEN {u("b.h4", 3)} < {_u16(STARTED_OF_OPEN)} THEN 2
                ELSE 1 END AS state,
              CASE WHEN b.assigned = 1 THEN un.a_at + (({u("b.h5", 1)} * 7200) >> 16)
                ELSE {plan.window} + (({u("b.h5", 1)} * {plan.now - plan.window - DAY}) >> 16)
                END AS started,
              {u("b.h5", 0)} AS u_mod, {u("b.h5", 2)} AS u_t2, {u("b.h5", 3)} AS u_t3,
              {u("b.h6", 0)} AS u_pre, {u("b.h6", 1)} AS u_assess, {u("b.h6", 2)} AS u_lesson,
              b.assigned, un.d_at, un.e_at, un.late_span
            FROM (SELECT h.*, a.units, a.assigned, a.t_enrol, a.t_complete, {unit} AS unit
                  FROM bench_hash h JOIN bench_agency a ON a.agency_id = h.agency_id) AS b
            JOIN bench_unit un ON un.agency_id = b.agency_id AND un.unit_no = b.unit
        """
        m = len(self.course.modules)
        total_lessons = len(self.course.lesson_ids)
        # appointment (TMT) of a PNS: 19 to 50 years after birth, 1985 to last year; of a
        # PPPK: 2019 (the first intake) to this year
        tmt_lo = s.greatest("v.by_ + 19", "1985")
        tmt_hi = s.least(str(plan.today.year - 1), "v.by_ + 50")
        span = s.least(str(60 * DAY), f"{plan.now} - v.started - 7200")
        # level 2: appointment year, completion time and modules done
        level2 = f"""
            SELECT v.*,
              CASE WHEN v.pppk = 1 THEN 2019 + ((v.ut * {plan.today.year - 2018}) >> 16)
                ELSE {tmt_lo} + ((v.ut * ({tmt_hi} - {tmt_lo} + 1)) >> 16) END AS tmt_year,
              CASE
                WHEN v.state <> 3 THEN NULL
                WHEN v.assigned = 1 AND v.late_span > 0 AND v.u_t2 < {_u16(LATE_SHARE)}
                  THEN v.d_at + ((v.u_t3 * v.late_span) >> 16)
                WHEN v.assigned = 1 AND v.d_at > {plan.now}
                  THEN v.started + 3600 + ((v.u_t3 * (v.e_at - v.started - 3600)) >> 16)
                WHEN v.assigned = 1
                  THEN v.e_at - ((((v.u_t3 * v.u_t3) >> 16) * (v.e_at - v.started - 3600)) >> 16)
                ELSE v.started + 3600 + ((((v.u_t3 * v.u_t3) >> 16) * {span}) >> 16)
                END AS completed,
              CASE v.state WHEN 3 THEN {m} WHEN 2 THEN ((v.u_mod * {m}) >> 16) ELSE 0 END
                AS modules_done
            FROM ({level1}) AS v
        """
        started_share = SHARE_COMPLETED + (SHARE_ENROLLED - SHARE_COMPLETED) * STARTED_OF_OPEN
        # level 3: NIP digits 1-15, account creation (rising with the id), last activity,
        # lessons done, and who handed in self-assessments
        level3 = f"""
            SELECT w.id, w.agency_id, w.rank, w.unit, w.pppk, w.sex, w.fn, w.ln, w.deg, w.pos,
              w.grade, w.state, w.started, w.completed, w.modules_done, w.hq, w.hc, w.hx, w.hy,
              ((w.by_ * 10000 + w.bm * 100 + w.bd) * 10000000
                + (w.tmt_year * 100 + CASE WHEN w.pppk = 1 THEN 21 ELSE w.tm END) * 10
                + w.sex) AS nip_prefix,
              {plan.window - 400 * DAY} + (w.id * {399 * DAY}) / {n} AS created,
              CASE w.state WHEN 3 THEN w.completed
                WHEN 2 THEN w.started + ((w.u_t2 * ({plan.now} - 60 - w.started)) >> 16)
                ELSE w.started END AS last_seen,
              CASE w.state WHEN 3 THEN {total_lessons}
                WHEN 2 THEN bm.first_n + ((w.u_lesson * bm.lesson_count) >> 16)
                ELSE 0 END AS lessons_done,
              CASE WHEN w.state >= 2 AND w.u_pre < {_u16(SHARE_PRE / started_share)}
                THEN 1 ELSE 0 END AS pre,
              CASE WHEN w.u_assess < {_u16(self.options.assessment_fraction)} THEN 1 ELSE 0 END
                AS assess
            FROM ({level2}) AS w
            LEFT JOIN bench_module bm ON bm.pos = w.modules_done
        """
        self.run("DROP TABLE IF EXISTS bench_people")
        self.run(f"CREATE TEMPORARY TABLE bench_people AS {level3}")
        self.run("DROP TABLE bench_hash")
        if s.pg:
            self.run("ALTER TABLE bench_people ADD PRIMARY KEY (id)")
        else:
            self.run("CREATE UNIQUE INDEX bench_people_id ON bench_people (id)")
        self.analyze("bench_people")
        # the HR officer of each agency: the person in its first slot
        hr = self.conn.execute(text("SELECT agency_id, id FROM bench_people WHERE rank = 0"))
        self.conn.execute(
            text("UPDATE bench_agency SET hr_user_id = :id WHERE agency_id = :agency_id"),
            [{"agency_id": a, "id": i} for a, i in hr],
        )
        return n

    def _users(self) -> int:
        s = self.sql
        serial = "1 + (p.nip_prefix % 499) + p.rn - 1"  # never above 999: groups are tiny
        return self.run(
            f"""
            INSERT INTO "user" (id, nip, employment_type, name, email, password_hash,
                agency_id, work_unit, position, grade, locale, active, created_at)
            SELECT p.id,
              {s.txt("p.nip_prefix")} || {s.pad(serial, 3)},
              CASE p.pppk WHEN 1 THEN 'PPPK' ELSE 'PNS' END,
              f.word || ' ' || l.word || d.word,
              f.slug || '.' || l.slug || {s.txt("p.id")} || '@' || a.domain,
              :password_hash, p.agency_id, un.name, pos.name, g.grade, NULL, TRUE,
              {s.ts("p.created")}
            FROM (SELECT bp.*,
                    row_number() OVER (PARTITION BY bp.nip_prefix ORDER BY bp.id) AS rn
                  FROM bench_people bp) AS p
            JOIN bench_agency a ON a.agency_id = p.agency_id
            JOIN bench_unit un ON un.agency_id = p.agency_id AND un.unit_no = p.unit
            JOIN bench_word f
              ON f.list = CASE p.sex WHEN 1 THEN 'first_m' ELSE 'first_f' END
             AND f.idx = p.fn
            JOIN bench_word l
              ON l.list = CASE p.sex WHEN 1 THEN 'last_m' ELSE 'last_f' END AND l.idx = p.ln
            JOIN bench_word d ON d.list = 'degree' AND d.idx = p.deg
            JOIN bench_position pos ON pos.category = un.category AND pos.idx = p.pos
            JOIN bench_grade g
              ON g.emp = CASE p.pppk WHEN 1 THEN 'PPPK' ELSE 'PNS' END AND g.idx = p.grade
            ORDER BY p.id
            """,
            {"password_hash": self.options.password_hash},
        )

    def _grants(self) -> int:
        s = self.sql
        return self.run(
            f"""
            INSERT INTO role_grant (user_id, role, agency_id, work_unit, course_id, granted_by,
                created_at)
            SELECT hr_user_id, 'hr', agency_id, NULL, NULL, NULL,
              {s.ts(str(self.plan.window - 30 * DAY))}
            FROM bench_agency ORDER BY agency_id
            """
        )

    def _enrollments(self) -> int:
        s = self.sql
        return self.run(
            f"""
            INSERT INTO enrollment (user_id, course_id, started_at, last_lesson_id,
                last_seen_at, assigned_by, assigned_at, due_on)
            SELECT p.id, :course_id, {s.ts("p.started")}, l.lesson_id, {s.ts("p.last_seen")},
              CASE WHEN a.assigned = 1 THEN a.hr_user_id END,
              CASE WHEN a.assigned = 1 THEN {s.ts("un.a_at")} END,
              CASE WHEN a.assigned = 1 THEN {s.day("un.d_day")} END
            FROM bench_people p
            JOIN bench_agency a ON a.agency_id = p.agency_id
            JOIN bench_unit un ON un.agency_id = p.agency_id AND un.unit_no = p.unit
            LEFT JOIN bench_lesson l ON l.n = CASE p.state
                WHEN 3 THEN {len(self.course.lesson_ids) - 1}
                WHEN 2 THEN p.lessons_done END
            WHERE p.state >= 1
            ORDER BY p.started, p.id
            """,
            {"course_id": self.course.id},
        )

    def _assignments(self) -> int:
        """One assignment per agency that assigned the course to everyone, one per unit where
        it was assigned unit by unit; `people` counts the enrolments it covers."""
        s = self.sql
        return self.run(
            f"""
            INSERT INTO course_assignment (course_id, agency_id, work_unit, roster_upload_id,
                due_on, people, assigned_by, created_at)
            SELECT :course_id, x.agency_id, x.work_unit, NULL, {s.day("x.d_day")},
              sum(x.people), x.hr_user_id, {s.ts("x.a_at")}
            FROM (
              SELECT a.agency_id, a.hr_user_id, un.d_day, un.a_at,
                CASE WHEN a.per_unit = 1 THEN un.unit_no ELSE -1 END AS grp,
                CASE WHEN a.per_unit = 1 THEN un.name END AS work_unit,
                coalesce(e.people, 0) AS people
              FROM bench_agency a
              JOIN bench_unit un ON un.agency_id = a.agency_id
              LEFT JOIN (SELECT agency_id, unit, count(*) AS people FROM bench_people
                         WHERE state >= 1 GROUP BY agency_id, unit) AS e
                ON e.agency_id = un.agency_id AND e.unit = un.unit_no
              WHERE a.assigned = 1
            ) AS x
            GROUP BY x.agency_id, x.grp, x.work_unit, x.d_day, x.a_at, x.hr_user_id
            ORDER BY x.a_at, x.agency_id, x.grp
            """,
            {"course_id": self.course.id},
        )

    def _completions(self) -> int:
        s = self.sql
        return self.run(
            f"""
            INSERT INTO course_completion (user_id, course_id, content_version_id, jp,
                completed_at)
            SELECT p.id, :course_id, {self.course.version_id}, {self.course.jp},
              {s.ts("p.completed")}
            FROM bench_people p WHERE p.state = 3
            ORDER BY p.completed, p.id
            """,
            {"course_id": self.course.id},
        )

    def _events(self) -> int:
        """Module completions (a prefix of the modules), the quiz passes they needed, and the
        course completion, in the order they happened."""
        s, c = self.sql, self.course
        # module k of the `modules_done` is reached at (k+1)/modules_done of the way from
        # the start to the last activity; its quiz was passed two minutes before
        at = "p.started + ((p.last_seen - p.started) * (m.pos + 1)) / p.modules_done"
        score = "70 + ((p.hq >> (m.pos * 4)) & 15) * 2"
        return self.run(
            f"""
            INSERT INTO learning_event (user_id, course_id, kind, subject, content_version_id,
                score, at)
            SELECT user_id, :course_id, kind, subject, {c.version_id}, score, {s.ts("t")}
            FROM (
              SELECT p.id AS user_id, 'module_completed' AS kind, m.module_id AS subject,
                NULL AS score, {at} AS t
              FROM bench_people p JOIN bench_module m ON m.pos < p.modules_done
              WHERE p.state >= 2
              UNION ALL
              SELECT p.id, 'quiz_passed', m.quiz_id, {score}, {at} - 120
              FROM bench_people p JOIN bench_module m ON m.pos < p.modules_done
              WHERE p.state >= 2 AND m.quiz_id IS NOT NULL
              UNION ALL
              SELECT p.id, 'course_completed', :course_id, NULL, p.completed
              FROM bench_people p WHERE p.state = 3
            ) AS e
            ORDER BY t, user_id, kind
            """,
            {"course_id": c.id},
        )

    def _number_sql(self) -> str:
        """The certificate number pattern (`BA/{year}/{serial:06d}`) as a SQL expression."""
        s = self.sql
        parts = []
        for literal, name, spec, _conv in string.Formatter().parse(self.options.number_pattern):
            if literal:
                parts.append("'" + literal.replace("'", "''") + "'")
            if name is None:
                continue
            column = {"year": "c.year", "serial": "c.serial"}[name]
            width = re.fullmatch(r"0?(\d*)d?", spec or "")
            parts.append(
                s.pad(column, int(width.group(1))) if width and width.group(1) else s.txt(column)
            )
        return " || ".join(parts)

    def _certificates(self) -> int:
        s, c, o = self.sql, self.course, self.options
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # certificates.service.CODE_ALPHABET
        code = " || ".join(  # 12 characters of 5 bits: 60 bits, as service.new_code
            f"substr('{alphabet}', CAST(((c.hc >> {5 * k}) & 31) + 1 AS INTEGER), 1)"
            for k in range(12)
        )
        # A UUID-shaped holder reference (version 8); the real one is an HMAC of the NIP under
        # the platform secret, which reports never read.
        hexes = f"({s.hex16('c.hx')} || {s.hex16('c.hy')})"
        ref = (
            f"'urn:uuid:' || substr({hexes}, 1, 8) || '-' || substr({hexes}, 9, 4) || '-8' || "
            f"substr({hexes}, 14, 3) || '-a' || substr({hexes}, 18, 3) || '-' || "
            f"substr({hexes}, 21, 12)"
        )
        valid = f"{s.ts(f'c.issued + {o.validity_days * DAY}')}" if o.validity_days else "NULL"
        return self.run(
            f"""
            INSERT INTO certificate (number, code, year, serial, user_id, course_id, revision,
                replaces_id, holder_name, holder_nip, holder_ref, holder_employment_type,
                holder_agency, holder_work_unit, holder_position, holder_grade, course_title,
                jp, content_version_id, content_version, completed_at, issued_at, valid_until,
                signer_name, signer_title, revoked_at, revoked_reason)
            SELECT {self._number_sql()}, {code}, c.year, c.serial, c.id, :course_id, 1, NULL,
              u.name, u.nip, {ref}, u.employment_type, g.name, u.work_unit, u.position,
              u.grade, :title, {c.jp}, {c.version_id}, :label, {s.ts("c.completed")},
              {s.ts("c.issued")}, {valid}, :signer_name, :signer_title, NULL, NULL
            FROM (
              SELECT y.*, row_number() OVER (PARTITION BY y.year ORDER BY y.issued, y.id)
                AS serial
              FROM (SELECT p.id, p.hc, p.hx, p.hy, p.completed, p.completed + 5 AS issued,
                      {s.year_jakarta("p.completed + 5")} AS year
                    FROM bench_people p WHERE p.state = 3) AS y
            ) AS c
            JOIN "user" u ON u.id = c.id
            JOIN agency g ON g.id = u.agency_id
            ORDER BY c.issued, c.id
            """,
            {
                "course_id": c.id,
                "title": c.title,
                "label": c.version_label,
                "signer_name": o.signer_name,
                "signer_title": o.signer_title,
            },
        )

    def _counters(self) -> int:
        return self.run(
            "INSERT INTO certificate_counter (year, last) "
            "SELECT year, max(serial) FROM certificate GROUP BY year"
        )

    def _attempt_rows(self) -> str:
        """(user, phase, quiz, layout, id, seed, started, submitted) of every self-assessment
        handed in: before the course by those who took it when they started, after the course
        by every completer (of the learners picked by --assessment-fraction)."""
        s = self.sql
        pre_id = f"{s.hex16('p.hx')} || {s.hex16('p.hy')}"
        post_id = f"{s.hex16('p.hy')} || {s.hex16('p.hx')}"
        seed = "(p.hq & 4611686018427387903)"  # 62 bits, as quizzes.service.start
        # the pre-assessment right after starting; the post one an hour before completing
        return f"""
            SELECT p.id AS user_id, 'pre' AS phase, :pre AS quiz_id, {pre_id} AS attempt_id,
              {seed} AS seed, p.started + 300 AS started, p.started + 300 + 420 + (p.hq & 511)
              AS submitted
            FROM bench_people p WHERE p.pre = 1 AND p.assess = 1
            UNION ALL
            SELECT p.id, 'post', :post, {post_id}, {seed}, p.completed - 3600,
              p.completed - 3600 + 360 + (p.hq & 511)
            FROM bench_people p WHERE p.state = 3 AND p.assess = 1
        """

    def _attempts(self) -> int:
        s, c = self.sql, self.course
        return self.run(
            f"""
            INSERT INTO quiz_attempt (id, user_id, course_id, quiz_id, number,
                content_version_id, seed, layout, started_at, deadline_at, submitted_at, score,
                passed)
            SELECT t.attempt_id, t.user_id, :course_id, t.quiz_id, 1, {c.version_id}, t.seed,
              CASE t.phase WHEN 'pre' THEN :pre_layout ELSE :post_layout END,
              {s.ts("t.started")}, NULL, {s.ts("t.submitted")}, NULL, NULL
            FROM ({self._attempt_rows()}) AS t
            ORDER BY t.started, t.user_id
            """,
            {
                "course_id": c.id,
                "pre": c.pre.id,
                "post": c.post.id,
                "pre_layout": c.pre_layout,
                "post_layout": c.post_layout,
            },
        )

    def _answers(self) -> int:
        s = self.sql
        # a hash per answer: likert value from the phase's distribution, shifted per value
        answer = "t.user_id * 64 + q.qno + CASE t.phase WHEN 'post' THEN 32 ELSE 0 END"
        percentile = f"(({s.u(s.h(answer, 20), 0)} * 100) >> 16) + q.shift"
        bucket = s.greatest("0", s.least("99", percentile))
        return self.run(
            f"""
            INSERT INTO quiz_answer (attempt_id, question_id, value, score, saved_at)
            SELECT t.attempt_id, q.question_id, {s.txt("lk.value")}, NULL,
              {s.ts("t.submitted - 20 * (21 - q.qno)")}
            FROM ({self._attempt_rows()}) AS t
            JOIN bench_question q ON q.phase = t.phase
            JOIN bench_likert lk ON lk.phase = t.phase AND lk.bucket = {bucket}
            ORDER BY t.attempt_id, q.qno
            """,
            {"pre": self.course.pre.id, "post": self.course.post.id},
        )

    def _lessons(self) -> int:
        s, c = self.sql, self.course
        at = "p.started + ((p.last_seen - p.started) * (l.n + 1)) / p.lessons_done"
        return self.run(
            f"""
            INSERT INTO lesson_progress (user_id, course_id, lesson_id, content_version_id,
                completed_at)
            SELECT p.id, :course_id, l.lesson_id, {c.version_id}, {s.ts(at)}
            FROM bench_people p JOIN bench_lesson l ON l.n < p.lessons_done
            WHERE p.state >= 2
            ORDER BY p.id, l.n
            """,
            {"course_id": c.id},
        )

    def _drop_staging(self) -> int:
        for table in ("bench_people", "bench_agency", "bench_unit", "bench_word",
                      "bench_position", "bench_grade", "bench_module", "bench_lesson",
                      "bench_question", "bench_likert"):  # fmt: skip
            self.run(f"DROP TABLE IF EXISTS {table}")
        return 0
