"""Agencies (instansi): the reference list that users and HR scopes point to."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # kementerian, lembaga, provinsi, kabupaten, kota
    parent_code: str | None = Field(default=None, max_length=32)
    active: bool = True
