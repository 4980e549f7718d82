"""What `handouts check` says about translations (handouts/translations.py):

- a leaflet with no translation in a language the others have (a warning);
- a translation made from English words that have changed since (out of date; a warning,
  an error with --strict), with the fingerprint to set once it is brought up to date;
- a number (a dose, an interval, a duration, a percentage, a temperature) in a translated
  point that is not the number in its English point (an error);
- a label still in English in another language's labels (a warning);
- a clinic text (department, disclaimer) given only in English (a warning);
- a letter, in any language's text, labels or clinic texts, that none of the fonts the
  leaflet prints with can print (an error, naming the letter, the file and the fonts);
- the reading ease of each translation where a validated formula exists for the language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clinic import Clinic
from .content import Library
from .errors import ContentError, Problem, UserError
from .fonts import INSTALL_HINT, FontSet, character_name
from .models import CLINIC_TEXTS
from .translations import (
    SOURCE_LANG,
    label_strings,
    numbers,
    source_hash,
    strings,
    translation_key,
)
from .yamlfile import field_name, leaves, line_of, load_yaml, node_at

# Reading-ease formulas validated for a language (textstat): name, function, language code.
FORMULAS = {"es": ("Fernández Huerta", "fernandez_huerta", "es")}


@dataclass(frozen=True)
class Ease:
    """The reading ease of one translated leaflet (higher is easier), or no formula."""

    treatment: str
    lang: str
    words: int
    formula: str | None
    score: float | None


@dataclass
class TranslationReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    ease: list[Ease] = field(default_factory=list)


def check_translations(
    library: Library, clinics: Sequence[Clinic], *, strict: bool = False
) -> TranslationReport:
    report = TranslationReport()
    gated = report.errors if strict else report.warnings
    languages = [lang for lang in library.languages() if lang != SOURCE_LANG]
    for treatment in library.treatments():
        have = library.languages_of(treatment)
        english_path = library.handout_path(treatment, SOURCE_LANG)
        for lang in languages:
            path = library.handout_path(treatment, lang)
            if lang not in have:
                report.warnings.append(
                    Problem(
                        path,
                        None,
                        "",
                        f"there is no {_name(library, lang)} translation of {treatment}: "
                        f"'--lang {lang}' cannot make it. Translate {english_path.name} "
                        f"(handouts translate export {lang} --treatment {treatment})",
                    )
                )
                continue
            try:
                handout = library.handout(treatment, lang)
                english = library.tree(english_path)
                translated = library.tree(path)
            except (ContentError, UserError):
                continue  # reported with the files' own problems
            record = handout.translation
            now = source_hash(english)
            if record is not None and record.source_hash != now:
                version = library.handout(treatment, SOURCE_LANG).review.version
                gated.append(
                    Problem(
                        path,
                        line_of(translated, ("translation", "source_hash")),
                        "translation.source_hash",
                        f"out of date: the English leaflet (now version {version}) has "
                        f"changed since this translation was made from version "
                        f"{record.source_version}. Bring the translation up to date "
                        f"(handouts translate export {lang} --treatment {treatment} shows "
                        f"the English), then set source_hash: {now} and source_version: "
                        f"'{version}'",
                    )
                )
            report.errors.extend(_number_problems(english, translated, path))
            report.ease.append(_ease(treatment, lang, handout.printed_text()))
    for lang in languages:
        report.warnings.extend(_english_labels(library, lang))
        for clinic in clinics:
            report.warnings.extend(_clinic_texts(library, clinic, lang))
    report.errors.extend(_font_problems(library, clinics))
    return report


def _name(library: Library, lang: str) -> str:
    try:
        return library.labels(lang).language_name
    except (ContentError, UserError):
        return lang


def _number_problems(english: Any, translated: Any, path: Path) -> list[Problem]:
    given = {translation_key(p): t for p, t in strings(translated)}
    problems = []
    for place, text in strings(english):
        key = translation_key(place)
        if key not in given:
            continue  # reported by the loader
        wanted, found = numbers(text), numbers(given[key])
        if wanted != found:
            problems.append(
                Problem(
                    path,
                    line_of(translated, key),
                    field_name(key),
                    f"the numbers differ from the English: English {_list(wanted)}, "
                    f"translation {_list(found)}. English: '{text}'",
                )
            )
    return problems


def _list(values: list[str]) -> str:
    return ", ".join(values) if values else "none"


# The marks that end a sentence, with the Chinese and Arabic full stops and marks.
SENTENCE_ENDS = ".?!:\u3002\uff1f\uff01\u061f"


def as_prose(sentences: Sequence[str]) -> str:
    """Printed lines as one text for a readability formula: a heading or list item that
    does not end a sentence is given a full stop, so that it counts as one."""
    return " ".join(s if s.rstrip()[-1:] in SENTENCE_ENDS else s + "." for s in sentences)


def _ease(treatment: str, lang: str, sentences: list[str]) -> Ease:
    import textstat

    text = as_prose(sentences)
    words = len(text.split()) if lang not in ("zh-Hans", "zh") else len(text)
    formula = FORMULAS.get(lang)
    if formula is None:
        return Ease(treatment, lang, words, None, None)
    name, function, code = formula
    textstat.set_lang(code)
    try:
        score = round(getattr(textstat, function)(text), 1)
    finally:
        textstat.set_lang("en_US")
    return Ease(treatment, lang, words, name, score)


def _english_labels(library: Library, lang: str) -> list[Problem]:
    """Labels of another language that are still word for word the English ones."""
    try:
        english = library.labels(SOURCE_LANG).model_dump()
        labels = library.labels(lang).model_dump()
    except (ContentError, UserError):
        return []
    path = library.root / "ui" / f"{lang}.yaml"
    tree = library.tree(path)
    record = library.labels(lang).translation
    same = set(record.same_as_english) if record else set()
    problems = []
    for key, value in label_strings(english):
        if ".".join(key) in same:
            continue
        if node_at(labels, key) == value and any(ch.isalpha() for ch in value):
            problems.append(
                Problem(
                    path,
                    line_of(tree, key),
                    ".".join(key),
                    f"is still in English ('{value}'): {_name(library, lang)} leaflets would "
                    "print it in English. Translate it, or, if the words are rightly the same, "
                    f"list '{'.'.join(key)}' under translation: same_as_english",
                )
            )
    return problems


def _clinic_texts(library: Library, clinic: Clinic, lang: str) -> list[Problem]:
    missing = clinic.brand.untranslated(lang)
    if not missing:
        return []
    brand_file = clinic.folder / "clinic.yaml"
    return [
        Problem(
            brand_file,
            None,
            f"translations.{lang}",
            f"{_name(library, lang)} leaflets print this clinic's "
            f"{' and '.join(missing)} in English; give them under translations: {lang}: "
            f"({', '.join(f'{name}: ...' for name in missing)})",
        )
    ]


def _font_problems(library: Library, clinics: Sequence[Clinic]) -> list[Problem]:
    """Every letter of every language's leaflets, labels and clinic texts must be in a font
    the leaflet prints with."""
    # The styles' fonts are the fallback of every leaflet; a clinic's own fonts come first
    # but can only add letters, so the styles' fonts decide what can be printed.
    base = FontSet()
    problems: list[Problem] = []
    if base.missing:
        problems.append(
            Problem(
                Path("templates/styles/standard.css"),
                None,
                "",
                f"the fonts {', '.join(base.missing)} are not installed, so letters would "
                f"print in another font or as empty boxes. {INSTALL_HINT}",
            )
        )
    seen: set[tuple[Path, str]] = set()

    def look(path: Path, tree: Any, place: tuple, text: str) -> None:
        for ch in base.lacks(text):
            if (path, ch) in seen:
                continue
            seen.add((path, ch))
            problems.append(
                Problem(
                    path,
                    line_of(tree, place),
                    field_name(place),
                    f"no font the leaflets print with has the character {character_name(ch)}: "
                    f"it would print as an empty box. Fonts: {base.describe()}. Replace the "
                    f"character, or install a font that has it. {INSTALL_HINT}",
                )
            )

    for treatment in library.treatments():
        for lang in library.languages_of(treatment):
            path = library.handout_path(treatment, lang)
            try:
                tree = library.tree(path)
            except ContentError:
                continue
            for place, text in strings(tree):
                look(path, tree, translation_key(place), text)
    for lang in library.ui_languages():
        path = library.root / "ui" / f"{lang}.yaml"
        try:
            tree = library.tree(path)
        except ContentError:
            continue
        for place, value in leaves(tree):
            if isinstance(value, str):
                look(path, tree, place, value)
    for clinic in clinics:
        path = clinic.folder / "clinic.yaml"
        try:
            tree = load_yaml(path)
        except ContentError:
            continue
        texts = [("meta", "name"), ("meta", "department"), ("disclaimer",)]
        texts += [
            ("translations", lang, name)
            for lang in clinic.brand.translations
            for name in CLINIC_TEXTS
        ]
        for place in texts:
            text = node_at(tree, place)
            if isinstance(text, str):
                look(path, tree, place, text)
    return problems
