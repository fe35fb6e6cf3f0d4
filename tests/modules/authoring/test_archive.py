"""A course uploaded as a zip: a sound one is taken in (in one rename, its images stripped of
EXIF and GPS); each hostile or broken archive is refused with a message naming the file, and
nothing is written to the content folder (not even a temporary folder left behind)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from app.cli import cli
from modules.authoring import archive
from modules.authoring.archive import Limits, take_in
from tests.modules.courses.test_content_check import (
    COURSE,
    LESSON,
    LESSON_B,
    MODULE,
    english_messages,
)

__all__ = ["english_messages"]

SMALL = Limits(archive_bytes=2_000_000, files=20, unpacked_bytes=3_000_000, file_bytes=1_500_000)


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (8, 8), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "KameraKantor"  # Make
    gps = exif.get_ifd(0x8825)  # GPSInfo: where the photo was taken
    gps[1], gps[2] = "S", (6.0, 10.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def _course_files(top: str = "demo/") -> dict[str, bytes]:
    return {
        f"{top}course.md": COURSE.encode(),
        f"{top}01-satu/module.md": MODULE.encode(),
        f"{top}01-satu/01-a.md": LESSON.encode(),
        f"{top}01-satu/02-b.md": LESSON_B.encode(),
        f"{top}01-satu/img/logo.png": _png(),
    }


def _zip(files: dict[str, bytes], tweak=None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if tweak:
                tweak(info)
            z.writestr(info, data)
    return out.getvalue()


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_a_sound_course_is_taken_in_with_its_images_stripped(tmp_path: Path) -> None:
    files = _course_files()
    files["demo/01-satu/img/foto.jpg"] = _jpeg_with_gps()
    files["__MACOSX/demo/._course.md"] = b"mac"
    content = tmp_path / "content"
    result = take_in(_zip(files), content, SMALL)
    assert result.problems == [] and result.course_id == "demo"
    assert result.ignored == ["__MACOSX/demo/._course.md"]
    assert (content / "demo" / "course.md").read_text() == COURSE
    with Image.open(content / "demo/01-satu/img/foto.jpg") as kept:
        exif = kept.getexif()
        assert 0x010F not in exif and not exif.get_ifd(0x8825)  # no camera, no GPS
    with Image.open(io.BytesIO(files["demo/01-satu/img/foto.jpg"])) as sent:
        assert sent.getexif().get_ifd(0x8825)  # the photo sent did carry its location
    assert [p.name for p in content.iterdir()] == ["demo"]  # no temporary folder left
    # the same course again: refused unless it replaces the one there
    again = take_in(_zip(files), content, SMALL)
    assert any("already here" in p for p in again.problems)
    assert take_in(_zip(files), content, SMALL, replace=True).problems == []
    # files at the archive's root work too
    flat = {name.removeprefix("demo/"): data for name, data in _course_files().items()}
    other = tmp_path / "other"
    assert take_in(_zip(flat), other, SMALL).course_id == "demo"


def _symlink(info: zipfile.ZipInfo) -> None:
    if info.filename.endswith("02-b.md"):
        info.external_attr = (stat.S_IFLNK | 0o777) << 16


def _encrypted(data: bytes) -> bytes:
    """The archive with every entry marked encrypted in its central directory (what a zip
    made with a password says of its files)."""
    out, start = bytearray(data), 0
    while (at := out.find(b"PK\x01\x02", start)) >= 0:
        out[at + 8] |= 0x1  # the general-purpose flags: bit 0, encrypted
        start = at + 4
    return bytes(out)


SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SVG_ONLOAD = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
SVG_EXTERNAL = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    b'<image xlink:href="https://contoh.example/x.png"/></svg>'
)
SVG_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "teks berulang">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
)
HOSTILE = {
    "zip slip": (lambda f: {**f, "demo/../../evil.md": b"x"}, None, "'..'"),
    "absolute path": (lambda f: {**f, "/etc/cron.d/evil.md": b"x"}, None, "absolute path"),
    "drive path": (lambda f: {**f, "C:/evil.md": b"x"}, None, "absolute path"),
    "backslash": (lambda f: {**f, "demo\\..\\evil.md": b"x"}, None, "backslash"),
    "symlink": (lambda f: f, _symlink, "symbolic link"),
    "encrypted": (lambda f: f, "encrypted", "encrypted"),
    "twice": (lambda f: {**f, "demo/COURSE.md": b"x"}, None, "appears twice"),
    "bomb ratio": (lambda f: {**f, "demo/01-satu/besar.txt": b"\0" * 1_200_000}, None, "zip bomb"),
    "too large unpacked": (
        lambda f: {**f, **{f"demo/x{i}.txt": bytes(range(256)) * 3000 for i in range(5)}},
        None,
        "unpacks to",
    ),
    "file too large": (lambda f: {**f, "demo/a.pdf": b"%PDF-" + bytes(range(256)) * 7000}, None, "larger than"),
    "too many files": (lambda f: {**f, **{f"demo/f{i}.txt": b"x" for i in range(30)}}, None, "more than 20"),
    "not utf-8": (lambda f: {**f, "demo/01-satu/02-b.md": "---\nid: b\ntitle: Bé\n---\nÉ".encode("latin-1")}, None, "UTF-8"),
    "png that is text": (lambda f: {**f, "demo/01-satu/img/logo.png": b"<html>not an image</html>"}, None, "not a .png file"),
    "pdf that is a zip": (lambda f: {**f, "demo/materi.pdf": b"PK\x03\x04rest"}, None, "not a .pdf file"),
    "svg with script": (lambda f: {**f, "demo/01-satu/img/a.svg": SVG_SCRIPT}, None, "<script>"),
    "svg with onload": (lambda f: {**f, "demo/01-satu/img/a.svg": SVG_ONLOAD}, None, "event handler"),
    "svg loading outside": (lambda f: {**f, "demo/01-satu/img/a.svg": SVG_EXTERNAL}, None, "from outside"),
    "svg with entities": (lambda f: {**f, "demo/01-satu/img/a.svg": SVG_ENTITY}, None, "entities"),
    "executable": (lambda f: {**f, "demo/setup.exe": b"MZ"}, None, "does not take (.exe)"),
    "no course.md": (lambda f: {k: v for k, v in f.items() if not k.endswith("course.md")}, None, "no course.md"),
    "broken course": (lambda f: {**f, "demo/course.md": b"---\nid: demo\n---\n"}, None, "course.md:"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_archive_is_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    change, tweak, expected = HOSTILE[name]
    content = tmp_path / "content"
    content.mkdir()
    (content / "lama").mkdir()
    (content / "lama" / "course.md").write_text(COURSE.replace("id: demo", "id: lama"))
    before = _listing(content)
    if tweak == "encrypted":
        data = _encrypted(_zip(change(_course_files())))
    else:
        data = _zip(change(_course_files()), tweak)
    result = take_in(data, content, SMALL)
    assert result.course_id is None
    assert any(expected in p for p in result.problems), result.problems
    assert _listing(content) == before


def test_oversized_archives_and_non_zips_are_refused_before_reading(tmp_path: Path) -> None:
    content = tmp_path / "content"
    big = take_in(b"PK\x03\x04" + b"\0" * 3_000_000, content, SMALL)
    assert any("more than 1.9 MB" in p for p in big.problems), big.problems
    assert any("not a zip" in p for p in take_in(b"bukan zip", content, SMALL).problems)
    assert not content.exists() or _listing(content) == []


def test_a_course_id_another_folder_uses_is_refused(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "kursus-lain").mkdir(parents=True)
    (content / "kursus-lain" / "course.md").write_text(COURSE)  # id: demo, another folder
    before = _listing(content)
    result = take_in(_zip(_course_files()), content, SMALL)
    assert any("already used by the folder 'kursus-lain'" in p for p in result.problems)
    assert _listing(content) == before


def test_the_command_line_prints_each_problem_and_exits_1(tmp_path: Path, monkeypatch) -> None:
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setenv("BERAKHLAK_CONTENT_DIR", str(content))
    bad = tmp_path / "buruk.zip"
    bad.write_bytes(_zip({**_course_files(), "demo/../evil.md": b"x"}))
    runner = CliRunner()
    refused = runner.invoke(cli, ["--lang", "en", "content", "import-zip", str(bad)])
    assert refused.exit_code == 1 and "demo/../evil.md: a path that leaves" in refused.output
    good = tmp_path / "baik.zip"
    good.write_bytes(_zip(_course_files()))
    taken = runner.invoke(cli, ["--lang", "en", "content", "import-zip", str(good)])
    assert taken.exit_code == 0, taken.output
    assert (content / "demo" / "course.md").is_file()
    indonesian = runner.invoke(cli, ["content", "import-zip", str(bad)])
    assert indonesian.exit_code == 1


def test_limits_come_from_the_settings() -> None:
    from app.settings import Settings
    from modules.authoring.cli import limits_from

    limits = limits_from(Settings(upload_max_bytes=2048, upload_max_files=3))
    assert limits.archive_bytes == 2048 and limits.files == 3
    assert archive.MAX_RATIO == 100
