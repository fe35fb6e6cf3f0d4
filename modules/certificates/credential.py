"""Each certificate as an Open Badges 3.0 `OpenBadgeCredential` (W3C Verifiable Credentials
2.0), signed as a VC-JWT with the platform's Ed25519 key (JOSE `EdDSA`), and the checks a
verifier makes on one.

The JWT form follows Open Badges 3.0 section 8.2: the payload is the credential itself, with
`iss` (issuer id), `jti` (credential id), `nbf` (validFrom) and `exp` (validUntil) added; the
header names the key (`kid`) published in the JWKS. The learner is identified by a salted
SHA-256 hash of their NIP (OB 3.0 `IdentityObject`), never the NIP itself."""

from __future__ import annotations

import base64
import gzip
import json
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import JWKRegistry

from app.clock import as_utc, utcnow
from app.i18n import N_
from modules.certificates.models import Certificate

# "EdDSA" is what Open Badges 3.0 verifiers and wallets know; RFC 9864 prefers the fully
# specified "Ed25519" for new protocols, which joserfc announces with a warning.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
ALGORITHMS = ["RS256", "EdDSA"]  # RS256 signs; EdDSA: credentials signed before
CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
STATUS_LIST = "1"  # one revocation list for the whole platform
STATUS_LIST_BITS = 131_072  # the minimum size the Bitstring Status List spec asks for (privacy)
MAX_UPLOAD = 64_000  # characters: a credential is a few kilobytes


@dataclass(frozen=True)
class Issuer:
    base_url: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.base_url}/issuer"

    def profile(self) -> dict[str, Any]:
        """The issuer Profile published at its id."""
        return {
            "@context": CONTEXT,
            "id": self.id,
            "type": ["Profile"],
            "name": self.name,
            "url": self.base_url,
            "description": "Penerbit sertifikat pelatihan nilai dasar BerAKHLAK ASN.",
        }


def _iso(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verify_url(base_url: str, certificate: Certificate) -> str:
    return f"{base_url}/verify/{certificate.code}"


def status_list_url(base_url: str) -> str:
    return f"{base_url}/credentials/status/{STATUS_LIST}"


def build(certificate: Certificate, issuer: Issuer) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential for a certificate, from the stored row only."""
    base = issuer.base_url
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": verify_url(base, certificate),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name, "url": base},
        # valid from the completion (validUntil counts from it too); awarded when issued
        "validFrom": _iso(certificate.completed_at),
        "awardedDate": _iso(certificate.issued_at),
        "name": f"Sertifikat {certificate.course_title}",
        "credentialSubject": {
            # An opaque, stable id for the holder (a keyed hash of the NIP, see
            # service.holder_ref): no NIP can be guessed from it, and the issuer can confirm it.
            "id": certificate.holder_ref,
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": certificate.holder_name,
                    "identityType": "name",
                    "hashed": False,
                }
            ],
            "achievement": {
                "id": f"{base}/courses/{certificate.course_id}#achievement",
                "type": ["Achievement"],
                "achievementType": "Course",
                "name": certificate.course_title,
                "description": (
                    f"Pelatihan {certificate.course_title} ({certificate.jp} JP), "
                    f"versi materi {certificate.content_version}."
                ),
                "criteria": {
                    "narrative": (
                        "Menyelesaikan seluruh pelajaran dan lulus kuis setiap nilai dasar "
                        "pada versi materi yang tercantum."
                    )
                },
                "version": certificate.content_version,
                "creditsAvailable": certificate.jp,
            },
            "creditsEarned": certificate.jp,
            "activityEndDate": _iso(certificate.completed_at),
        },
        "credentialStatus": {
            "id": f"{status_list_url(base)}#{certificate.id}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(certificate.id),
            "statusListCredential": status_list_url(base),
        },
    }
    if certificate.valid_until is not None:
        credential["validUntil"] = _iso(certificate.valid_until)
    return credential


def key_uri(base_url: str, kid: str) -> str:
    """The `kid` of a JOSE header: a URI that dereferences to the public key's JWK."""
    return f"{base_url.rstrip('/')}/keys/{kid}"


def sign(credential: dict[str, Any], signer: Any, base_url: str) -> str:
    """The VC-JWT (compact JWS) of a credential, with the JOSE header Open Badges 3.0 allows
    (§8.2, "Create the JOSE Header"): `alg`, `kid` (a URI that dereferences to the public
    JWK) and `typ` "JWT", nothing else."""
    issuer = credential["issuer"]
    iss = issuer["id"] if isinstance(issuer, dict) else issuer
    claims = {**credential, "iss": iss, "jti": credential["id"]}
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    claims["nbf"] = _epoch(credential["validFrom"])
    if "validUntil" in credential:
        claims["exp"] = _epoch(credential["validUntil"])
    header = {"alg": signer.alg, "kid": key_uri(base_url, signer.kid), "typ": "JWT"}
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, signer.key, algorithms=ALGORITHMS)


def _epoch(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def encoded_status_list(revoked: list[int]) -> str:
    """The Bitstring Status List `encodedList`: multibase base64url (no padding) of the
    GZIP-compressed bits, index 0 being the most significant bit of the first byte."""
    size = max(STATUS_LIST_BITS, ((max(revoked, default=0) // 8) + 1) * 8)
    bits = bytearray(size // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def status_list_credential(issuer: Issuer, revoked: list[int]) -> dict[str, Any]:
    url = status_list_url(issuer.base_url)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.id,
        "validFrom": _iso(utcnow()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_status_list(revoked),
        },
    }


@dataclass
class Check:
    """One line of a verification report: what was checked, whether it held, and why not."""

    name: str  # signature, issuer, dates, status, format
    ok: bool
    message: str  # a translatable message id
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    checks: list[Check]
    claims: dict[str, Any] | None = None
    code: str | None = None  # the certificate code the credential names, if it is ours

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def parse_upload(text: str) -> tuple[str | None, str | None]:
    """The compact JWT inside what a person pasted or uploaded: a JWT as is, or JSON that
    carries one (a `{"jwt": ...}` wrapper, or an enveloped credential `id` of the form
    `data:application/vc+jwt,...`). Returns (jwt, problem)."""
    text = text.strip().lstrip("\ufeff")
    if not text:
        return None, N_("Paste a credential or choose a file.")
    if len(text) > MAX_UPLOAD:
        return None, N_("That is too large to be one of our credentials.")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None, N_("This is neither a JWT nor valid JSON.")
        if not isinstance(data, dict):
            return None, N_("This is neither a JWT nor valid JSON.")
        for key in ("jwt", "credential", "proof"):
            value = data.get(key)
            if isinstance(value, str) and value.count(".") == 2:
                return value.strip(), None
        envelope = data.get("id")
        if isinstance(envelope, str) and envelope.startswith("data:application/vc+jwt,"):
            return envelope.split(",", 1)[1].strip(), None
        return None, N_(
            "This JSON carries no signature we can check: download the credential as JWT "
            "(the .jwt file) and try again."
        )
    if text.count(".") != 2 or any(c.isspace() for c in text):
        return None, N_("This is neither a JWT nor valid JSON.")
    return text, None


def check_jwt(
    token: str,
    *,
    jwks: list[dict[str, Any]],
    issuer: Issuer,
    revoked: Any,
    now: datetime | None = None,
) -> Report:
    """Verify a VC-JWT against our published keys: signature, issuer, dates and revocation.
    `revoked(index) -> bool | None` answers for our status list (None: no such entry)."""
    now = now or utcnow()
    checks: list[Check] = []
    try:
        header_part = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
    except (ValueError, IndexError):
        return Report([Check("format", False, N_("This JWT cannot be read."))])
    if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
        return Report([Check("format", False, N_("This JWT is not signed with RS256 or EdDSA."))])
    # the kid is our key's URI (BASE_URL/keys/<kid>), or the bare kid of older credentials
    kid = str(header.get("kid", "")).rsplit("/", 1)[-1]
    keys = [k for k in jwks if k.get("kid") == kid and k.get("alg") == header.get("alg")]
    if not keys:
        return Report([Check("signature", False, N_("It was not signed with any of our keys."))])
    try:
        verified = jws.deserialize_compact(
            token, JWKRegistry.import_key(keys[0]), algorithms=ALGORITHMS
        )
        claims = json.loads(verified.payload)
    except (JoseError, ValueError, TypeError):  # any malformed or forged token
        return Report([Check("signature", False, N_("The signature does not match the content."))])
    if not isinstance(claims, dict):
        return Report([Check("format", False, N_("This JWT cannot be read."))])
    checks.append(Check("signature", True, N_("Signed with our key {kid}."), {"kid": kid}))
    issuer_id = claims.get("iss")
    checks.append(
        Check("issuer", issuer_id == issuer.id, N_("Issuer: {issuer}."), {"issuer": issuer_id})
        if issuer_id == issuer.id
        else Check("issuer", False, N_("Issued by someone else: {issuer}."), {"issuer": issuer_id})
    )
    checks.append(_dates(claims, now))
    checks.append(_status(claims, issuer, revoked))
    jti = str(claims.get("jti", ""))
    prefix = f"{issuer.base_url}/verify/"
    code = jti[len(prefix) :] if jti.startswith(prefix) else None
    return Report(checks, claims, code)


def _dates(claims: dict[str, Any], now: datetime) -> Check:
    stamp = now.timestamp()
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if (
        not isinstance(nbf, int)
        or not (exp is None or isinstance(exp, int))
        or not 0 <= nbf < 2**35
        or (exp is not None and not 0 <= exp < 2**35)
    ):
        return Check("dates", False, N_("The validity dates cannot be read."))
    if stamp < nbf:
        return Check("dates", False, N_("Not valid before {date}."), {"date": _day(nbf)})
    if exp is not None and stamp >= exp:
        return Check("dates", False, N_("Expired on {date}."), {"date": _day(exp)})
    if exp is None:
        return Check("dates", True, N_("Valid from {date}, with no end date."), {"date": _day(nbf)})
    return Check("dates", True, N_("Valid until {date}."), {"date": _day(exp)})


def _day(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _status(claims: dict[str, Any], issuer: Issuer, revoked: Any) -> Check:
    status = claims.get("credentialStatus")
    if not isinstance(status, dict) or status.get("statusPurpose") != "revocation":
        return Check("status", False, N_("It names no revocation status we can check."))
    if status.get("statusListCredential") != status_list_url(issuer.base_url):
        return Check("status", False, N_("Its revocation list is not ours."))
    try:
        index = int(status.get("statusListIndex", ""))
    except (TypeError, ValueError):
        return Check("status", False, N_("It names no revocation status we can check."))
    answer = revoked(index)
    if answer is None:
        return Check("status", False, N_("We have no record of this credential."))
    if answer:
        return Check("status", False, N_("It has been revoked."))
    return Check("status", True, N_("Not revoked."))
