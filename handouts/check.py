"""`handouts check`: everything a clinic should know before it prints.

- every file is valid, every reference key and related leaflet exists;
- clinic folders are valid (brand file, logo, colour contrast);
- review dates: a leaflet past its `next_review` date is a warning (an error when strict);
- reading level of each leaflet's printed text (English): Flesch-Kincaid grade at most
  MAX_GRADE for every leaflet and at most MAX_AVERAGE_GRADE on average (errors when strict).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from .clinic import bundled_clinics, load_clinic
from .content import Library
from .errors import ContentError, Problem, UserError

MAX_GRADE = 7.0
MAX_AVERAGE_GRADE = 6.5
SCORED_LANGUAGES = {"en"}  # the formulas are only meaningful for English


@dataclass(frozen=True)
class Readability:
    treatment: str
    lang: str
    words: int
    fk_grade: float
    smog: float


@dataclass
class CheckReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    readability: list[Readability] = field(default_factory=list)
    average_grade: float | None = None
    checked_leaflets: int = 0
    checked_clinics: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        def problem(p: Problem) -> dict:
            return {"file": str(p.path), "line": p.line, "field": p.field, "message": p.message}

        return {
            "ok": self.ok,
            "errors": [problem(p) for p in self.errors],
            "warnings": [problem(p) for p in self.warnings],
            "readability": [asdict(r) for r in self.readability],
            "average_grade": self.average_grade,
            "limits": {"max_grade": MAX_GRADE, "max_average_grade": MAX_AVERAGE_GRADE},
            "checked_leaflets": self.checked_leaflets,
            "checked_clinics": self.checked_clinics,
        }


def score(sentences: Sequence[str]) -> tuple[int, float, float]:
    """(words, Flesch-Kincaid grade, SMOG) of a list of printed lines."""
    import textstat

    text = " ".join(s if s.rstrip()[-1:] in ".?!:" else s + "." for s in sentences)
    return (
        textstat.lexicon_count(text),
        round(textstat.flesch_kincaid_grade(text), 1),
        round(textstat.smog_index(text), 1),
    )


def check(
    library: Library,
    clinics: Sequence[str] = (),
    *,
    strict: bool = False,
    today: date | None = None,
) -> CheckReport:
    today = today or date.today()
    report = CheckReport(errors=library.all_problems())
    gated = report.errors if strict else report.warnings  # errors only when strict

    for spec in clinics or bundled_clinics():
        try:
            report.checked_clinics.append(load_clinic(spec).name)
        except ContentError as exc:
            report.errors.extend(exc.problems)
        except UserError as exc:
            report.errors.append(Problem(Path(spec), None, "", str(exc)))

    broken = {p.path for p in report.errors}
    for treatment in library.treatments():
        for lang in library.languages_of(treatment):
            path = library.handout_path(treatment, lang)
            if path in broken:
                continue
            try:
                handout = library.handout(treatment, lang)
            except UserError:
                continue  # already reported by all_problems()
            report.checked_leaflets += 1
            due = handout.review.next_review
            if due < today:
                gated.append(
                    Problem(
                        path,
                        library.line(treatment, lang, ("review", "next_review")),
                        "review.next_review",
                        f"the review was due on {due.isoformat()}; have a clinician review this "
                        "leaflet, then update last_reviewed and next_review",
                    )
                )
            if lang in SCORED_LANGUAGES:
                words, grade, smog = score(handout.printed_text())
                report.readability.append(Readability(treatment, lang, words, grade, smog))
                if grade > MAX_GRADE:
                    gated.append(
                        Problem(
                            path,
                            None,
                            "",
                            f"reading level is grade {grade} (Flesch-Kincaid); the limit is "
                            f"{MAX_GRADE}. Use shorter sentences and everyday words.",
                        )
                    )

    grades = [r.fk_grade for r in report.readability]
    if grades:
        report.average_grade = round(statistics.fmean(grades), 2)
        if report.average_grade > MAX_AVERAGE_GRADE:
            gated.append(
                Problem(
                    library.root,
                    None,
                    "",
                    f"the average reading level is grade {report.average_grade}; the limit is "
                    f"{MAX_AVERAGE_GRADE}",
                )
            )
    return report
