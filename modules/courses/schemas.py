"""Parsed course content: what a course folder becomes once it is validated and rendered."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.i18n import N_
from modules.quizzes.schemas import QuizContent

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


class CourseFrontMatter(_FrontMatter):
    """Keys allowed at the top of `course.md`."""

    id: str = Field(max_length=64)
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=10, max_length=2000)
    version: str = Field(min_length=1, max_length=40)
    jp: int = Field(gt=0, le=200, description="JP (training hours) credited on completion")
    language: Literal["id", "en"]
    completion: Literal["all_lessons", "modules"] = "all_lessons"

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
    content_hash: str
    git_commit: str | None = None
    modules: list[ModuleContent]
    assets: list[AssetRef] = []

    @property
    def version_label(self) -> str:
        """Author's version plus the start of the file hash, e.g. `1.0.0+3f2a9c1b0d4e`."""
        return f"{self.version}+{self.content_hash[:12]}"

    def lessons(self) -> list[tuple[ModuleContent, LessonContent]]:
        """Every lesson in reading order with its module."""
        return [(m, lesson) for m in self.modules for lesson in m.lessons]
