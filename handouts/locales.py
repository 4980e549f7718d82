"""Regional varieties of a language: British and American English.

A leaflet is written once per language (`treatments/<id>/en.yaml`, in British English).
A variety (`locales/en-US.yaml`) records only what differs, and `localise()` turns the
written leaflet into the one a clinic prints:

- points marked `only: [en-GB]` are left out of other varieties;
- a point's own wording for the variety (`en-US:`) replaces its text (and its sources);
- spellings are changed word by word, keeping capitals ("Colour" -> "Color");
- a temperature in Celsius gets its Fahrenheit value: "38 °C" -> "38 °C (100.4 °F)";
- labels take the variety's wording, and dates are written its way (Babel).

Every variant records a fingerprint of the British text it was written from, so that
`handouts check` can tell when the British text has changed under it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from .models import HandoutBase, Labels, LocaleFile, Point

CELSIUS = re.compile(r"(?<![\d.,])(-?\d+(?:[.,]\d+)?)\s?°C(?!\s*\(\s*-?\d)")  # 37.5 or 37,5


# A run of left-to-right text inside right-to-left text: Latin words, numbers and units
# ("5-FU", "SPF 30", "38 °C", "Haelan tape"), without the punctuation around it.
_LTR_CHAR = r"A-Za-z0-9\u00C0-\u024F\u1E00-\u1EFF°%"
_LTR_TOKEN = rf"[{_LTR_CHAR}](?:[{_LTR_CHAR}]|[.,:/+\-\u2013&'](?=[{_LTR_CHAR}]))*"
_LTR_RUN = re.compile(rf"{_LTR_TOKEN}(?:[ \u00A0]+{_LTR_TOKEN})*")
_RTL_CHAR = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")
LRI, PDI, NBSP = "\u2066", "\u2069", "\u00a0"
# "38 °C" is not split over two lines: in right-to-left text "°C" would start the next line.
_UNIT_SPACE = re.compile(r"(?<=\d) (?=°)")


def isolate_ltr(text: str) -> str:
    """Right-to-left text with each Latin run set apart (Unicode isolates), so that "5-FU"
    or "(206) 555-0142" keeps its order in an Arabic line instead of printing as "FU-5".
    Text with no right-to-left letters is returned as it is."""
    if not _RTL_CHAR.search(text):
        return text
    return _LTR_RUN.sub(lambda m: f"{LRI}{_UNIT_SPACE.sub(NBSP, m.group(0))}{PDI}", text)


def fingerprint(text: str) -> str:
    """A short fingerprint of a point's source text (white space does not count)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:8]


def fahrenheit(celsius: str) -> str:
    value = round(float(celsius.replace(",", ".")) * 9 / 5 + 32, 1)
    return f"{value:.1f}".removesuffix(".0")


def _respell(match: re.Match[str], table: dict[str, tuple[str, str]]) -> str:
    """The replacement for one found word, in the found word's case.

    A word the table writes in capitals (an abbreviation such as GP) is replaced as the
    table writes its replacement, capitalised only at the start of a sentence.
    """
    found = match.group(0)
    key, replacement = table[found.lower()]
    before = match.string[: match.start()].rstrip()
    starts_sentence = not before or before[-1] in ".!?:"
    if key[:1].isupper():
        capital = starts_sentence
    elif found.isupper() and len(found) > 1:
        return replacement.upper()
    else:
        capital = found[:1].isupper()
    return replacement[:1].upper() + replacement[1:] if capital else replacement


def word_pattern(words: list[str]) -> re.Pattern[str] | None:
    """One pattern that finds any of `words` as whole words, longest first, any case."""
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w&-])(?:{alternatives})(?![\w&-])", re.IGNORECASE)


@dataclass(frozen=True)
class Locale:
    """A language, or a regional variety of one (en-GB, en-US), ready to apply."""

    tag: str  # "en-GB", or a bare language such as "en" where no varieties exist
    language: str
    spec: LocaleFile | None = None
    # For a translation: the clinic's variety of English, whose regional points it prints
    # (`only: [en-US]`, a point's `en-US:` wording).
    variety: str | None = None
    # fahrenheit: Fahrenheit is added after Celsius (the variety's, or a translation's
    # clinic's variety's, `temperature`).
    temperature: str = "celsius"
    direction: str = "ltr"  # rtl: Latin runs in the text are set apart (isolate_ltr)

    @property
    def name(self) -> str:
        return self.spec.name if self.spec else self.tag

    @property
    def babel(self) -> str:
        return self.tag.replace("-", "_")

    @cached_property
    def _spelling(self) -> tuple[re.Pattern[str] | None, dict[str, tuple[str, str]]]:
        table = dict(self.spec.spelling) if self.spec else {}
        lowered = {k.lower(): (k, v) for k, v in table.items()}
        return word_pattern(list(table)), lowered

    @cached_property
    def banned(self) -> re.Pattern[str] | None:
        """British words and spellings that must not be printed in this variety."""
        if not self.spec:
            return None
        return word_pattern([*self.spec.spelling, *self.spec.not_in_print])

    def text(self, value: str) -> str:
        """Respell one piece of text for this variety and add Fahrenheit where it wants it."""
        pattern, table = self._spelling
        if pattern is not None:
            value = pattern.sub(lambda m: _respell(m, table), value)
        if self.temperature == "fahrenheit":
            value = CELSIUS.sub(
                lambda m: f"{m.group(1)} °C ({self.decimal(fahrenheit(m.group(1)))} °F)",
                value,
            )
        return value

    def decimal(self, number: str) -> str:
        """A number written this language's way (100.4 in English, 100,4 in Spanish)."""
        from babel.numbers import format_decimal

        return format_decimal(float(number), locale=self.babel)

    def banned_words(self, value: str) -> list[str]:
        return [m.group(0) for m in self.banned.finditer(value)] if self.banned else []

    def format_date(self, day: date) -> str:
        from babel.dates import format_date

        return format_date(day, format="long", locale=self.babel)

    # ------------------------------------------------------------------ leaflets

    def keeps(self, point: Point) -> bool:
        return not point.only or self.tag in point.only or self.variety in point.only

    def point(self, point: Point) -> Point:
        variant = point.variant(self.variety or self.tag)
        text = variant.text if variant else point.text
        refs = variant.refs if variant and variant.refs is not None else point.refs
        return Point(text=self.text(text), refs=refs)

    def handout(self, handout: HandoutBase) -> HandoutBase:
        """The leaflet as printed in this variety (a new, validated leaflet)."""
        data = _localise_tree(handout, self)
        return type(handout).model_validate(data)

    def labels(self, labels: Labels) -> Labels:
        overrides = self.spec.labels if self.spec else {}
        data = labels.model_dump()
        data.update(overrides)
        return Labels.model_validate(_map_strings(data, self.text, skip=("direction",)))


def _localise_tree(handout: HandoutBase, locale: Locale) -> dict[str, Any]:
    """The leaflet as plain data with every point and every sentence localised."""

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, Point):
            return locale.point(value).model_dump(by_alias=True)
        if isinstance(value, list) and value and isinstance(value[0], Point):
            return [walk(p) for p in value if locale.keeps(p)]
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, BaseModel):
            return {
                name: walk(getattr(value, name), name)
                for name in type(value).model_fields
                if name not in ("review", "translation")
            } | {
                name: getattr(value, name).model_dump(by_alias=True)
                for name in ("review", "translation")
                if name in type(value).model_fields and getattr(value, name) is not None
            }
        if isinstance(value, str) and key in PROSE_FIELDS:
            return locale.text(value)
        return value

    return walk(handout)


# The fields of a leaflet that hold sentences (points are handled as points).
PROSE_FIELDS = {"title", "subtitle", "purpose", "heading", "intro"}


def _map_strings(value: Any, fn: Callable[[str], str], skip: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {k: v if k in skip else _map_strings(v, fn, skip) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn, skip) for v in value]
    return fn(value) if isinstance(value, str) else value
