"""How guessable a new password is: zxcvbn's estimate, told about the person (NIP and its
parts, name, email, agency), this platform's own words and common Indonesian words, since its
dictionaries are English. A password needs an estimate of at least 10^11 guesses: an attacker
who has the hash and tries 10,000 argon2id guesses a second is kept busy for about four months
(two words of the person's agency and a digit, 10^10, are refused)."""

from __future__ import annotations

import re

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

MIN_GUESSES_LOG10 = 11.0
_WORD = re.compile(r"[a-z0-9]+")

# the platform and the civil service: what an ASN types first when told to pick a password here
PLATFORM_WORDS = [
    "berakhlak",
    "akhlak",
    "asn",
    "pns",
    "pppk",
    "cpns",
    "bkn",
    "kemenpan",
    "menpan",
    "rb",
    "siasn",
    "simpeg",
    "mysapk",
    "nip",
    "nik",
    "pelatihan",
    "diklat",
    "bangkom",
    "latsar",
    "orientasi",
    "pelayanan",
    "berorientasi",
    "akuntabel",
    "kompeten",
    "harmonis",
    "loyal",
    "adaptif",
    "kolaboratif",
    "bangga",
    "melayani",
    "bangsa",
    "nilai",
    "dasar",
    "core",
    "values",
    "kementerian",
    "lembaga",
    "instansi",
    "pemda",
    "pemprov",
    "pemkab",
    "pemkot",
    "dinas",
    "badan",
    "kantor",
    "pegawai",
]

# common in Indonesian passwords (words, places, faith, family, months, numbers in words),
# gathered for this platform
INDONESIAN_WORDS = [
    "sayang",
    "sayangku",
    "cinta",
    "cintaku",
    "rahasia",
    "rahasiaku",
    "katasandi",
    "sandi",
    "kunci",
    "masuk",
    "bismillah",
    "alhamdulillah",
    "insyaallah",
    "subhanallah",
    "merdeka",
    "indonesia",
    "indonesiaraya",
    "garuda",
    "pancasila",
    "nusantara",
    "bhinneka",
    "tunggal",
    "ika",
    "jakarta",
    "bandung",
    "surabaya",
    "semarang",
    "medan",
    "makassar",
    "yogyakarta",
    "jogja",
    "bali",
    "jawa",
    "sumatra",
    "kalimantan",
    "sulawesi",
    "papua",
    "maluku",
    "persib",
    "persija",
    "arema",
    "negara",
    "rakyat",
    "selamat",
    "sukses",
    "berkah",
    "rejeki",
    "amanah",
    "juara",
    "ganteng",
    "cantik",
    "manis",
    "bunda",
    "mama",
    "papa",
    "ayah",
    "ibu",
    "anak",
    "adik",
    "kakak",
    "keluarga",
    "rumah",
    "hujan",
    "matahari",
    "bintang",
    "bulan",
    "langit",
    "kopi",
    "nasi",
    "senin",
    "selasa",
    "rabu",
    "kamis",
    "jumat",
    "sabtu",
    "minggu",
    "januari",
    "februari",
    "maret",
    "april",
    "mei",
    "juni",
    "juli",
    "agustus",
    "september",
    "oktober",
    "november",
    "desember",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "seratus",
    "seribu",
    "tujuhbelas",
    "admin",
    "administrator",
    "operator",
    "pengguna",
]


def _words(*texts: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        lowered = text.lower()
        if lowered:
            found.append(lowered)
        found += [w for w in _WORD.findall(lowered) if len(w) >= 3]
    return found


def too_guessable(
    password: str, *, nip: str = "", name: str = "", email: str = "", agency: str = ""
) -> bool:
    """Whether `password` is estimated to fall to fewer than 10^11 guesses by someone who knows
    the person and this platform."""
    local, _at, domain = email.lower().partition("@")
    personal = _words(name, local, domain, agency)
    if nip:
        # the whole number, and its parts: birth date, appointment month, the serial
        personal += [nip, nip[:8], nip[8:14], nip[14:], nip[:4], nip[2:8]]
    # zxcvbn's cost grows with the length; beyond 72 characters a password is long enough
    result = zxcvbn(password[:72], user_inputs=personal + PLATFORM_WORDS + INDONESIAN_WORDS)
    return float(result["guesses_log10"]) < MIN_GUESSES_LOG10
