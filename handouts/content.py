"""Find, load and validate the leaflet content.

A content folder looks like this::

    content/
      references.yaml                    every source a leaflet may cite
      ui/<lang>.yaml                     headings and labels for one language
      locales/<lang>-<COUNTRY>.yaml      what differs in one variety (en-GB, en-US)
      treatments/<treatment>/<lang>.yaml one leaflet in one language

Problems are collected across files and reported together as `file:line: field: message`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import ContentError, NotFoundError, Problem, UserError
from .locales import Locale
from .models import (
    HANDOUT_KINDS,
    LANG_TAG,
    LOCALE_TAG,
    TREATMENT_ID,
    Bibliography,
    HandoutBase,
    Labels,
    LocaleFile,
)
from .translations import SOURCE_LANG, merge
from .yamlfile import (
    field_name,
    friendly_message,
    line_of,
    load_model,
    load_yaml,
    problems_from,
    validate_tree,
)


def not_found(what: str, name: str, choices: Iterable[str], hint: str = "") -> NotFoundError:
    """A one-line message naming what exists, with the nearest match first."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    msg = f"There is no {what} called '{name}'."
    if close:
        msg += f" Did you mean '{close[0]}'?"
    msg += f" Available: {', '.join(choices)}." if choices else f" None are available{hint}."
    return NotFoundError(msg)


def canonical_tag(tag: str) -> str:
    """A language tag written the standard way: es, en-US, zh-Hans (any case accepted)."""
    parts = tag.strip().split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper() if len(part) == 2 else part)
    return "-".join(out)


def _shown(path: Path, most: int = 200) -> str:
    """A path as printed in a message: a very long one is cut short."""
    text = str(path)
    return text if len(text) <= most else f"{text[: most - 1]}…"


class Library:
    """One content folder. Files are read only when needed, and each only once."""

    def __init__(self, root: Path):
        try:
            self.root = root.resolve()
            is_content = (self.root / "treatments").is_dir()
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a link loop
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UserError(
                f"{_shown(root)} cannot be used as a content folder ({reason}). Point "
                "--content at a folder laid out like the bundled 'content' folder."
            ) from None
        if not is_content:
            raise UserError(
                f"{_shown(root)} is not a content folder: it has no 'treatments' folder "
                "inside. Point --content at a folder laid out like the bundled 'content' "
                "folder."
            )
        self._handouts: dict[tuple[str, str], HandoutBase] = {}
        self._labels: dict[str, Labels] = {}
        self._trees: dict[Path, Any] = {}
        self._locales: dict[str, Locale] = {}
        self._localised: dict[tuple[str, str], HandoutBase] = {}

    def _own(self, path: Path) -> Path:
        """`path`, once sure that it is inside the content folder with links followed: a
        link to a file elsewhere is refused, so a content folder cannot make handouts read
        (and print) a file outside it."""
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            return path  # reading it says what is wrong
        if not real.is_relative_to(self.root):
            raise ContentError(
                [
                    Problem(
                        path,
                        None,
                        "",
                        f"is a link to {real}, outside the content folder {self.root}; copy "
                        "the file into the content folder instead",
                    )
                ]
            )
        return path

    # ---------------------------------------------------------------- what exists

    def treatments(self) -> list[str]:
        folder = self.root / "treatments"
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and TREATMENT_ID.match(p.name))

    def languages_of(self, treatment: str) -> list[str]:
        folder = self.root / "treatments" / treatment
        return sorted(p.stem for p in folder.glob("*.yaml") if LANG_TAG.match(p.stem))

    def languages(self) -> list[str]:
        """Languages that have labels and at least one leaflet."""
        with_text = {lang for t in self.treatments() for lang in self.languages_of(t)}
        return sorted(with_text & set(self.ui_languages()))

    def ui_languages(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "ui").glob("*.yaml") if LANG_TAG.match(p.stem))

    def locale_tags(self) -> list[str]:
        """The varieties that have a file in locales/ (en-GB, en-US, ...)."""
        folder = self.root / "locales"
        return sorted(p.stem for p in folder.glob("*.yaml") if LOCALE_TAG.match(p.stem))

    def locale(self, tag: str, variety: str | None = None) -> Locale:
        """A variety (en-US) or a language that has none (fr); raises if neither exists.
        `variety`: for a translation, the clinic's variety of English (en-US), whose
        regional points and temperature scale it prints."""
        if variety and not LOCALE_TAG.match(tag):
            key = f"{tag}@{variety}"
            if key not in self._locales:
                english = self.locale(variety)
                self._locales[key] = Locale(
                    tag,
                    tag,
                    variety=variety,
                    temperature=english.temperature,
                    direction=self._direction(tag),
                )
            return self._locales[key]
        if tag not in self._locales:
            language = tag.split("-")[0]
            if LOCALE_TAG.match(tag):
                if tag not in self.locale_tags():
                    known = [t for t in self.locale_tags() if t.startswith(language + "-")]
                    raise not_found(
                        f"variety of {language} (content/locales)", tag, known or self.locale_tags()
                    )
                path = self.root / "locales" / f"{tag}.yaml"
                spec = load_model(self._own(path), LocaleFile)
                if spec.language != language:
                    raise ContentError(
                        [Problem(path, None, "language", f"should be '{language}', as in the name")]
                    )
                self._locales[tag] = Locale(tag, language, spec, temperature=spec.temperature)
            else:
                self._locales[tag] = Locale(tag, tag, direction=self._direction(tag))
        return self._locales[tag]

    def _direction(self, language: str) -> str:
        """The writing direction its labels give a language (ltr when it has none yet)."""
        return self.labels(language).direction if language in self.ui_languages() else "ltr"

    def varieties_of(self, language: str) -> list[str]:
        return [t for t in self.locale_tags() if t.split("-")[0] == language]

    def resolve_locale(self, requested: str | None, clinic_language: str) -> Locale:
        """What `--lang` means for a clinic.

        - nothing: the clinic's own language and variety (its `defaults.language`);
        - a variety such as en-US: exactly that;
        - a language such as en: the clinic's variety of it (a US clinic's English is
          en-US), else the language's default variety (en-GB), else the plain language.
        A content folder with no varieties of the language prints it as written.
        """
        wanted = canonical_tag(requested or clinic_language)
        if not LANG_TAG.match(wanted):
            raise UserError(f"'{wanted}' is not a language tag like en, en-GB, es or zh-Hans.")
        if wanted.split("-")[0] != SOURCE_LANG:
            # A translation (es, zh-Hans; zh alone when there is one Chinese), printed with
            # the regional points of the clinic's English.
            scripts = [t for t in self.ui_languages() if t.split("-")[0] == wanted]
            if wanted not in self.ui_languages() and len(scripts) == 1:
                wanted = scripts[0]
            if wanted in self.ui_languages():
                return self.locale(wanted, self.english_variety(clinic_language))
            language = wanted.split("-")[0]
            if language in self.ui_languages():
                name = self.labels(language).language_name
                raise UserError(
                    f"There is no '{wanted}': use --lang {language}. Leaflets in {name} "
                    "follow the clinic's country (defaults.language in its clinic.yaml) for "
                    "emergency numbers and regional advice."
                )
        language, _, region = wanted.partition("-")
        varieties = self.varieties_of(language)
        if region and (requested or varieties):
            return self.locale(f"{language}-{region.upper()}")
        clinic_base, _, clinic_region = clinic_language.partition("-")
        if clinic_base == language and clinic_language in varieties:
            return self.locale(clinic_language)
        own = f"{language}-{clinic_region}" if clinic_region else None
        if own in varieties:
            return self.locale(own)
        default = self._default_variety(language)
        if default:
            return self.locale(default)
        return self.locale(language, self.english_variety(clinic_language))

    def english_variety(self, clinic_language: str) -> str | None:
        """The variety of English whose regional points a translation prints for a clinic:
        the clinic's own (a US clinic's Spanish leaflet names the American tape), else the
        default one."""
        varieties = self.varieties_of(SOURCE_LANG)
        region = clinic_language.partition("-")[2]
        if region and f"{SOURCE_LANG}-{region.upper()}" in varieties:
            return f"{SOURCE_LANG}-{region.upper()}"
        return self._default_variety(SOURCE_LANG)

    def _default_variety(self, language: str) -> str | None:
        """The variety used when only the language is named (en-GB for en), if any."""
        return next((t for t in self.varieties_of(language) if self.locale(t).spec.default), None)

    def localised(self, treatment: str, locale: Locale) -> HandoutBase:
        """A leaflet as printed in one variety (British or American English)."""
        key = (treatment, locale.tag)
        if key not in self._localised:
            handout = self.handout(treatment, locale.language)
            try:
                self._localised[key] = locale.handout(handout)
            except ValidationError as exc:
                path = self.handout_path(treatment, locale.language)
                raise ContentError(
                    [
                        Problem(
                            path,
                            self.line(treatment, locale.language, tuple(e["loc"])),
                            field_name(e["loc"]),
                            f"in {locale.tag}: "
                            + friendly_message(e, type(handout), tuple(e["loc"])),
                        )
                        for e in exc.errors(include_url=False)
                    ]
                ) from None
        return self._localised[key]

    def localised_labels(self, locale: Locale) -> Labels:
        return locale.labels(self.labels(locale.language))

    def handout_path(self, treatment: str, lang: str) -> Path:
        return self.root / "treatments" / treatment / f"{lang}.yaml"

    def require(self, treatment: str, lang: str) -> None:
        """Raise a NotFoundError unless this leaflet exists in this language."""
        if treatment not in self.treatments():
            raise not_found("treatment", treatment, self.treatments())
        if lang not in self.languages_of(treatment):
            raise not_found(
                f"'{lang}' version of {treatment}; no language", lang, self.languages_of(treatment)
            )
        if lang not in self.ui_languages():
            raise not_found("set of labels (content/ui) for language", lang, self.ui_languages())

    # ---------------------------------------------------------------- loading

    @cached_property
    def bibliography(self) -> Bibliography:
        return load_model(self._own(self.root / "references.yaml"), Bibliography)

    @cached_property
    def reference_keys(self) -> frozenset[str] | None:
        """The keys in references.yaml, even when an entry in it is wrong (None if unreadable).

        A mistake in references.yaml is reported once, for that file; the leaflets are still
        checked against the keys it has.
        """
        try:
            return frozenset(self.bibliography.references)
        except ContentError:
            pass
        try:
            tree = load_yaml(self._own(self.root / "references.yaml"))
        except ContentError:
            return None
        refs = tree.get("references") if isinstance(tree, dict) else None
        return frozenset(str(key) for key in refs) if isinstance(refs, dict) else None

    def labels(self, lang: str) -> Labels:
        if lang not in self._labels:
            if lang not in self.ui_languages():
                raise not_found(
                    "set of labels (content/ui) for language", lang, self.ui_languages()
                )
            self._labels[lang] = load_model(self._own(self.root / "ui" / f"{lang}.yaml"), Labels)
        return self._labels[lang]

    def handout(self, treatment: str, lang: str) -> HandoutBase:
        """Load and fully check one leaflet, or raise ContentError with every problem."""
        key = (treatment, lang)
        if key not in self._handouts:
            self.require(treatment, lang)
            self._handouts[key] = self._load_handout(self.handout_path(treatment, lang), lang)
        return self._handouts[key]

    def tree(self, path: Path) -> Any:
        """A file of the content folder as read (with its line numbers), read once."""
        if path not in self._trees:
            self._trees[path] = load_yaml(self._own(path))
        return self._trees[path]

    def line(self, treatment: str, lang: str, loc: tuple) -> int | None:
        """The line of a field in a leaflet that has been loaded."""
        return line_of(self._trees.get(self.handout_path(treatment, lang)), loc)

    def _load_handout(self, path: Path, lang: str) -> HandoutBase:
        tree = self._trees[path] = load_yaml(self._own(path))  # read again: it may have changed
        if lang != SOURCE_LANG:
            return self.load_translation(path, tree)
        kind = tree.get("kind", "treatment") if isinstance(tree, dict) else "treatment"
        model = HANDOUT_KINDS.get(kind)
        if model is None:
            line = line_of(tree, ("kind",))
            raise ContentError(
                [Problem(path, line, "kind", f"should be one of: {', '.join(HANDOUT_KINDS)}")]
            )
        problems: list[Problem] = []
        try:
            handout = validate_tree(tree, path, model)
        except ContentError as exc:
            problems.extend(exc.problems)
            handout = None
        problems.extend(self._cross_file_problems(tree, path, lang))
        if problems:
            raise ContentError(problems)
        return handout

    def load_translation(self, path: Path, tree: Any) -> HandoutBase:
        """A translation (`tree`, read from `path`) as its words on the English leaflet
        (handouts/translations.py): the English must load first, and a word out of place is
        an error in this file. Also used on a translation about to be written (handouts/po.py)."""
        english_path = path.with_name(f"{SOURCE_LANG}.yaml")
        if not english_path.is_file():
            raise ContentError(
                [Problem(path, 1, "", f"is a translation of {english_path.name}, which is missing")]
            )
        english = self.handout(path.parent.name, SOURCE_LANG)
        data, problems = merge(self._trees[english_path], tree, path)
        if isinstance(tree, dict) and not tree.get("translation"):
            problems.append(
                Problem(
                    path,
                    1,
                    "translation",
                    "a translated leaflet must say where it came from (source_lang, "
                    "source_version, source_hash, method, translator, clinically_reviewed)",
                )
            )
        if problems:
            raise ContentError(problems)
        model = type(english)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ContentError(problems_from(exc, tree, path, model)) from None

    def _cross_file_problems(self, tree: Any, path: Path, lang: str) -> list[Problem]:
        """Reference keys and related leaflets that point at nothing; translation records."""
        problems = []
        known_refs = self.reference_keys
        treatments = set(self.treatments())
        for line, field, key in _walk_refs(tree) if known_refs is not None else ():
            if key not in known_refs:
                close = difflib.get_close_matches(key, sorted(known_refs), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(
                    Problem(path, line, field, f"'{key}' is not in references.yaml{hint}")
                )
        if isinstance(tree, CommentedMap) and isinstance(tree.get("related"), CommentedSeq):
            for i, other in enumerate(tree["related"]):
                if isinstance(other, str) and other not in treatments:
                    problems.append(
                        Problem(
                            path,
                            tree["related"].lc.item(i)[0] + 1,
                            field_name(("related", i)),
                            f"there is no leaflet called '{other}'",
                        )
                    )
        return problems

    def all_problems(self) -> list[Problem]:
        """Load every file in the folder and return every problem found."""
        problems: list[Problem] = []
        try:
            self.bibliography  # noqa: B018 - loading it is the check
        except ContentError as exc:
            problems.extend(exc.problems)
        for lang in self.ui_languages():
            try:
                self.labels(lang)
            except ContentError as exc:
                problems.extend(exc.problems)
        for tag in self.locale_tags():
            try:
                self.locale(tag)
            except ContentError as exc:
                problems.extend(exc.problems)
        folder = self.root / "treatments"
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and not TREATMENT_ID.match(entry.name):
                problems.append(
                    Problem(
                        entry,
                        None,
                        "",
                        "folder name should use lowercase letters, digits "
                        "and hyphens, like 'steroid-injections'",
                    )
                )
        for treatment in self.treatments():
            for file in sorted((folder / treatment).iterdir()):
                if file.suffix != ".yaml" or not LANG_TAG.match(file.stem):
                    problems.append(
                        Problem(file, None, "", "should be named <language>.yaml, like en.yaml")
                    )
            for lang in self.languages_of(treatment):
                try:
                    self.handout(treatment, lang)
                except ContentError as exc:
                    problems.extend(exc.problems)
                except UserError as exc:
                    problems.append(Problem(self.handout_path(treatment, lang), None, "", str(exc)))
        return list(dict.fromkeys(problems))  # each problem once


def _walk_refs(node: Any, path: tuple = ()) -> Iterable[tuple[int, str, str]]:
    """Yield (line, field, key) for every reference key in a leaflet's YAML tree."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if key in ("refs", "references") and isinstance(value, CommentedSeq):
                for i, item in enumerate(value):
                    if isinstance(item, str):
                        yield value.lc.item(i)[0] + 1, field_name((*path, key, i)), item
            else:
                yield from _walk_refs(value, (*path, key))
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            yield from _walk_refs(item, (*path, i))
