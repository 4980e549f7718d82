"""One exception tree for the whole tool.

Only `UserError` and its subclasses are caught by the command line and shown as
a short message: they mean "the input needs fixing". Anything else is a bug in
handouts and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # the input is wrong (content, clinic, template) or a leaflet could not be made
    USAGE = 2  # the command line names something that does not exist


class HandoutsError(Exception):
    """Base of every error raised on purpose by handouts."""


class UserError(HandoutsError):
    """Something the person running handouts can fix; shown without a traceback."""

    exit_status = ExitStatus.ERROR


class NotFoundError(UserError):
    """A treatment, language, style or clinic named on the command line does not exist."""

    exit_status = ExitStatus.USAGE


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one input file, reported as `path:line: field: message`."""

    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ContentError(UserError):
    """One or more input files are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (str(p.path), p.line or 0, p.field))
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} found:"] + [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self):  # sent whole from the process that made a leaflet
        return (type(self), (self.problems,))


def unusable_name(name: object, exc: BaseException) -> tuple[str, str]:
    """(the name as a message shows it, why the computer cannot use it) for a file or folder
    name that is too long or has a NUL character in it."""
    text = str(name)
    shown = text if len(text) <= 80 else text[:80] + "..."
    reason = "it has a NUL character" if "\0" in text else getattr(exc, "strerror", None)
    return repr(shown), str(reason or exc)


class RenderError(UserError):
    """A leaflet could not be turned into a PDF (missing image, blocked file, broken template)."""
