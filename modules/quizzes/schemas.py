"""Quiz content: front matter keys, and a quiz as parsed, validated and rendered."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
