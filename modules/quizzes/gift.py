"""Import Moodle GIFT and Aiken question files into our quiz format.

Supported GIFT: categories (as tags), titles, single choice (`=`/`~`), multiple response and
single choice with percentage weights, true/false with feedback, short answer (several `=`),
matching (`->`), missing-word questions, per-option feedback (`#`), general feedback (`####`),
`[markdown]`/`[plain]`/`[moodle]`/`[html]` text formats, escapes (\\~ \\= \\# \\{ \\} \\: \\n),
and `//` comments. Numerical questions, essays and descriptions have no equivalent: each is
reported with its line and skipped, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.i18n import tr

ESCAPES = {"\\~": "~", "\\=": "=", "\\#": "#", "\\{": "{", "\\}": "}", "\\:": ":", "\\n": " "}
_ESCAPE_MARK = "\x00"
TAG = re.compile(r"<[^>]+>")
PERCENT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")


@dataclass
class Converted:
    """The quiz file text and what could not be converted, as (line, message)."""

    text: str
    count: int
    skipped: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Question:
    line: int
    qtype: str
    stem: str
    tags: list[str]
    options: list[str] = field(default_factory=list)  # formatted option lines
    answer: str = ""
    feedback: str = ""
    title: str = ""


def slug(text: str, fallback: str = "soal") -> str:
    """A lowercase-hyphen id made from text."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:40].strip("-") or fallback


def _protect(text: str) -> str:
    # Escaped characters are hidden from the parser, then restored.
    for escaped, plain in ESCAPES.items():
        text = text.replace(escaped, _ESCAPE_MARK + str(ord(plain[0])) + _ESCAPE_MARK)
    return text


def _restore(text: str) -> str:
    return re.sub(_ESCAPE_MARK + r"(\d+)" + _ESCAPE_MARK, lambda m: chr(int(m.group(1))), text)


def _clean(text: str, skipped: list[tuple[int, str]], line: int) -> str:
    """GIFT text → one line of our markdown (formats stripped, HTML tags dropped; a leading
    list or heading marker is escaped so it stays text)."""
    text = text.strip()
    for fmt in ("[markdown]", "[plain]", "[moodle]"):
        if text.startswith(fmt):
            text = text[len(fmt) :]
    if text.startswith("[html]"):
        text = text[len("[html]") :]
    if TAG.search(text):
        text, lost = _html_to_markdown(text)
        if lost:
            skipped.append((line, tr("HTML formatting removed; the text is kept")))
    cleaned = " ".join(_restore(text).split())
    if re.match(r"^([-*+#]|\d+[.)])", cleaned):
        cleaned = "\\" + cleaned
    return cleaned


def _html_to_markdown(text: str) -> tuple[str, bool]:
    """Bold, italics, links and media links as markdown; other tags removed. True in the
    second place when something other than those was removed."""
    text = re.sub(r"<(strong|b)>(.*?)</\1>", r"**\2**", text, flags=re.I | re.S)
    text = re.sub(r"<(em|i)>(.*?)</\1>", r"*\2*", text, flags=re.I | re.S)
    text = re.sub(
        r"<a\s[^>]*href=[\"']([^\"']+)[\"'][^>]*>(.*?)</a>", r"[\2](\1)", text, flags=re.I | re.S
    )
    text = re.sub(
        r"<(audio|video|source)\s[^>]*src=[\"']([^\"']+)[\"'][^>]*>",
        lambda m: f" [{m.group(1)}]({m.group(2)}) ",
        text,
        flags=re.I,
    )
    text = re.sub(r"<br\s*/?>|</?p>", " ", text, flags=re.I)
    text = re.sub(r"</(audio|video)>", " ", text, flags=re.I)
    lost = bool(TAG.search(text))
    return TAG.sub(" ", text), lost


def _split_options(body: str) -> tuple[list[tuple[str, str]], str]:
    """Answer-block items as (marker, text) with marker '=' or '~', and general feedback."""
    general = ""
    if "####" in body:
        body, general = body.split("####", 1)
    items: list[tuple[str, str]] = []
    for match in re.finditer(r"([=~])([^=~]*)", body):
        items.append((match.group(1), match.group(2)))
    return items, general


def _option_parts(text: str) -> tuple[float | None, str, str]:
    """(percent weight or None, option text, option feedback)."""
    weight = None
    found = PERCENT.match(text.strip())
    if found:
        weight = float(found.group(1))
        text = text.strip()[found.end() :]
    option, _sep, feedback = text.partition("#")
    return weight, option, feedback


def _feedback(text: str, skipped: list[tuple[int, str]], line: int) -> str:
    cleaned = _clean(text, skipped, line)
    return f" => {cleaned}" if cleaned else ""


def _convert_block(
    block: str, line: int, tags: list[str], skipped: list[tuple[int, str]]
) -> _Question | None:
    text = _protect(block)
    title = ""
    titled = re.match(r"^\s*::(.*?)::", text, re.S)
    if titled:
        title, text = _restore(titled.group(1)).strip(), text[titled.end() :]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        skipped.append((line, tr("no answer block: a description, not a question (skipped)")))
        return None
    before, body, after = text[:start], text[start + 1 : end].strip(), text[end + 1 :]
    stem = _clean(before, skipped, line)
    if after.strip():  # missing-word question: the blank is where the answers were
        stem = f"{stem} _____ {_clean(after, skipped, line)}".strip()
    if not body:
        skipped.append((line, tr("essay question (no answers) is not supported (skipped)")))
        return None
    if body.startswith("#"):
        skipped.append((line, tr("numerical question is not supported (skipped)")))
        return None
    question = _Question(line, "", stem, tags, title=title)
    answers, _sep, general = body.partition("####")
    tf = re.match(r"^(T|TRUE|F|FALSE)\s*((?:#[^#]*){0,2})$", answers.strip(), re.IGNORECASE)
    if tf:
        right = tf.group(1).upper().startswith("T")
        question.feedback = _clean(general, skipped, line)
        # Moodle: `{T#if answered wrongly#if answered rightly}`
        wrong_fb, right_fb = ([*tf.group(2).split("#")[1:], "", ""])[:2]
        if wrong_fb.strip() or right_fb.strip():
            # per-answer feedback has its place on options: a single question Benar / Salah
            question.qtype = "single"
            chosen = {True: right_fb, False: wrong_fb}
            for label, is_true in (("Benar", True), ("Salah", False)):
                mark = "[x]" if is_true == right else "[ ]"
                said = chosen[is_true == right]
                question.options.append(f"- {mark} {label}{_feedback(said, skipped, line)}")
            return question
        question.qtype = "truefalse"
        question.answer = "benar" if right else "salah"
        return question
    items, general = _split_options(body)
    question.feedback = _clean(general, skipped, line)
    if not items:
        skipped.append((line, tr("answer block not understood (skipped)")))
        return None
    parts = [(marker, *_option_parts(option)) for marker, option in items]
    if all(m == "=" and "->" in o for m, _w, o, _f in parts):
        question.qtype = "matching"
        for _m, _w, option, fb in parts:
            left, _sep, right = option.partition("->")
            if not left.strip():
                note = tr(
                    "the extra choice '{choice}' (no left side) has no equivalent: dropped",
                    choice=right.strip(),
                )
                skipped.append((line, note))
                continue
            question.options.append(
                f"- {_clean(left, skipped, line)} = "
                f"{_clean(right, skipped, line)}{_feedback(fb, skipped, line)}"
            )
        return question
    if all(m == "=" for m, *_rest in parts):
        full = [(o, f) for _m, w, o, f in parts if (w is None or w >= 100) and o.strip() != "*"]
        for _m, w, o, _f in parts:
            if o.strip() == "*":
                skipped.append((line, tr("the catch-all answer '*' has no equivalent: dropped")))
            elif w is not None and 0 < w < 100:
                note = tr(
                    "partial credit ({credit}%) for '{answer}' has no equivalent: that answer "
                    "is not accepted",
                    credit=f"{w:g}",
                    answer=o.strip(),
                )
                skipped.append((line, note))
            elif w is not None and w <= 0:
                skipped.append(
                    (line, tr("'{answer}' earns no credit: not accepted", answer=o.strip()))
                )
        if not full:
            skipped.append((line, tr("no answer earns full credit (skipped)")))
            return None
        question.qtype = "short"
        question.answer = " | ".join(_clean(o, skipped, line) for o, _f in full)
        if any(f.strip() for _o, f in full):
            skipped.append((line, tr("feedback on a short answer has no place: dropped")))
        return question
    weights = [100.0 if m == "=" else (w or 0.0) for m, w, _o, _f in parts]
    positive = [w for w in weights if w > 0]
    if len(positive) == 1 and max(weights) == 100:
        question.qtype = "single"
        marks = ["[x]" if w == 100 else "[ ]" for w in weights]
    elif len(positive) > 1 and abs(sum(positive) - 100) < 0.5:
        question.qtype = "multiple"
        marks = ["[x]" if w > 0 else "[ ]" for w in weights]
    elif positive:
        question.qtype = "scenario"  # graded options: map 0-100 % onto weights 1-5
        marks = [f"[{1 + round(max(w, 0) / 100 * 4)}]" for w in weights]
    else:
        skipped.append((line, tr("no option earns credit (skipped)")))
        return None
    for mark, (_m, _w, option, fb) in zip(marks, parts, strict=True):
        question.options.append(
            f"- {mark} {_clean(option, skipped, line)}{_feedback(fb, skipped, line)}"
        )
    return question


MOODLE_TAG = re.compile(r"\[tag:([^\]]+)\]")


def _blocks(source: str) -> list[tuple[int, str]]:
    """Blank-line separated blocks with their first line number; comments removed, but the
    tags Moodle writes in them (`// [tag:name]`) kept as a `\x01tags` line."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(source.splitlines(), start=1):
        if raw.lstrip().startswith("//"):
            found = MOODLE_TAG.findall(raw)
            if found:
                if not current:
                    start = number
                current.append("\x01" + ",".join(found))
            continue
        if raw.strip():
            if not current:
                start = number
            current.append(raw)
        elif current and _balanced("\n".join(current)):
            blocks.append((start, "\n".join(current)))
            current = []
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def _balanced(text: str) -> bool:
    protected = _protect(text)
    return protected.count("{") == protected.count("}")


def _render(questions: list[_Question], quiz_id: str, title: str, pass_mark: int) -> str:
    # a first estimate of the time a learner needs (the course's JP count it): a minute and a
    # half per question, at least five; the trainer adjusts it
    minutes = max(5, (3 * len(questions) + 1) // 2)
    lines = ["---", f"id: {quiz_id}", f"title: {_yaml(title)}", f"minutes: {minutes}"]
    lines += [f"pass_mark: {pass_mark}", "---"]
    used: set[str] = set()
    for number, q in enumerate(questions, start=1):
        base = f"{quiz_id}-{slug(q.title)}" if q.title else f"{quiz_id}-{number:02d}"
        qid = base if base not in used else f"{base}-{number}"
        used.add(qid)
        tags = f"; {', '.join(q.tags)}" if q.tags else ""
        lines += ["", f"## {qid} ({q.qtype}{tags})", q.stem or q.title or "?", ""]
        lines += q.options
        if q.answer:
            lines.append(f"Jawaban: {q.answer}")
        if q.feedback:
            lines += ["", f"Umpan balik: {q.feedback}"]
    return "\n".join(lines) + "\n"


def _yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def convert_gift(source: str, quiz_id: str, title: str, pass_mark: int = 70) -> Converted:
    """GIFT text → our quiz file text, and the constructs skipped, by line."""
    skipped: list[tuple[int, str]] = []
    tags: list[str] = []
    questions: list[_Question] = []
    for line, block in _blocks(source):
        category = re.match(r"^\s*\$CATEGORY:\s*(.+)$", block.splitlines()[0])
        if category:
            leaf = category.group(1).strip().split("/")[-1]
            tags = [slug(leaf, "kategori")]
            rest = "\n".join(block.splitlines()[1:])
            if not rest.strip():
                continue
            block = rest
        lines = block.splitlines()
        own = [t for raw in lines if raw.startswith("\x01") for t in raw[1:].split(",")]
        block = "\n".join(raw for raw in lines if not raw.startswith("\x01"))
        if not block.strip():
            continue
        question = _convert_block(block, line, [*tags, *(slug(t, "tag") for t in own)], skipped)
        if question is not None:
            questions.append(question)
    return Converted(_render(questions, quiz_id, title, pass_mark), len(questions), skipped)


AIKEN_OPTION = re.compile(r"^([A-Z])[.)]\s*(\S.*)$")
AIKEN_ANSWER = re.compile(r"^ANSWER:\s*([A-Z])\s*$")


def convert_aiken(source: str, quiz_id: str, title: str, pass_mark: int = 70) -> Converted:
    """Aiken text (stem, `A. option` lines, `ANSWER: X`) → our quiz file text."""
    skipped: list[tuple[int, str]] = []
    questions: list[_Question] = []
    stem: list[str] = []
    options: list[tuple[str, str]] = []
    start = 0
    for number, raw in enumerate(source.splitlines(), start=1):
        text = raw.strip()
        if not text:
            continue
        answer, option = AIKEN_ANSWER.match(text), AIKEN_OPTION.match(text)
        if answer:
            letters = [letter for letter, _o in options]
            if answer.group(1) not in letters or len(options) < 2:
                skipped.append(
                    (start, tr("ANSWER does not name one of at least two options (skipped)"))
                )
            else:
                q = _Question(start, "single", " ".join(stem), [])
                q.options = [
                    f"- {'[x]' if letter == answer.group(1) else '[ ]'} {o}"
                    for letter, o in options
                ]
                questions.append(q)
            stem, options = [], []
        elif option and stem:
            options.append((option.group(1), option.group(2)))
        else:
            if options:
                skipped.append((start, tr("question without an ANSWER line (skipped)")))
                stem, options = [], []
            if not stem:
                start = number
            stem.append(text)
    if stem:
        skipped.append((start, tr("question without an ANSWER line (skipped)")))
    return Converted(_render(questions, quiz_id, title, pass_mark), len(questions), skipped)
