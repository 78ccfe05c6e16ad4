"""Exceptions of shnor-reports.

Every error a user can cause carries where it happened (file, sheet, row, column) and what
was expected, and prints as one Russian sentence that says what to fix.
"""
from __future__ import annotations


class ShnorError(Exception):
    """Base class of every error shnor-reports raises on purpose."""


class InputError(ShnorError):
    """Bad input data: a file, sheet, row or column that does not match the contract."""

    def __init__(self, message: str, *, file: str | None = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None,
                 expected: str | None = None, got: object = None):
        self.message = message
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        self.expected, self.got = expected, got
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"файл «{self.file}»")
        if self.sheet:
            where.append(f"лист «{self.sheet}»")
        if self.row is not None:
            where.append(f"строка {self.row}")
        if self.column:
            where.append(f"столбец «{self.column}»")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.expected:
            text += f"; ожидалось: {self.expected}"
        if self.got is not None:
            text += f"; получено: «{self.got}»"
        return text


class ConfigError(ShnorError):
    """A methodology or parameter file is malformed."""


class ParameterError(ShnorError):
    """A report parameter is unknown, missing or of the wrong type."""


class ReportError(ShnorError):
    """A report failed while executing: which report, which cell, which exception."""

    def __init__(self, message: str, *, report: str | None = None, cell_index: int | None = None,
                 ename: str | None = None, evalue: str | None = None):
        self.message, self.report, self.cell_index, self.ename, self.evalue = message, report, cell_index, ename, evalue
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.report:
            where.append(f"отчёт «{self.report}»")
        if self.cell_index is not None:
            where.append(f"ячейка {self.cell_index}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.ename and self.ename not in self.message:   # the message may already quote the exception
            text += f" ({self.ename}: {self.evalue})" if self.evalue else f" ({self.ename})"
        return text


class ClusterError(ShnorError):
    """The Dask cluster of a batch cannot be reached or failed."""
