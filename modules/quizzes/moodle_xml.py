"""Import a Moodle XML question export (the format most Moodle sites export) into our quiz
format, parsed with defusedxml (no entity expansion, no external entities).

Converted: categories (as tags), question names (ids), `multichoice` (one right answer:
`single`; several right answers: `multiple`; graded answers: `scenario`), `truefalse` (as
`single` Benar / Salah when its answers carry feedback), `shortanswer` (answers worth 100 %),
`matching` (subquestions; an extra answer without a question is reported), per-answer and
general feedback, tags, HTML (bold, italics, links, media sources as markdown). Everything
else (essays, numerical, calculated, cloze, drag-and-drop, descriptions, embedded images) is
reported with its line and skipped: nothing is dropped silently."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element  # noqa: S405 - type only; parsing is defusedxml's

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from app.i18n import N_, tr
from modules.quizzes.gift import Converted, _clean, _feedback, _Question, _render, slug

UNSUPPORTED = {
    "essay": N_("essay question is not supported (skipped)"),
    "numerical": N_("numerical question is not supported (skipped)"),
    "calculated": N_("calculated question is not supported (skipped)"),
    "calculatedsimple": N_("calculated question is not supported (skipped)"),
    "calculatedmulti": N_("calculated question is not supported (skipped)"),
    "multianswer": N_("embedded answers (cloze) are not supported (skipped)"),
    "description": N_("a description, not a question (skipped)"),
    "ddwtos": N_("drag-and-drop is not supported (skipped)"),
    "ddimageortext": N_("drag-and-drop is not supported (skipped)"),
    "ddmarker": N_("drag-and-drop is not supported (skipped)"),
    "gapselect": N_("select missing words is not supported (skipped)"),
    "randomsamatch": N_("random short-answer matching is not supported (skipped)"),
}


def _text(element: Element | None, path: str = "text") -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "") if found is not None else ""


def _lines(source: str) -> list[int]:
    """The line of each `<question` element, in document order."""
    return [source.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<question\b", source)]


def convert_moodle_xml(source: str, quiz_id: str, title: str, pass_mark: int = 70) -> Converted:
    """Moodle XML text → our quiz file text, and what could not be kept, by line."""
    skipped: list[tuple[int, str]] = []
    try:
        root = ElementTree.fromstring(source.encode("utf-8"))
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        return Converted("", 0, [(1, tr("not a Moodle XML file: {problem}", problem=exc))])
    lines = _lines(source)
    tags: list[str] = []
    questions: list[_Question] = []
    for number, element in enumerate(root.iter("question")):
        line = lines[number] if number < len(lines) else 1
        kind = element.get("type", "")
        if kind == "category":
            path = _text(element.find("category"))
            leaf = path.strip().split("/")[-1] if path.strip() else ""
            tags = [slug(leaf, "kategori")] if leaf and not leaf.startswith("$") else []
            continue
        if kind in UNSUPPORTED:
            skipped.append((line, tr(UNSUPPORTED[kind])))
            continue
        question = _question(element, kind, line, tags, skipped)
        if question is not None:
            questions.append(question)
    return Converted(_render(questions, quiz_id, title, pass_mark), len(questions), skipped)


def _question(
    element: Element, kind: str, line: int, tags: list[str], skipped: list[tuple[int, str]]
) -> _Question | None:
    name = _text(element.find("name")).strip()
    stem_html = _text(element.find("questiontext"))
    if element.find("questiontext/file") is not None:
        skipped.append((line, tr("an image or file in the question is not imported")))
    own_tags = [slug(_text(t), "tag") for t in element.findall("tags/tag")]
    question = _Question(line, "", _clean(stem_html, skipped, line), [*tags, *own_tags], title=name)
    question.feedback = _clean(_text(element.find("generalfeedback")), skipped, line)
    answers = [
        (
            float(a.get("fraction", "0") or 0),
            _clean(_text(a), skipped, line),
            _text(a.find("feedback")),
        )
        for a in element.findall("answer")
    ]
    if kind == "truefalse":
        return _true_false(question, element, answers, skipped, line)
    if kind == "shortanswer":
        full = [text for fraction, text, _fb in answers if fraction >= 100 and text != "\\*"]
        for fraction, text, _fb in answers:
            if text == "\\*":  # a lone '*' (escaped as text by _clean): Moodle's catch-all
                skipped.append((line, tr("the catch-all answer '*' has no equivalent: dropped")))
            elif 0 < fraction < 100:
                note = tr(
                    "partial credit ({credit}%) for '{answer}' has no equivalent: that answer "
                    "is not accepted",
                    credit=f"{fraction:g}",
                    answer=text,
                )
                skipped.append((line, note))
        if not full:
            skipped.append((line, tr("no answer earns full credit (skipped)")))
            return None
        if any(fb.strip() for _f, _t, fb in answers):
            skipped.append((line, tr("feedback on a short answer has no place: dropped")))
        question.qtype, question.answer = "short", " | ".join(full)
        return question
    if kind == "matching":
        for sub in element.findall("subquestion"):
            left = _clean(_text(sub), skipped, line)
            right = _clean(_text(sub.find("answer")), skipped, line)
            if not left:
                note = tr(
                    "the extra choice '{choice}' (no question) has no equivalent: dropped",
                    choice=right,
                )
                skipped.append((line, note))
                continue
            question.options.append(f"- {left} = {right}")
        if len(question.options) < 2:
            skipped.append((line, tr("a matching question needs two pairs (skipped)")))
            return None
        question.qtype = "matching"
        return question
    if kind == "multichoice":
        return _choice(question, element, answers, skipped, line)
    skipped.append((line, tr("question type '{kind}' is not supported (skipped)", kind=kind)))
    return None


def _true_false(
    question: _Question,
    element: Element,
    answers: list[tuple[float, str, str]],
    skipped: list[tuple[int, str]],
    line: int,
) -> _Question | None:
    by_word = {text.lower(): (fraction, fb) for fraction, text, fb in answers}
    if "true" not in by_word or "false" not in by_word:
        skipped.append((line, tr("a true/false question without both answers (skipped)")))
        return None
    right = by_word["true"][0] >= 100
    if any(fb.strip() for _f, fb in by_word.values()):
        question.qtype = "single"
        for label, word in (("Benar", "true"), ("Salah", "false")):
            mark = "[x]" if (word == "true") == right else "[ ]"
            said = _feedback(by_word[word][1], skipped, line)
            question.options.append(f"- {mark} {label}{said}")
        return question
    question.qtype, question.answer = "truefalse", "benar" if right else "salah"
    return question


def _choice(
    question: _Question,
    element: Element,
    answers: list[tuple[float, str, str]],
    skipped: list[tuple[int, str]],
    line: int,
) -> _Question | None:
    if len(answers) < 2:
        skipped.append((line, tr("a choice question needs two answers (skipped)")))
        return None
    fractions = [fraction for fraction, _t, _fb in answers]
    positive = [f for f in fractions if f > 0]
    one = _text(element, "single").strip().lower() in ("true", "1")
    if one and len(positive) == 1 and max(fractions) >= 100:
        question.qtype, marks = "single", ["[x]" if f >= 100 else "[ ]" for f in fractions]
    elif not one and positive and abs(sum(positive) - 100) < 0.5:
        question.qtype, marks = "multiple", ["[x]" if f > 0 else "[ ]" for f in fractions]
    elif positive:
        question.qtype = "scenario"  # graded answers: 0-100 % onto weights 1-5
        marks = [f"[{1 + round(max(f, 0) / 100 * 4)}]" for f in fractions]
        if any(f < 0 for f in fractions):
            skipped.append((line, tr("negative marks have no equivalent: scored as the lowest")))
    else:
        skipped.append((line, tr("no answer earns credit (skipped)")))
        return None
    for mark, (_f, text, fb) in zip(marks, answers, strict=True):
        question.options.append(f"- {mark} {text}{_feedback(fb, skipped, line)}")
    return question
