"""A course uploaded as a zip of its folder, taken in only when every part of it is safe and the
course passes `content check`: nothing is written to the content folder until then, and then
in one rename. Refused, each with a message naming the file: a path that leaves the folder
(`../`, an absolute or drive path, a backslash), a symbolic link, an encrypted entry, a
duplicate name, too many files, a file or a whole that unpacks too large, a suspicious
compression ratio (a zip bomb), an archive larger than its own size limit, markdown that is
not UTF-8, a file whose bytes are not the type its name says, an SVG with script, event
handlers, external references or foreign objects, a type the format does not take, a course id
another course folder already uses. Images lose their metadata (EXIF, GPS, text chunks) on
the way in."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree as SafeXml
from PIL import Image, UnidentifiedImageError

from app.i18n import tr
from modules.courses.service import ATTACHMENT_TYPES, COURSE_FILE, MAX_ASSET_BYTES, load_course

TEXT_TYPES = {".md", ".txt", ".csv"}
ALLOWED = TEXT_TYPES | ATTACHMENT_TYPES
# what each type's first bytes must be (files whose content is not what their name says)
MAGIC: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".webp": (b"RIFF",),
    ".pdf": (b"%PDF-",),
    ".zip": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".pptx": (b"PK\x03\x04",),
    ".odt": (b"PK\x03\x04",),
    ".ods": (b"PK\x03\x04",),
    ".odp": (b"PK\x03\x04",),
}
IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
MAX_RATIO = 100  # unpacked / packed, per file of more than RATIO_FLOOR bytes
RATIO_FLOOR = 64 * 1024
XLINK = "{http://www.w3.org/1999/xlink}href"


@dataclass(frozen=True)
class Limits:
    archive_bytes: int = 50 * 1024 * 1024
    files: int = 1000
    unpacked_bytes: int = 200 * 1024 * 1024
    file_bytes: int = MAX_ASSET_BYTES


@dataclass
class Intake:
    """What an upload came to: the course taken in (its id and folder), or the problems, each
    `path: message`; files left out on purpose (a Mac's `__MACOSX`, `.DS_Store`)."""

    course_id: str | None = None
    folder: Path | None = None
    problems: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # the course folder's files by path within it (unpack: when every file is sound)
    files: dict[str, bytes] = field(default_factory=dict)


class Refused(Exception):
    """The archive as a whole is refused (its problems are in the Intake)."""


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry's name or kind cannot be taken in, or None."""
    name = info.filename
    if "\\" in name:
        return tr("a path with a backslash: zip the folder again on this computer")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return tr("an absolute path: files must stay inside the course folder")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        return tr("a path that leaves the course folder ('..')")
    if any(not part.isprintable() for part in parts):
        return tr("a name with control characters")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return tr("a symbolic link: put the file itself in the archive")
    if info.flag_bits & 0x1:
        return tr("an encrypted file: zip the folder again without a password")
    return None


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, never more than `limit` (a size the archive lies about is caught
    while reading, not after)."""
    out = io.BytesIO()
    with archive.open(info) as stream:
        while chunk := stream.read(64 * 1024):
            out.write(chunk)
            if out.tell() > limit:
                raise OverflowError(info.filename)
    return out.getvalue()


def _svg_problem(data: bytes) -> str | None:
    try:
        root = SafeXml.fromstring(data)
    except Exception:  # noqa: BLE001 - defusedxml refuses entities and DTDs; any parse error
        return tr("not a readable SVG (or it declares entities)")
    for element in root.iter():
        # by local name, whatever the namespace (an XHTML <script> inside an SVG is a script)
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if tag in ("script", "foreignobject", "iframe", "object", "embed", "handler", "listener"):
            return tr("an SVG with <{tag}>: save it again without scripts", tag=tag)
        if tag in ("set", "animate", "animatemotion", "animatetransform"):
            target = element.attrib.get("attributeName", "").rsplit(":", 1)[-1].lower()
            if target == "href" or target.startswith("on"):
                return tr("an SVG with <{tag}>: save it again without scripts", tag=tag)
        for key, value in element.attrib.items():
            local = key.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return tr(
                    "an SVG with an event handler ({name}): save it without scripts", name=local
                )
            if (local == "href" or key == XLINK) and not value.strip().startswith("#"):
                return tr("an SVG that loads something from outside it: embed or remove it")
        if tag == "style" and element.text and re.search(r"url\(|@import", element.text):
            return tr("an SVG whose style loads something from outside it")
    return None


def _clean_image(data: bytes, suffix: str) -> bytes:
    """The image saved again without its metadata: Pillow writes EXIF (with GPS), XMP and PNG
    text chunks only when asked to, so a plain save leaves them out; the colour profile and
    transparency are kept. An animated GIF is kept as it is (GIF carries no EXIF or GPS)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        kind = image.format
        if kind == "GIF" and getattr(image, "is_animated", False):
            return data
        options: dict[str, object] = {}
        if kind == "JPEG":
            options["quality"] = 95
        for key in ("icc_profile", "transparency"):
            if key in image.info:
                options[key] = image.info[key]
        out = io.BytesIO()
        image.save(out, format=kind, **options)
        return out.getvalue()


def file_problem(path: str, data: bytes) -> tuple[str | None, bytes]:
    """Why a file's bytes cannot be taken in, or None with the bytes to write."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in ALLOWED:
        return tr(
            "a file type the course format does not take ({suffix})", suffix=suffix or "-"
        ), data
    if suffix in TEXT_TYPES:
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return tr("not UTF-8 text: save it again as UTF-8"), data
        return None, data
    if suffix == ".svg":
        return _svg_problem(data), data
    magic = MAGIC.get(suffix, ())
    if magic and not data.startswith(magic):
        return tr("its content is not a {suffix} file", suffix=suffix), data
    if suffix == ".webp" and data[8:12] != b"WEBP":
        return tr("its content is not a {suffix} file", suffix=suffix), data
    if suffix in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
        try:
            return None, _clean_image(data, suffix)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            return tr("a damaged or oversized image"), data
    return None, data


def _course_root(names: list[str]) -> str | None:
    """The folder inside the archive that holds course.md: the archive's root or its one
    top folder."""
    if COURSE_FILE in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(tops) == 1:
        top = next(iter(tops))
        if f"{top}/{COURSE_FILE}" in names:
            return f"{top}/"
    return None


def take_in(
    data: bytes,
    content_dir: Path,
    limits: Limits | None = None,
    *,
    replace: bool = False,
) -> Intake:
    """Check an uploaded course archive and, when all of it is sound, put the course in the
    content folder (a folder named by its id) in one rename; otherwise write nothing."""
    intake = unpack(data, limits)
    if intake.problems:
        return intake
    return _place(intake.files, content_dir, intake, replace)


def unpack(data: bytes, limits: Limits | None = None) -> Intake:
    """Read an uploaded course archive into memory, every entry checked (nothing written):
    `files` holds the course folder's files by path within it when all are sound."""
    limits = limits or Limits()
    intake = Intake()
    if len(data) > limits.archive_bytes:
        intake.problems.append(
            tr(
                "the archive is {size} MB, more than {limit} MB",
                size=round(len(data) / 1_048_576, 1),
                limit=round(limits.archive_bytes / 1_048_576, 1),
            )
        )
        return intake
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        intake.problems.append(tr("not a zip archive: zip the course folder and upload that"))
        return intake
    with archive:
        files = _checked_entries(archive, limits, intake)
        if intake.problems:
            return intake
        contents: dict[str, bytes] = {}
        for info in files:
            try:
                raw = _read(archive, info, limits.file_bytes)
            except OverflowError:
                intake.problems.append(f"{info.filename}: " + tr("unpacks larger than it says"))
                continue
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
                intake.problems.append(f"{info.filename}: " + tr("damaged in the archive"))
                continue
            problem, cleaned = file_problem(info.filename, raw)
            if problem:
                intake.problems.append(f"{info.filename}: {problem}")
            contents[info.filename] = cleaned
    if intake.problems:
        return intake
    root = _course_root(list(contents))
    if root is None:
        intake.problems.append(tr("no course.md at the archive's root or in its one top folder"))
        return intake
    intake.files = {
        name[len(root) :]: data for name, data in contents.items() if name.startswith(root)
    }
    return intake


def _checked_entries(
    archive: zipfile.ZipFile, limits: Limits, intake: Intake
) -> list[zipfile.ZipInfo]:
    files, seen, total = [], set[str](), 0
    for info in archive.infolist():
        if IGNORED.search(info.filename):
            intake.ignored.append(info.filename)
            continue
        problem = _entry_problem(info)
        if problem:
            intake.problems.append(f"{info.filename}: {problem}")
            continue
        if info.is_dir():
            continue
        key = info.filename.lower()
        if key in seen:
            intake.problems.append(f"{info.filename}: " + tr("the name appears twice"))
            continue
        seen.add(key)
        if info.file_size > limits.file_bytes:
            intake.problems.append(
                f"{info.filename}: "
                + tr("larger than {limit} MB", limit=round(limits.file_bytes / 1_048_576, 1))
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            intake.problems.append(
                f"{info.filename}: "
                + tr("compressed {ratio} times: refused as a possible zip bomb", ratio=int(ratio))
            )
        total += info.file_size
        files.append(info)
    packed = sum(info.compress_size for info in files)
    if total > RATIO_FLOOR and total / max(packed, 1) > MAX_RATIO:
        # many small files that each pass, together a zip bomb
        intake.problems.append(
            tr(
                "compressed {ratio} times: refused as a possible zip bomb",
                ratio=int(total / max(packed, 1)),
            )
        )
    if len(files) > limits.files:
        intake.problems.append(
            tr("{count} files, more than {limit}", count=len(files), limit=limits.files)
        )
    if total > limits.unpacked_bytes:
        intake.problems.append(
            tr(
                "unpacks to {size} MB, more than {limit} MB",
                size=round(total / 1_048_576, 1),
                limit=round(limits.unpacked_bytes / 1_048_576, 1),
            )
        )
    return files


def _place(contents: dict[str, bytes], content_dir: Path, intake: Intake, replace: bool) -> Intake:
    """Write the course into a new folder beside the content folder's courses, check it as
    `content check` does, then rename it into place; remove it on any problem."""
    content_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=content_dir))
    try:
        course_dir = staging / "course"
        for name, data in contents.items():
            target = course_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        loaded = load_course(course_dir, display_root=course_dir)
        intake.problems += [str(e) for e in loaded.errors]
        course_id = loaded.course_id
        if intake.problems or course_id is None:
            return intake
        destination = content_dir / course_id
        for other in content_dir.iterdir():
            if other.name.startswith(".") or not (other / COURSE_FILE).is_file():
                continue
            found = load_course(other, display_root=content_dir).course_id
            if found == course_id and other.name != course_id:
                intake.problems.append(
                    tr(
                        "course id '{id}' is already used by the folder '{folder}'",
                        id=course_id,
                        folder=other.name,
                    )
                )
                return intake
        if destination.exists() and not replace:
            intake.problems.append(
                tr(
                    "a course '{id}' is already here: replace it on purpose (--replace)",
                    id=course_id,
                )
            )
            return intake
        old = staging / "previous"
        if destination.exists():
            os.rename(destination, old)
        os.rename(course_dir, destination)
        intake.course_id, intake.folder = course_id, destination
        return intake
    finally:
        shutil.rmtree(staging, ignore_errors=True)
