"""Read a content folder: parse front matter, validate, render, and report every problem."""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import yaml
from pydantic import BaseModel, ValidationError

from app.i18n import N_, gettext, tr
from modules.courses.markdown import RENDER_SIGNATURE, callout_problems, make_renderer
from modules.courses.quiz_format import read_questions
from modules.courses.schemas import (
    GRADED_KINDS,
    LIKERT_KINDS,
    AssetRef,
    CourseContent,
    CourseFrontMatter,
    LessonContent,
    LessonFrontMatter,
    ModuleContent,
    ModuleFrontMatter,
    PlanContent,
    PlanFrontMatter,
    Question,
    QuizContent,
    QuizFrontMatter,
    timed_minutes,
)

M = TypeVar("M", bound=BaseModel)
COURSE_FILE = "course.md"
QUIZ_SUFFIX = ".quiz.md"
PLAN_SUFFIX = ".plan.md"
MINUTES_PER_JP = 45
MODULE_FILE = "module.md"
MODULE_DIR = re.compile(r"^\d+-")
EXTERNAL = ("http://", "https://", "mailto:", "tel:")
IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
ATTACHMENT_TYPES = IMAGE_TYPES | {
    ".pdf",
    ".txt",
    ".csv",
    ".docx",
    ".xlsx",
    ".pptx",
    ".odt",
    ".ods",
    ".odp",
    ".zip",
}
MAX_ASSET_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, order=True)
class ContentError:
    """One problem in a content file, printed as `path:line: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class LoadedCourse:
    """The result of reading one course folder: the content when valid, and every error."""

    folder: Path
    course_id: str | None
    content: CourseContent | None
    errors: list[ContentError]
    asset_files: dict[str, Path] = field(default_factory=dict)


@dataclass
class _Doc:
    path: Path
    meta: dict[str, Any]
    key_lines: dict[str, int]
    body: str
    body_line: int  # file line number of the body's first line
    # the front matter could not be read (reported): the body is still checked, so that one
    # broken file never hides the rest of the course's problems
    broken: bool = False


class _Reporter:
    def __init__(self, display_root: Path) -> None:
        self.display_root = display_root
        self.errors: list[ContentError] = []

    def show(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.display_root))
        except ValueError:
            return str(path)

    def add(self, path: Path, line: int, message: str) -> None:
        self.errors.append(ContentError(self.show(path), max(line, 1), message))


def _read_doc(path: Path, report: _Reporter) -> _Doc | None:
    """Split a markdown file into YAML front matter (with key line numbers) and body."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.add(path, 1, tr("file is not valid UTF-8 (byte {byte})", byte=exc.start))
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        report.add(path, 1, tr("missing front matter: the file must start with a '---' line"))
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        report.add(path, 1, tr("front matter is not closed with a '---' line"))
        return None
    source = "\n".join(lines[1:end])
    body, body_line = "\n".join(lines[end + 1 :]), end + 2
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        meta = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        report.add(path, line, yaml_problem(getattr(exc, "problem", None) or str(exc)))
        return _Doc(path, {}, {}, body, body_line, broken=True)
    if meta is None:
        meta, node = {}, None
    if not isinstance(meta, dict):
        report.add(path, 2, tr("front matter must be a set of 'key: value' lines"))
        return _Doc(path, {}, {}, body, body_line, broken=True)
    key_lines: dict[str, int] = {}
    for key_node, _value in getattr(node, "value", []):
        key = str(key_node.value)
        line = key_node.start_mark.line + 2
        if key in key_lines:
            report.add(
                path,
                line,
                tr("duplicate key '{key}' (first on line {line})", key=key, line=key_lines[key]),
            )
        key_lines.setdefault(key, line)
    return _Doc(path, meta, key_lines, body, body_line)


# PyYAML's problems, in words a trainer reads (in their language); others are shown as PyYAML
# words them, after a translated lead
_YAML_PROBLEMS = (
    ("mapping values are not allowed", N_(
        "invalid YAML in front matter: a ':' where a value should be; put a value that "
        "contains ': ' in quotes"
    )),
    ("found character '\\t'", N_(
        "invalid YAML in front matter: a tab; indent with spaces"
    )),
    ("could not find expected ':'", N_(
        "invalid YAML in front matter: a line without 'key: value' (is a ':' or a quote missing?)"
    )),
    ("found unexpected end of stream", N_(
        "invalid YAML in front matter: a quote or bracket is not closed"
    )),
    ("found unexpected ':'", N_(
        "invalid YAML in front matter: an unexpected ':'; put the value in quotes"
    )),
    ("did not find expected key", N_(
        "invalid YAML in front matter: the indentation does not line up"
    )),
    ("expected ',' or ']'", N_(
        "invalid YAML in front matter: a list in [ ] is not closed or lacks a ','"
    )),
    ("did not find expected ',' or ']'", N_(
        "invalid YAML in front matter: a list in [ ] is not closed or lacks a ','"
    )),
    ("found undefined alias", N_(
        "invalid YAML in front matter: a '*' starts an alias; put the value in quotes"
    )),
)  # fmt: skip


def yaml_problem(problem: str) -> str:
    """A front-matter YAML problem in the reader's language."""
    for start, message in _YAML_PROBLEMS:
        if problem.startswith(start):
            return tr(message)
    return tr("invalid YAML in front matter: {problem}", problem=problem.splitlines()[0])


def _validate(model: type[M], doc: _Doc, report: _Reporter) -> M | None:
    if doc.broken:  # its front matter's problem is reported already
        return None
    try:
        return model.model_validate(doc.meta)
    except ValidationError as exc:
        allowed = ", ".join(model.model_fields)
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            line = doc.key_lines.get(key, 1)
            if err["type"] == "extra_forbidden":
                message = tr("unknown key '{key}' (allowed: {allowed})", key=key, allowed=allowed)
            elif err["type"] == "missing":
                message = tr("missing required key '{key}'", key=key)
            else:
                message = tr("'{key}': {problem}", key=key, problem=_value_problem(err))
            report.add(doc.path, line, message)
        return None


VALUE_PROBLEMS = {
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "string_type": N_("must be text"),
    "string_too_short": N_("is too short"),
    "string_too_long": N_("is too long"),
    "greater_than": N_("is too small"),
    "greater_than_equal": N_("is too small"),
    "less_than_equal": N_("is too large"),
    "string_pattern_mismatch": N_("must be lowercase letters, digits and single hyphens"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a list of 'tag: number' lines"),
}


def _value_problem(err: Any) -> str:
    """A translatable reason for a rejected front-matter value (pydantic's text is English)."""
    if err["type"] == "value_error":
        return gettext(str(err["ctx"]["error"]))
    if err["type"] == "literal_error":
        return tr("must be one of: {values}", values=err["ctx"]["expected"])
    reason = VALUE_PROBLEMS.get(err["type"])
    return gettext(reason) if reason else str(err["msg"])


def content_hash(folder: Path) -> str:
    """SHA-256 over every file's relative path and bytes, in a stable order, and over the
    renderer's signature (a renderer change makes a new version of the same files)."""
    digest = hashlib.sha256(RENDER_SIGNATURE)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def git_commit(folder: Path) -> str | None:
    """The last commit touching the folder, when it lives in a git work tree."""
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(folder), "log", "-1", "--format=%H", "--", "."],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


class _CourseReader:
    """Reads one course folder in two passes: front matter of every file, then bodies."""

    def __init__(self, folder: Path, report: _Reporter) -> None:
        self.folder = folder.resolve()
        self.report = report
        self.md = make_renderer()
        self.lesson_urls: dict[Path, str] = {}
        self.lesson_files: set[Path] = set()  # every lesson file, valid or not
        self.assets: dict[str, AssetRef] = {}
        self.asset_files: dict[str, Path] = {}
        self.course_id = ""
        self.module_folders = 0
        self.quiz_docs: dict[Path, list[_Doc]] = {}
        self.plan_docs: dict[Path, list[_Doc]] = {}
        self.sources: dict[str, tuple[Path, int]] = {}  # quiz/plan source -> (path, kind line)
        self.plan_lines: dict[str, int] = {}  # plan source -> the line of its `values:`
        self.question_ids: dict[str, str] = {}

    def read(self) -> LoadedCourse:
        course_path = self.folder / COURSE_FILE
        if not course_path.is_file():
            self.report.add(course_path, 1, tr("missing course.md: a course folder needs one"))
            return LoadedCourse(self.folder, None, None, self.report.errors)
        course_doc = _read_doc(course_path, self.report)
        course_meta = _validate(CourseFrontMatter, course_doc, self.report) if course_doc else None
        self.course_id = course_meta.id if course_meta else self.folder.name
        modules = self._read_modules()
        intro = self._render(course_doc) if course_doc else ""
        rendered = []
        for meta, doc, lessons, folder in modules:
            # Every body is rendered, even under broken front matter, so that its own problems
            # (links, images, callouts) are reported in the same run.
            module_intro = self._render(doc)
            module_lessons = [self._lesson(lmeta, ldoc) for lmeta, ldoc in lessons]
            quizzes = [q for q in map(self._quiz, self.quiz_docs.get(folder, [])) if q]
            plans = [p for p in map(self._plan, self.plan_docs.get(folder, [])) if p]
            for extra in plans[1:]:
                self._at(extra.source, tr("one action plan per course"))
            if meta is not None:
                rendered.append(
                    ModuleContent(
                        quizzes=quizzes,
                        plan=plans[0] if plans else None,
                        id=meta.id,
                        title=meta.title,
                        summary=meta.summary,
                        objectives=meta.objectives,
                        intro_html=module_intro,
                        lessons=[lesson for lesson in module_lessons if lesson is not None],
                    )
                )
        if not self.module_folders and course_meta:
            self.report.add(
                course_path, 1, tr("course has no module folders (e.g. '01-pengantar/')")
            )
        if course_meta:
            self._check_activities(
                rendered, course_meta.jp, course_doc, course_meta.tags, course_meta.completion
            )
        content = None
        if course_meta and not self.report.errors:
            content = CourseContent(
                id=course_meta.id,
                title=course_meta.title,
                description=course_meta.description,
                intro_html=intro,
                version=course_meta.version,
                jp=course_meta.jp,
                language=course_meta.language,
                completion=course_meta.completion,
                objectives=course_meta.objectives,
                tags=course_meta.tags,
                content_hash=content_hash(self.folder),
                git_commit=git_commit(self.folder),
                modules=rendered,
                assets=sorted(self.assets.values(), key=lambda a: a.source),
            )
        return LoadedCourse(
            self.folder,
            course_meta.id if course_meta else None,
            content,
            self.report.errors,
            self.asset_files,
        )

    def _read_modules(self) -> list[tuple[ModuleFrontMatter | None, _Doc, list, Path]]:
        modules = []
        module_ids: dict[str, str] = {}
        lesson_ids: dict[str, str] = {}
        for folder in sorted(p for p in self.folder.iterdir() if p.is_dir()):
            if not MODULE_DIR.match(folder.name):
                continue  # other folders hold images and attachments
            self.module_folders += 1
            module_path = folder / MODULE_FILE
            if not module_path.is_file():
                self.report.add(module_path, 1, tr("missing module.md in module folder"))
                continue
            doc = _read_doc(module_path, self.report)
            meta = _validate(ModuleFrontMatter, doc, self.report) if doc else None
            if meta and doc:
                self._unique(meta.id, "module", module_ids, doc)
            lessons = []
            lesson_paths = [
                p
                for p in sorted(folder.glob("*.md"))
                if p.name != MODULE_FILE and not p.name.endswith((QUIZ_SUFFIX, PLAN_SUFFIX))
            ]
            self.plan_docs[folder] = [
                d
                for d in (_read_doc(p, self.report) for p in sorted(folder.glob(f"*{PLAN_SUFFIX}")))
                if d
            ]
            self.quiz_docs[folder] = [
                d
                for d in (_read_doc(p, self.report) for p in sorted(folder.glob(f"*{QUIZ_SUFFIX}")))
                if d
            ]
            for lesson_path in lesson_paths:
                self.lesson_files.add(lesson_path.resolve())
                ldoc = _read_doc(lesson_path, self.report)
                if ldoc is None:
                    continue
                lmeta = _validate(LessonFrontMatter, ldoc, self.report)
                if lmeta:
                    self._unique(lmeta.id, "lesson", lesson_ids, ldoc)
                    url = f"/courses/{self.course_id}/lessons/{lmeta.id}"
                    self.lesson_urls[lesson_path.resolve()] = url
                lessons.append((lmeta, ldoc))
            if not lesson_paths:
                self.report.add(module_path, 1, tr("module has no lessons (add NN-name.md files)"))
            if doc:
                modules.append((meta, doc, lessons, folder))
        return modules

    def _unique(self, ident: str, kind: str, seen: dict[str, str], doc: _Doc) -> None:
        where = f"{self.report.show(doc.path)}:{doc.key_lines.get('id', 1)}"
        if ident in seen:
            self.report.add(
                doc.path,
                doc.key_lines.get("id", 1),
                (
                    tr("duplicate module id '{id}' (first used at {where})")
                    if kind == "module"
                    else tr("duplicate lesson id '{id}' (first used at {where})")
                ).format(id=ident, where=seen[ident]),
            )
        else:
            seen[ident] = where

    def _lesson(self, meta: LessonFrontMatter | None, doc: _Doc) -> LessonContent | None:
        if not doc.body.strip():
            self.report.add(
                doc.path,
                doc.body_line,
                tr("lesson is empty: write its text below the front matter"),
            )
        html = self._render(doc)
        if meta is None:
            return None
        source = doc.path.relative_to(self.folder).as_posix()
        return LessonContent(
            id=meta.id,
            title=meta.title,
            minutes=meta.minutes,
            html=html,
            source=source,
        )

    def _quiz(self, doc: _Doc) -> QuizContent | None:
        """A quiz file: settings in front matter, questions in the body."""
        meta = _validate(QuizFrontMatter, doc, self.report)
        fallback = QuizFrontMatter(id="quiz", title="quiz")  # still read the questions

        def report(line: int, message: str) -> None:
            self.report.add(doc.path, line, message)

        def render(text: str, line: int) -> str:
            return self._render(_Doc(doc.path, {}, {}, text, line))

        questions = read_questions(
            meta or fallback, doc.body, doc.body_line, report, render, doc.key_lines
        )
        for question in questions:
            where = f"{self.report.show(doc.path)}:{question.line}"
            if question.id in self.question_ids:
                report(
                    question.line,
                    tr(
                        "duplicate question id '{id}' (first used at {where})",
                        id=question.id,
                        where=self.question_ids[question.id],
                    ),
                )
            self.question_ids.setdefault(question.id, where)
        if meta is None:
            return None
        kind = meta.kind or (
            "self_assessment" if questions and all(not q.graded for q in questions) else "quiz"
        )
        source = doc.path.relative_to(self.folder).as_posix()
        self.sources[source] = (doc.path, doc.key_lines.get("kind", 1))
        self._check_quiz(meta, kind, questions, doc)
        fields = meta.model_dump(exclude={"kind"})
        if kind == "pre_test":
            fields["attempts"] = 1  # taken once, before the lessons
        return QuizContent(**fields, kind=kind, questions=questions, source=source)

    def _check_quiz(
        self, meta: QuizFrontMatter, kind: str, questions: list[Question], doc: _Doc
    ) -> None:
        """What a quiz's kind asks of its settings and questions."""
        kind_line = doc.key_lines.get("kind", 1)
        if meta.minutes is None:
            self.report.add(
                doc.path,
                1,
                tr("declare 'minutes:': how long a learner needs (the course's JP count them)"),
            )
        if kind in LIKERT_KINDS and any(q.graded for q in questions):
            self.report.add(
                doc.path,
                kind_line,
                tr("a {kind} holds Likert statements only", kind=kind),
            )
        if kind in GRADED_KINDS and not any(q.graded for q in questions):
            self.report.add(doc.path, kind_line, tr("a {kind} needs graded questions", kind=kind))
        if kind == "pre_test" and meta.pass_mark is not None:
            self.report.add(
                doc.path,
                doc.key_lines.get("pass_mark", kind_line),
                tr("a pre_test has no pass_mark: it measures what a learner knows at the start"),
            )
        if kind == "pre_test" and "attempts" in doc.key_lines and meta.attempts != 1:
            self.report.add(
                doc.path,
                doc.key_lines.get("attempts", kind_line),
                tr("a pre_test is taken once: remove 'attempts:' or set it to 1"),
            )
        if kind == "post_test" and meta.pass_mark is None:
            self.report.add(
                doc.path,
                kind_line,
                tr("a post_test needs a pass_mark: it decides whether the course is complete"),
            )

    def _plan(self, doc: _Doc) -> PlanContent | None:
        """An action-plan activity: settings in front matter, instructions in the body."""
        meta = _validate(PlanFrontMatter, doc, self.report)
        if not doc.body.strip():
            self.report.add(
                doc.path,
                doc.body_line,
                tr("write the plan's instructions below the front matter"),
            )
        html = self._render(doc)
        if meta is None:
            return None
        if meta.min_values > meta.max_values:
            self.report.add(
                doc.path,
                doc.key_lines.get("min_values", 1),
                tr("min_values is more than max_values"),
            )
        source = doc.path.relative_to(self.folder).as_posix()
        self.sources[source] = (doc.path, doc.key_lines.get("id", 1))
        self.plan_lines[source] = doc.key_lines.get("values", doc.key_lines.get("id", 1))
        return PlanContent(**meta.model_dump(), html=html, source=source)

    def _at(self, source: str, message: str, line: int | None = None) -> None:
        path, kind_line = self.sources.get(source, (self.folder / source, 1))
        self.report.add(path, line or kind_line, message)

    def _plan_values(
        self, plan: PlanContent, modules: list[ModuleContent], tags: dict[str, str]
    ) -> None:
        """The values a plan chooses from: its own list, else the tags of the course's first
        self-assessment; each must be named in course.md's tags."""
        if not plan.values:
            forms = [q for m in modules for q in m.quizzes if q.kind == "self_assessment"]
            found = [t for q in forms[:1] for question in q.questions for t in question.tags]
            plan.values = list(dict.fromkeys(found))
        line = self.plan_lines.get(plan.source)
        if not plan.values:
            self._at(plan.source, tr("list the values a plan chooses from in 'values:'"), line)
        seen: set[str] = set()
        for tag in plan.values:
            if tag in seen:
                self._at(plan.source, tr("value '{tag}' is listed twice", tag=tag), line)
            seen.add(tag)
            if tag not in tags:
                self._at(
                    plan.source, tr("value '{tag}' needs a name in course.md's tags", tag=tag), line
                )
            if len(tag) > 40:
                self._at(
                    plan.source, tr("value '{tag}' is longer than 40 characters", tag=tag), line
                )
        if plan.values and plan.min_values > len(set(plan.values)):
            self._at(plan.source, tr("min_values is more than the values listed"), line)

    def _check_activities(
        self,
        modules: list[ModuleContent],
        jp: int,
        course_doc: _Doc | None,
        tags: dict[str, str],
        completion: str = "modules",
    ) -> None:
        """Where the course's special activities sit, and its JP against their minutes."""
        if not modules:
            return
        single: dict[str, list[tuple[int, str]]] = {
            "pre_test": [],
            "post_test": [],
            "survey": [],
            "follow_up": [],
        }
        for position, module in enumerate(modules):
            for quiz in module.quizzes:
                if quiz.kind in single:
                    single[quiz.kind].append((position, quiz.source))
        last = len(modules) - 1
        for kind, found in single.items():
            for _position, source in found[1:]:
                self._at(source, tr("one {kind} per course", kind=kind))
        for position, source in single["pre_test"]:
            if position != 0:
                self._at(source, tr("the pre_test belongs in the course's first module"))
        for kind in ("post_test", "survey", "follow_up"):
            for position, source in single[kind]:
                if position != last:
                    self._at(
                        source, tr("the {kind} belongs in the course's last module", kind=kind)
                    )
        plans = [(i, m.plan) for i, m in enumerate(modules) if m.plan is not None]
        for _position, plan in plans:
            self._plan_values(plan, modules, tags)
        for position, plan in plans:
            if position != last:
                self._at(plan.source, tr("the action plan belongs in the course's last module"))
        if completion != "modules":
            needing = [
                source
                for kind in ("pre_test", "post_test", "survey")
                for _p, source in single[kind]
            ]
            for source in needing + [plan.source for _p, plan in plans]:
                self._at(
                    source,
                    tr("set 'completion: modules' for tests, surveys and the plan to count"),
                )
        if single["follow_up"] and not plans:
            self._at(
                single["follow_up"][0][1],
                tr("a follow_up opens some time after the action plan: add a *.plan.md"),
            )
        minutes = timed_minutes(modules)
        expected = jp_for_minutes(minutes)
        if expected != jp and course_doc is not None:
            self.report.add(
                course_doc.path,
                course_doc.key_lines.get("jp", 1),
                tr(
                    "jp is {jp}, but the activities take {minutes} minutes, which is {expected} "
                    "JP of 45 minutes (rounded to the nearest whole JP)",
                    jp=jp,
                    minutes=minutes,
                    expected=expected,
                ),
            )

    def _render(self, doc: _Doc) -> str:
        for line, message in callout_problems(doc.body):
            self.report.add(doc.path, doc.body_line + line - 1, message)

        def resolve(target: str, line: int, is_image: bool) -> str | None:
            return self._resolve(doc, target, doc.body_line + line - 1, is_image)

        def no_alt(target: str, line: int) -> None:
            self.report.add(
                doc.path,
                doc.body_line + line - 1,
                tr(
                    "image '{target}' has no description (alt text): say what it shows "
                    "between the brackets, ![like this]({target})",
                    target=target,
                ),
            )

        return self.md.render(doc.body, {"resolve": resolve, "no_alt": no_alt})

    def _resolve(self, doc: _Doc, target: str, line: int, is_image: bool) -> str | None:
        if target.lower().startswith(EXTERNAL):
            if is_image:
                self.report.add(
                    doc.path,
                    line,
                    tr("image '{target}' must be a file in the course folder", target=target),
                )
            return None
        if target.startswith("#") or not target:
            return None
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or target.startswith("/"):
            self.report.add(
                doc.path,
                line,
                tr("link '{target}' must be relative to this file or http(s)", target=target),
            )
            return None
        rel = posixpath.normpath(
            posixpath.join(doc.path.parent.relative_to(self.folder).as_posix(), unquote(parts.path))
        )
        path = (self.folder / rel).resolve()
        if not path.is_relative_to(self.folder):
            self.report.add(
                doc.path,
                line,
                tr("link '{target}' points outside the course folder", target=target),
            )
            return None
        if not path.is_file():
            self.report.add(
                doc.path,
                line,
                (
                    tr("broken image: '{target}' does not exist")
                    if is_image
                    else tr("broken link: '{target}' does not exist")
                ).format(target=target),
            )
            return None
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if path.suffix == ".md":
            if path in self.lesson_urls and not is_image:
                return self.lesson_urls[path] + fragment
            if path in self.lesson_files and not is_image:
                return None  # that lesson's own errors are reported already
            self.report.add(
                doc.path,
                line,
                tr("link '{target}' is a markdown file but not a lesson", target=target),
            )
            return None
        return self._asset(doc, path, target, line, is_image)

    def _asset(self, doc: _Doc, path: Path, target: str, line: int, is_image: bool) -> str | None:
        suffix = path.suffix.lower()
        allowed = IMAGE_TYPES if is_image else ATTACHMENT_TYPES
        if suffix not in allowed:
            self.report.add(
                doc.path,
                line,
                (
                    tr("'{target}' is not allowed as an image (allowed: {allowed})")
                    if is_image
                    else tr("'{target}' is not allowed as an attachment (allowed: {allowed})")
                ).format(target=target, allowed=", ".join(sorted(allowed))),
            )
            return None
        data = path.read_bytes()
        if len(data) > MAX_ASSET_BYTES:
            self.report.add(
                doc.path,
                line,
                tr("'{target}' is larger than {mb} MB", target=target, mb=MAX_ASSET_BYTES // 2**20),
            )
            return None
        sha = hashlib.sha256(data).hexdigest()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        source = path.relative_to(self.folder).as_posix()
        self.assets.setdefault(
            sha, AssetRef(sha256=sha, filename=path.name, media_type=media_type, source=source)
        )
        self.asset_files[sha] = path
        return f"/assets/{sha}/{quote(path.name)}"


def jp_for_minutes(minutes: int) -> int:
    """Minutes as JP of 45 minutes, rounded to the nearest whole JP (a half rounds up)."""
    return (2 * minutes + MINUTES_PER_JP) // (2 * MINUTES_PER_JP)


def load_course(folder: Path, display_root: Path | None = None) -> LoadedCourse:
    """Read, validate and render one course folder."""
    report = _Reporter(display_root or Path.cwd())
    return _CourseReader(folder, report).read()


def check_quiz_file(path: Path, display_root: Path | None = None) -> list[ContentError]:
    """The problems of one quiz file on its own (an imported bank, before it joins a
    course): its settings and every question; links and images relative to its folder."""
    report = _Reporter(display_root or Path.cwd())
    reader = _CourseReader(path.parent, report)
    doc = _read_doc(path.resolve(), report)
    if doc is not None:
        reader._quiz(doc)
    return report.errors


def load_for_check(
    folder: Path, display_root: Path | None = None
) -> tuple[list[LoadedCourse], list[ContentError]]:
    """What `content check FOLDER` reads: the content root (every course in it), one course
    folder (it has a course.md), for a module folder its course, or one quiz file (a
    question bank on its own)."""
    if folder.is_file() and folder.name.endswith(QUIZ_SUFFIX):
        return [], check_quiz_file(folder, display_root)
    if (folder / COURSE_FILE).is_file():
        return [load_course(folder, display_root)], []
    if (folder / MODULE_FILE).is_file() and (folder.parent / COURSE_FILE).is_file():
        return [load_course(folder.parent, display_root)], []
    return load_content_dir(folder, display_root)


def load_content_dir(
    root: Path, display_root: Path | None = None
) -> tuple[list[LoadedCourse], list[ContentError]]:
    """Read every course folder under root; the second list holds errors spanning courses."""
    display = display_root or Path.cwd()
    report = _Reporter(display)
    if not root.is_dir():
        report.add(root, 1, tr("content folder does not exist"))
        return [], report.errors
    courses = [
        load_course(p, display)
        for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(".")
    ]
    if not courses:  # a wrong path, or a folder not deployed: never "nothing to publish"
        report.add(root, 1, tr("no course folder here: a course is a folder with a course.md"))
    seen: dict[str, Path] = {}
    for course in courses:
        if course.course_id is None:
            continue
        if course.course_id in seen:
            # The error belongs to the second folder: it is not published and says why.
            course.errors.append(
                ContentError(
                    report.show(course.folder / COURSE_FILE),
                    1,
                    tr(
                        "duplicate course id '{id}' (also in {where})",
                        id=course.course_id,
                        where=report.show(seen[course.course_id]),
                    ),
                )
            )
            course.content = None
        else:
            seen[course.course_id] = course.folder
    if not courses:
        report.add(root, 1, tr("no course folders found (each needs a course.md)"))
    return courses, report.errors
