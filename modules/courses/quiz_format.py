"""Read the questions of a `*.quiz.md` file (the format is in docs/content-format.md).

The body is a list of questions, each starting with a heading line

    ## question-id (type; tag, tag)

followed by its stem (markdown), then, depending on the type, options as list items,
an `Jawaban:` (Answer) line, and an optional `Umpan balik:` (Feedback) line. Option lines may
end with `=> feedback for that option`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from app.i18n import tr
from modules.courses.schemas import QUESTION_TYPES, Option, Question, QuizFrontMatter

HEADER = re.compile(r"^##\s+(?P<text>.*?)\s*$")
QUESTION_HEADER = re.compile(
    r"^(?P<id>[a-z0-9]+(?:-[a-z0-9]+)*)\s*\(\s*(?P<type>[a-z]+)\s*(?:;\s*(?P<tags>[^)]*))?\)$"
)
BULLET = re.compile(r"^[-*+]\s+(?P<rest>.*)$")
NUMBERED = re.compile(r"^\d{1,3}[.)]\s+(?P<rest>.*)$")
ANSWER = re.compile(r"^(?:jawaban|answer)\s*:\s*(?P<value>.*)$", re.IGNORECASE)
FEEDBACK = re.compile(r"^(?:umpan balik|feedback)\s*:\s*(?P<value>.*)$", re.IGNORECASE)
MARK = re.compile(r"^\[(?P<mark>[ xX]|\d{1,2})\]\s+(?P<text>.*)$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
TRUE_WORDS = {"benar", "true", "betul", "ya"}
FALSE_WORDS = {"salah", "false", "tidak"}

Report = Callable[[int, str], None]
Render = Callable[[str, int], str]  # markdown text and its first file line -> HTML


@dataclass
class _Item:
    line: int
    text: str
    continuation: list[str] = field(default_factory=list)

    def full(self) -> str:
        return " ".join([self.text, *(c.strip() for c in self.continuation)])


@dataclass
class _Section:
    line: int
    header: str
    stem: list[tuple[int, str]] = field(default_factory=list)
    bullets: list[_Item] = field(default_factory=list)
    numbered: list[_Item] = field(default_factory=list)
    answer: tuple[int, str] | None = None
    feedback: tuple[int, str] | None = None


def _sections(body: str, body_line: int, report: Report) -> list[_Section]:
    sections: list[_Section] = []
    in_fence = False
    last_item: _Item | None = None
    for offset, raw in enumerate(body.splitlines()):
        line = body_line + offset
        text = raw.rstrip()
        if FENCE.match(text):
            in_fence = not in_fence
        header = None if in_fence else HEADER.match(text)
        if header:
            sections.append(_Section(line, header.group("text")))
            last_item = None
            continue
        if not sections:
            if text.strip():
                report(
                    line,
                    tr("text before the first question: start each question with '## id (type)'"),
                )
            continue
        section = sections[-1]
        stripped = text.strip()
        if in_fence or not stripped:
            if section.bullets or section.numbered:
                last_item = None
            elif stripped or section.stem:
                section.stem.append((line, text))
            continue
        if last_item is not None and raw.startswith(("  ", "\t")):
            last_item.continuation.append(stripped)
            continue
        for pattern, attr in ((ANSWER, "answer"), (FEEDBACK, "feedback")):
            found = pattern.match(stripped)
            if found:
                setattr(section, attr, (line, found.group("value").strip()))
                last_item = None
                break
        else:
            bullet, numbered = BULLET.match(stripped), NUMBERED.match(stripped)
            if bullet and not raw.startswith(" "):
                last_item = _Item(line, bullet.group("rest"))
                section.bullets.append(last_item)
            elif numbered and not raw.startswith(" "):
                last_item = _Item(line, numbered.group("rest"))
                section.numbered.append(last_item)
            elif section.bullets or section.numbered or section.answer:
                report(line, tr("unexpected text after the options: put the stem before them"))
            else:
                section.stem.append((line, text))
    return sections


def _split_feedback(text: str) -> tuple[str, str]:
    option, _sep, feedback = text.partition(" => ")
    return option.strip(), feedback.strip()


class _QuestionReader:
    def __init__(self, meta: QuizFrontMatter, report: Report, render: Render) -> None:
        self.meta, self.report, self.render = meta, report, render

    def read(self, section: _Section) -> Question | None:
        found = QUESTION_HEADER.match(section.header)
        if not found:
            self.report(
                section.line,
                tr(
                    "question heading must be '## id (type)' or '## id (type; tag, tag)', e.g. "
                    "'## akuntabel-1 (single; kasus)'"
                ),
            )
            return None
        qtype = found.group("type")
        if qtype not in QUESTION_TYPES:
            self.report(
                section.line,
                tr(
                    "unknown question type '{type}' (use one of: {types})",
                    type=qtype,
                    types=", ".join(QUESTION_TYPES),
                ),
            )
            return None
        tags = [t.strip() for t in (found.group("tags") or "").split(",") if t.strip()]
        stem_lines = [text for _line, text in section.stem]
        if not "".join(stem_lines).strip():
            self.report(section.line, tr("question has no text (stem)"))
        question = Question(
            id=found.group("id"),
            type=qtype,
            tags=tags,
            line=section.line,
            stem_html=self.render(
                "\n".join(stem_lines), section.stem[0][0] if section.stem else section.line
            ),
            feedback_html=self.render(section.feedback[1], section.feedback[0])
            if section.feedback
            else "",
        )
        getattr(self, f"_{qtype}")(question, section)
        return question

    # -- one method per type: fill options/answers and report what is wrong ---------------

    def _marked(self, question: Question, section: _Section, weighted: bool) -> None:
        self._no_numbered(section)
        for item in section.bullets:
            mark = MARK.match(item.full())
            expected = "[1]-[5]" if weighted else "[x] / [ ]"
            if not mark or (weighted != mark.group("mark").isdigit()):
                self.report(
                    item.line,
                    tr(
                        "each option of a {type} question starts with {marks}",
                        type=question.type,
                        marks=expected,
                    ),
                )
                continue
            text, feedback = _split_feedback(mark.group("text"))
            option = Option(
                html=self.render(text, item.line),
                feedback_html=self.render(feedback, item.line) if feedback else "",
            )
            if weighted:
                option.weight = int(mark.group("mark"))
                if not 1 <= option.weight <= self.meta.max_weight:
                    self.report(
                        item.line,
                        tr(
                            "weight {weight} is out of range 1-{max}",
                            weight=option.weight,
                            max=self.meta.max_weight,
                        ),
                    )
            else:
                option.correct = mark.group("mark").lower() == "x"
            question.options.append(option)
        if len(question.options) < 2:
            self.report(
                section.line, tr("a {type} question needs at least two options", type=question.type)
            )

    def _single(self, question: Question, section: _Section) -> None:
        self._marked(question, section, weighted=False)
        correct = sum(o.correct for o in question.options)
        if question.options and correct == 0:
            self.report(section.line, tr("no option is marked correct with [x]"))
        elif correct > 1:
            self.report(
                section.line,
                tr(
                    "a single-choice question has exactly one [x] option "
                    "(use type 'multiple' for more)"
                ),
            )

    def _multiple(self, question: Question, section: _Section) -> None:
        self._marked(question, section, weighted=False)
        correct = sum(o.correct for o in question.options)
        if question.options and correct == 0:
            self.report(section.line, tr("no option is marked correct with [x]"))
        elif question.options and correct == len(question.options):
            self.report(section.line, tr("every option is correct: add at least one wrong option"))

    def _scenario(self, question: Question, section: _Section) -> None:
        self._marked(question, section, weighted=True)

    def _truefalse(self, question: Question, section: _Section) -> None:
        self._no_options(section)
        value = section.answer[1].lower() if section.answer else ""
        if value in TRUE_WORDS | FALSE_WORDS:
            question.answers = ["true" if value in TRUE_WORDS else "false"]
        else:
            self.report(
                section.answer[0] if section.answer else section.line,
                tr("a true/false question needs 'Jawaban: benar' or 'Jawaban: salah'"),
            )

    def _short(self, question: Question, section: _Section) -> None:
        self._no_options(section)
        answers = [a.strip() for a in (section.answer[1] if section.answer else "").split("|")]
        question.answers = [a for a in answers if a]
        if not question.answers:
            self.report(
                section.answer[0] if section.answer else section.line,
                tr("a short-answer question needs 'Jawaban: answer | other accepted answer'"),
            )

    def _matching(self, question: Question, section: _Section) -> None:
        self._no_numbered(section)
        for item in section.bullets:
            left, sep, right = item.full().partition(" = ")
            if not sep or not left.strip() or not right.strip():
                self.report(item.line, tr("a matching pair is written '- left = right'"))
                continue
            right_text, feedback = _split_feedback(right)
            question.options.append(
                Option(
                    html=self.render(left.strip(), item.line),
                    match_html=self.render(right_text, item.line),
                    feedback_html=self.render(feedback, item.line) if feedback else "",
                )
            )
        if len(question.options) < 2:
            self.report(section.line, tr("a matching question needs at least two pairs"))

    def _ordering(self, question: Question, section: _Section) -> None:
        if section.bullets:
            self.report(
                section.bullets[0].line,
                tr("list the items of an ordering question as a numbered list, in the right order"),
            )
        for item in section.numbered:
            question.options.append(Option(html=self.render(item.full(), item.line)))
        if len(question.options) < 2:
            self.report(section.line, tr("an ordering question needs at least two items"))

    def _likert(self, question: Question, section: _Section) -> None:
        self._no_options(section)

    def _no_options(self, section: _Section) -> None:
        items = section.bullets + section.numbered
        if items:
            self.report(items[0].line, tr("this question type has no options"))
        if section.answer and section.answer[1] == "":
            self.report(section.answer[0], tr("the answer is empty"))

    def _no_numbered(self, section: _Section) -> None:
        if section.numbered:
            self.report(
                section.numbered[0].line,
                tr("options are written as a bullet list ('- ...'), not numbered"),
            )


def read_questions(
    meta: QuizFrontMatter,
    body: str,
    body_line: int,
    report: Report,
    render: Render,
    key_lines: dict[str, int] | None = None,
) -> list[Question]:
    """Every question of a quiz body, with each problem reported at its line."""
    reader = _QuestionReader(meta, report, render)
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for section in _sections(body, body_line, report):
        question = reader.read(section)
        if question is None:
            continue
        if question.id in seen:
            report(
                section.line,
                tr(
                    "duplicate question id '{id}' (first on line {line})",
                    id=question.id,
                    line=seen[question.id],
                ),
            )
            continue
        seen[question.id] = section.line
        questions.append(question)
    _check_quiz(meta, questions, body_line, report, key_lines or {})
    return questions


def _check_quiz(
    meta: QuizFrontMatter,
    questions: list[Question],
    line: int,
    report: Report,
    key_lines: dict[str, int],
) -> None:
    if not questions:
        report(line, tr("the quiz has no questions"))
        return
    graded = [q for q in questions if q.graded]
    if graded and meta.pass_mark is None and meta.kind != "pre_test":
        report(1, tr("a graded quiz needs 'pass_mark' (percent)"))  # the key is missing
    if not graded and meta.pass_mark is not None:
        report(
            key_lines.get("pass_mark", 1),
            tr("a self-assessment (only likert statements) has no pass_mark"),
        )
    if isinstance(meta.draw, int) and meta.draw > len(questions):
        report(
            key_lines.get("draw", 1),
            tr(
                "draw {draw} is larger than the bank of {count} questions",
                draw=meta.draw,
                count=len(questions),
            ),
        )
    elif isinstance(meta.draw, dict):
        for tag, count in meta.draw.items():
            available = sum(1 for q in questions if tag in q.tags)
            if count > available:
                report(
                    key_lines.get("draw", 1),
                    tr(
                        "draw {count} questions tagged '{tag}', but the bank has {available}",
                        count=count,
                        tag=tag,
                        available=available,
                    ),
                )
