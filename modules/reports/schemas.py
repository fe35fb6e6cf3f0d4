"""The JSON shapes of the report API (they are its OpenAPI documentation too)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class GroupOut(BaseModel):
    key: str = Field(
        description="The agency id, work unit, grade or employment type; `*` for the totals."
    )
    label: str = Field(description="The agency's name, else the key.")
    people: int
    completed: int
    in_progress: int
    overdue: int
    not_started: int
    completed_in_period: int = Field(description="Completed between `since` and `until`.")
    assigned: int = Field(description="People assigned the course with a due date.")
    rate: float = Field(description="Completed, in percent of `people`.")
    jp: int = Field(description="JP earned by the completions.")


class ModuleOut(BaseModel):
    id: str
    title: str
    completed: int = Field(description="People who completed the module by the end of the period.")
    percent: float


class MonthOut(BaseModel):
    month: str = Field(description="YYYY-MM, in the platform's time zone.")
    completed: int


class CompletionOut(BaseModel):
    course: str
    filters: dict[str, str] = Field(description="The filters applied, as query parameters.")
    group_by: Literal["agency", "unit", "grade", "employment_type"]
    totals: GroupOut
    groups: list[GroupOut]
    modules: list[ModuleOut]
    months: list[MonthOut] = Field(description="Completions in each of the last 12 months.")


class PersonOut(BaseModel):
    nip: str
    name: str
    agency: str
    unit: str
    position: str
    grade: str
    employment_type: Literal["PNS", "PPPK"]
    status: Literal["completed", "overdue", "in_progress", "not_started"]
    due_on: date | None
    completed_at: datetime | None
    jp: int
    certificate_number: str | None


class PeopleOut(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null on the last."
    )


class JpPersonOut(BaseModel):
    nip: str
    name: str
    agency: str
    unit: str
    position: str
    grade: str
    employment_type: Literal["PNS", "PPPK"]
    jp: int = Field(description="JP earned on this platform in the year.")
    target: int | None = Field(description="A PNS's yearly minimum (null for a PPPK).")
    ceiling: int | None = Field(
        description="A PPPK's contract-year ceiling, PP 49/2018 Pasal 40 ayat (1) (null for a PNS)."
    )
    status: Literal["met", "below", "within", "above"] = Field(
        description="PNS: met / below the minimum; PPPK: within / above the ceiling."
    )


class JpSummaryOut(BaseModel):
    people: int
    met: int = Field(description="PNS who reached the yearly minimum.")
    below: int = Field(description="PNS below the yearly minimum.")
    pppk: int = Field(0, description="PPPK in the selection.")
    above: int = Field(0, description="PPPK above the contract-year ceiling.")
    jp: int = Field(description="JP earned in all.")


class JpOut(BaseModel):
    year: int
    targets: dict[str, int] = Field(
        description="PNS: the yearly minimum; PPPK: the contract-year ceiling (not a target)."
    )
    summary: JpSummaryOut | None = Field(
        description="Over everyone the filters select; on the first page only (null with a cursor)."
    )
    items: list[JpPersonOut]
    next_cursor: str | None


class ValueOut(BaseModel):
    value: str = Field(description="The core value (the statements' tag).")
    before: float | None = Field(description="Mean answer (1-5) in the pre-course assessment.")
    after: float | None
    change: float | None
    answers_before: int
    answers_after: int


class SelfAssessmentOut(BaseModel):
    course: str
    before_quiz: str | None = Field(description="Null when the course has no pre/post pair.")
    after_quiz: str | None
    values: list[ValueOut]


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details (served as application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
