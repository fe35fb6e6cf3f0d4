"""The content format as data: what a course folder (its course file, lessons and quiz files)
becomes once it is validated and rendered. These shapes are what the courses service hands to
the rest of the platform."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.i18n import N_

# ---- quizzes (a `*.quiz.md` file) ----
QUESTION_TYPES = (
    "single",
    "multiple",
    "truefalse",
    "short",
    "matching",
    "ordering",
    "scenario",
    "likert",
)
REVIEW_ITEMS = ("correctness", "feedback", "answers")
DEFAULT_SCALE = ["Sangat tidak setuju", "Tidak setuju", "Ragu-ragu", "Setuju", "Sangat setuju"]
# What a quiz file is for. Graded: a module quiz, the knowledge pre-test and post-test. Likert
# forms: the self-assessment, the reaction survey (level 1) and the follow-up self-assessment
# opened some months after the course.
QUIZ_KINDS = ("quiz", "pre_test", "post_test", "self_assessment", "survey", "follow_up")
GRADED_KINDS = ("quiz", "pre_test", "post_test")
LIKERT_KINDS = ("self_assessment", "survey", "follow_up")
KIND_LABELS = {
    "quiz": N_("quiz"),
    "pre_test": N_("pre-test"),
    "post_test": N_("post-test"),
    "self_assessment": N_("self-assessment"),
    "survey": N_("survey"),
    "follow_up": N_("follow-up, months after the course"),
}
QuizKind = Literal["quiz", "pre_test", "post_test", "self_assessment", "survey", "follow_up"]


class QuizFrontMatter(BaseModel):
    """Keys allowed at the top of a `*.quiz.md` file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(max_length=80, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=2, max_length=200)
    description: str = Field("", max_length=2000)
    pass_mark: int | None = Field(None, ge=0, le=100, description="percent needed to pass")
    attempts: int = Field(0, ge=0, le=100, description="0: unlimited")
    grading: Literal["highest", "last"] = "highest"
    time_limit: int | None = Field(None, ge=1, le=600, description="minutes")
    draw: int | dict[str, int] | None = None
    shuffle_questions: bool = False
    shuffle_options: bool = False
    review: list[Literal["correctness", "feedback", "answers"]] = ["correctness", "feedback"]
    scale: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SCALE), min_length=2, max_length=10
    )
    max_weight: int = Field(5, ge=2, le=10, description="highest scenario option weight")
    kind: QuizKind | None = Field(None, description="what it is for; by its questions when unset")
    minutes: int | None = Field(None, ge=1, le=240, description="how long a learner needs")

    @field_validator("draw")
    @classmethod
    def _positive_draw(cls, value: int | dict[str, int] | None) -> int | dict[str, int] | None:
        counts = value.values() if isinstance(value, dict) else [value] if value else []
        if any(c < 1 for c in counts):
            raise ValueError("draw counts must be at least 1")
        return value


class Option(BaseModel):
    """An answer option; its index in the source is its stable identity within the version."""

    html: str
    correct: bool = False
    weight: int | None = None  # scenario questions
    match_html: str | None = None  # matching: the right-hand side
    feedback_html: str = ""


class Question(BaseModel):
    id: str
    type: Literal[
        "single", "multiple", "truefalse", "short", "matching", "ordering", "scenario", "likert"
    ]
    tags: list[str] = []
    stem_html: str
    options: list[Option] = []
    answers: list[str] = []  # short answer: accepted answers; truefalse: ["true"] or ["false"]
    feedback_html: str = ""
    line: int = 1

    @property
    def graded(self) -> bool:
        return self.type != "likert"


class QuizContent(BaseModel):
    """A validated, rendered quiz (or self-assessment) within a course version."""

    id: str
    title: str
    description: str
    pass_mark: int | None
    attempts: int
    grading: str
    time_limit: int | None
    draw: int | dict[str, int] | None
    shuffle_questions: bool
    shuffle_options: bool
    review: list[str]
    scale: list[str]
    max_weight: int
    questions: list[Question]
    source: str
    kind: str = "quiz"
    minutes: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_of_a_stored_version(cls, data: Any) -> Any:
        """A version stored before quiz kinds existed: its kind, by its questions, as the
        reader decides it for a file without `kind:`."""
        if isinstance(data, dict) and "kind" not in data:
            questions = data.get("questions") or []
            likert = [
                (q.get("type") if isinstance(q, dict) else getattr(q, "type", None)) == "likert"
                for q in questions
            ]
            data = {**data, "kind": "self_assessment" if likert and all(likert) else "quiz"}
        return data

    @property
    def self_assessment(self) -> bool:
        """A self-assessment (at the start or end of the course, or the follow-up months later):
        Likert statements about one's own behaviour, recorded, never graded, never required."""
        return self.kind in ("self_assessment", "follow_up")

    @property
    def likert_form(self) -> bool:
        """A Likert form (self-assessment, reaction survey, follow-up): recorded, never graded."""
        return self.kind in LIKERT_KINDS

    @property
    def hand_in_completes(self) -> bool:
        """Handing it in is what completion asks (the pre-test and the reaction survey); other
        required quizzes must be passed."""
        return self.kind in ("pre_test", "survey")

    @property
    def required(self) -> bool:
        """Asked of every learner by the `modules` completion rule."""
        return self.kind in ("quiz", "pre_test", "post_test", "survey")


# ---- courses, modules and lessons ----

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
ID_RE = re.compile(ID_PATTERN)
ID_RULE = N_("must be lowercase letters, digits and single hyphens, e.g. 'akuntabel'")


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("id", check_fields=False)
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_RE.match(value):
            raise ValueError(ID_RULE)
        return value


Objective = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=300)]


class CourseFrontMatter(_FrontMatter):
    """Keys allowed at the top of `course.md`."""

    id: str = Field(max_length=64)
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=10, max_length=2000)
    version: str = Field(min_length=1, max_length=40)
    jp: int = Field(gt=0, le=200, description="JP (training hours) credited on completion")
    language: Literal["id", "en"]
    completion: Literal["all_lessons", "modules"] = "all_lessons"
    objectives: list[Objective] = Field(
        default_factory=list, max_length=12, description="what a learner can do afterwards"
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        description="names of question tags, shown where results are grouped by tag",
    )

    @field_validator("tags")
    @classmethod
    def _tag_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value.values():
            if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
                raise ValueError(N_("each tag needs a name of 1 to 80 characters"))
        return {tag: name.strip() for tag, name in value.items()}

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # YAML reads `version: 1.0` as a float; a version is text.
        return str(value) if isinstance(value, int | float) else value


class ModuleFrontMatter(_FrontMatter):
    """Keys allowed at the top of a module folder's `module.md`."""

    id: str = Field(max_length=64)
    title: str = Field(min_length=2, max_length=200)
    summary: str = Field("", max_length=500)
    objectives: list[Objective] = Field(default_factory=list, max_length=8)


class LessonFrontMatter(_FrontMatter):
    """Keys allowed at the top of a lesson file."""

    id: str = Field(max_length=80)
    title: str = Field(min_length=2, max_length=200)
    minutes: int = Field(5, ge=1, le=240)


class PlanFrontMatter(_FrontMatter):
    """Keys allowed at the top of an action-plan activity (`*.plan.md`)."""

    id: str = Field(max_length=80)
    title: str = Field(min_length=2, max_length=200)
    minutes: int = Field(ge=1, le=240, description="how long a learner needs")
    min_values: int = Field(1, ge=1, le=7, description="values a plan must cover, at least")
    max_values: int = Field(3, ge=1, le=7, description="values a plan may cover, at most")
    values: list[str] = Field(
        default_factory=list,
        max_length=12,
        description="tags of course.md a plan chooses from (default: the self-assessment's)",
    )


class PlanContent(BaseModel):
    """The action plan (rencana aksi): the course's last activity before completion. Its
    instructions are the file's body; what a learner writes is kept by the plans module."""

    id: str
    title: str
    minutes: int
    min_values: int
    max_values: int
    values: list[str]
    html: str
    source: str


class LessonContent(BaseModel):
    id: str
    title: str
    minutes: int
    html: str
    source: str  # path inside the course folder, for authors


class ModuleContent(BaseModel):
    id: str
    title: str
    summary: str
    objectives: list[str] = []
    intro_html: str
    lessons: list[LessonContent]
    quizzes: list[QuizContent] = []
    plan: PlanContent | None = None

    @property
    def pre_tests(self) -> list[QuizContent]:
        """The quizzes taken before this module's lessons (the knowledge pre-test)."""
        return [q for q in self.quizzes if q.kind == "pre_test"]

    @property
    def after_lessons(self) -> list[QuizContent]:
        """The quizzes taken after this module's lessons, in file order."""
        return [q for q in self.quizzes if q.kind != "pre_test"]


class AssetRef(BaseModel):
    sha256: str
    filename: str
    media_type: str
    source: str  # path inside the course folder


class CourseContent(BaseModel):
    """A validated, rendered course at one content version."""

    id: str
    title: str
    description: str
    intro_html: str
    version: str
    jp: int
    language: str
    completion: str
    objectives: list[str] = []
    tags: dict[str, str] = {}  # tag -> name (e.g. pelayanan -> Berorientasi Pelayanan)
    content_hash: str
    git_commit: str | None = None
    modules: list[ModuleContent]
    assets: list[AssetRef] = []

    @property
    def version_label(self) -> str:
        """Author's version plus the start of the file hash, e.g. `1.0.0+3f2a9c1b0d4e`."""
        return f"{self.version}+{self.content_hash[:12]}"

    def tag_name(self, tag: str) -> str:
        """A tag as learners read it: its name from `course.md`, else the tag itself."""
        return self.tags.get(tag) or tag

    def lessons(self) -> list[tuple[ModuleContent, LessonContent]]:
        """Every lesson in reading order with its module."""
        return [(m, lesson) for m in self.modules for lesson in m.lessons]

    def quizzes_of_kind(self, kind: str) -> list[QuizContent]:
        """The course's quizzes of one kind, in the course's order."""
        return [q for m in self.modules for q in m.quizzes if q.kind == kind]

    def self_assessment_pair(self) -> tuple[QuizContent, QuizContent] | None:
        """The two self-assessments whose answers are compared per value: the opening one and
        the follow-up months after the course; in a course without a follow-up, the first
        and the last self-assessment (both then ask about the past, so the change says less)."""
        opening = self.quizzes_of_kind("self_assessment")
        follow_up = self.quizzes_of_kind("follow_up")
        if opening and follow_up:
            return opening[0], follow_up[0]
        if not follow_up and len(opening) >= 2:
            return opening[0], opening[-1]
        return None

    @property
    def plan(self) -> PlanContent | None:
        """The action-plan activity, if the course has one."""
        return next((m.plan for m in self.modules if m.plan is not None), None)

    def timed_minutes(self) -> int:
        """The minutes the course's JP are counted from."""
        return timed_minutes(self.modules)


def timed_minutes(modules: list[ModuleContent]) -> int:
    """The minutes JP are counted from: lessons, quizzes, forms and the action plan (the
    follow-up months after the course is not part of it)."""
    total = sum(lesson.minutes for m in modules for lesson in m.lessons)
    total += sum(q.minutes or 0 for m in modules for q in m.quizzes if q.kind != "follow_up")
    return total + sum(m.plan.minutes for m in modules if m.plan is not None)
