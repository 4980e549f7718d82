"""`handouts check`: everything a clinic should know before it prints.

- every file is valid, every reference key and related leaflet exists;
- clinic folders are valid (brand file, logo, colour contrast), and everything a build
  would find is found: see handouts/clinic_check.py;
- review dates: a leaflet past its `next_review` date is a warning (an error when strict);
- clinical sign-off: a leaflet no clinician has approved is a draft, a warning (an error when
  strict); a clinic's approval that names an old version is a warning too;
- varieties of English: every leaflet is made in each variety (en-GB, en-US); a variant
  whose British text changed since it was written is an error, and so is any British word
  (locales/en-US.yaml, not_in_print and spelling) left in an American leaflet;
- reading level of each leaflet's printed text (English): Flesch-Kincaid grade at most
  MAX_GRADE for every leaflet and at most MAX_AVERAGE_GRADE on average (errors when strict);
- translations: see handouts/translation_check.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from pydantic import BaseModel

from .clinic import Clinic, bundled_clinics, load_clinic
from .clinic_check import check_clinic
from .content import Library
from .errors import ContentError, Problem, UserError
from .locales import fingerprint
from .models import HandoutBase, Point
from .translation_check import Ease, as_prose, check_translations
from .yamlfile import field_name

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
    ease: list[Ease] = field(default_factory=list)  # translations: reading ease by formula
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
            "reading_ease": [asdict(r) for r in self.ease],
            "average_grade": self.average_grade,
            "limits": {"max_grade": MAX_GRADE, "max_average_grade": MAX_AVERAGE_GRADE},
            "checked_leaflets": self.checked_leaflets,
            "checked_clinics": self.checked_clinics,
        }


def score(sentences: Sequence[str]) -> tuple[int, float, float]:
    """(words, Flesch-Kincaid grade, SMOG) of a list of printed lines."""
    import textstat

    text = as_prose(sentences)
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
    render: bool = True,
) -> CheckReport:
    """Every check; `render=False` skips making a leaflet in each style for each clinic."""
    today = today or date.today()
    report = CheckReport(errors=library.all_problems())
    gated = report.errors if strict else report.warnings  # errors only when strict

    loaded: list[Clinic] = []
    for spec in clinics or bundled_clinics():
        try:
            loaded.append(load_clinic(spec))
            report.checked_clinics.append(loaded[-1].name)
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
            if handout.translation is not None:
                continue  # its review and regional wording are the English leaflet's
            try:
                report.errors.extend(variety_problems(library, treatment, lang, handout))
            except ContentError as exc:  # e.g. a broken locales file: reported once below
                report.errors.extend(exc.problems)
            drafts = [c.name for c in loaded if c.sign_off(treatment, lang, handout.review) is None]
            if handout.review.approved_by is None and (drafts or not loaded):
                gated.append(
                    Problem(
                        path,
                        library.line(treatment, lang, ("review", "version")),
                        "review",
                        f"version {handout.review.version} is a draft: no clinician has approved "
                        "it, so it prints 'Draft - not yet approved by a clinician' "
                        f"(clinics: {', '.join(drafts) or 'none checked'}). When a clinician has "
                        "checked it, record who and when under 'approvals' in the clinic's "
                        "clinic.yaml",
                    )
                )
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

    # Translations: missing, out of date, numbers that differ, labels and clinic texts left
    # in English, letters no font has, reading ease (handouts/translation_check.py).
    translated = check_translations(library, loaded, strict=strict)
    report.errors.extend(translated.errors)
    report.warnings.extend(translated.warnings)
    report.ease = translated.ease
    for clinic in loaded:
        report.errors.extend(approval_problems(library, clinic, gated))
        # Everything a build would find: defaults, templates, stylesheets, fonts, images,
        # and one leaflet in every style, made in memory and checked on its laid-out pages.
        errors, warnings = check_clinic(library, clinic, strict=strict, render=render)
        report.errors.extend(errors)
        report.warnings.extend(warnings)
    # A problem in a shared file (references.yaml, a locales file) is found once per leaflet
    # that uses it; report it once.
    report.errors[:] = dict.fromkeys(report.errors)
    report.warnings[:] = dict.fromkeys(report.warnings)

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


def points_with_places(handout: HandoutBase) -> list[tuple[tuple, Point]]:
    """Every point of a leaflet with where it is in the file, e.g. ('call_clinic', 2)."""
    found = []

    def walk(value, loc: tuple) -> None:
        if isinstance(value, Point):
            found.append((loc, value))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*loc, i))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                if name not in ("review", "translation"):
                    walk(getattr(value, name), (*loc, name))

    walk(handout, ())
    return found


def variety_problems(
    library: Library, treatment: str, lang: str, handout: HandoutBase
) -> list[Problem]:
    """Regional wording of one leaflet: tags that exist, variants that are up to date,
    and no British word left in a leaflet made for another variety."""
    path = library.handout_path(treatment, lang)
    varieties = library.varieties_of(lang)
    problems = []

    def problem(loc: tuple, field: str, message: str) -> None:
        problems.append(Problem(path, library.line(treatment, lang, loc), field, message))

    places = points_with_places(handout)
    for loc, point in places:
        where = field_name(loc)
        for tag in point.only:
            if tag not in varieties:
                problem(
                    (*loc, "only"),
                    f"{where}.only",
                    f"'{tag}' is not a variety of this language; "
                    f"use one of: {', '.join(varieties) or 'none exist'}",
                )
        for tag in ("en-US",):
            variant = point.variant(tag)
            if variant is None:
                continue
            now = fingerprint(point.text)
            if tag not in varieties:
                problem((*loc, tag), f"{where}.{tag}", f"there is no {tag} in content/locales")
            elif variant.base is None:
                problem(
                    (*loc, tag),
                    f"{where}.{tag}",
                    f"say which British text this wording was written from: add 'base: {now}'",
                )
            elif variant.base != now:
                problem(
                    (*loc, tag),
                    f"{where}.{tag}",
                    f"the British text has changed since this {tag} wording was written "
                    f"(base {variant.base}, now {now}). Make the {tag} wording say the same "
                    f"as the British text, then set 'base: {now}'",
                )
    if problems:
        return problems
    for tag in varieties:
        locale = library.locale(tag)
        try:
            printed = library.localised(treatment, locale)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        if locale.banned is None:
            continue
        kept = [(loc, p) for loc, p in places if locale.keeps(p)]
        for (loc, _), (_, shown) in zip(kept, points_with_places(printed), strict=True):
            words = locale.banned_words(shown.text)
            if words:
                problem(
                    loc,
                    field_name(loc),
                    f"the {tag} leaflet would print {', '.join(sorted(set(words)))}: give "
                    f"this point {tag} wording (under '{tag}:') or mark it 'only:' for the "
                    "varieties it is right for",
                )
        for name in ("title", "subtitle", "purpose"):
            words = locale.banned_words(getattr(printed, name) or "")
            if words:
                problem(
                    (name,),
                    name,
                    f"the {tag} leaflet would print {', '.join(sorted(set(words)))}; "
                    "reword it so that it suits every variety",
                )
    return problems


def approval_problems(library: Library, clinic: Clinic, gated: list[Problem]) -> list[Problem]:
    """A clinic's sign-offs must name leaflets that exist; one for an old version is a warning."""
    errors = []
    brand_file = clinic.folder / "clinic.yaml"
    for i, approval in enumerate(clinic.brand.approvals):
        for treatment, version in approval.leaflets.items():
            where = f"approvals (item {i + 1}).leaflets.{treatment}"
            if treatment not in library.treatments():
                errors.append(
                    Problem(brand_file, None, where, f"there is no leaflet called '{treatment}'")
                )
                continue
            if approval.language not in library.languages_of(treatment):
                continue
            try:
                current = library.handout(treatment, approval.language).review.version
            except UserError:
                continue  # the leaflet's own problems are reported by all_problems()
            if version != current:
                gated.append(
                    Problem(
                        brand_file,
                        None,
                        where,
                        f"signs off version {version}, but the leaflet is now version "
                        f"{current}; it prints as a draft until a clinician signs off {current}",
                    )
                )
    return errors
