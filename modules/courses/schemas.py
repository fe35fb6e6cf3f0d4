"""The content format as data: what a course folder (its course file, lessons and quiz files)
becomes once it is validated and rendered. These shapes are what the courses service hands to
the rest of the platform."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

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

    @property
    def self_assessment(self) -> bool:
        """Only Likert statements: recorded, never graded."""
        return all(not q.graded for q in self.questions)


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
