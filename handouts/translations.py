"""Translated leaflets: what a translation holds, and how it meets its English leaflet.

A leaflet is written in English (`treatments/<id>/en.yaml`). A translation
(`treatments/<id>/es.yaml`) holds only the words: the title, subtitle and purpose, and every
point, in the same lists and the same order as the English. Everything else (sources,
`only:`, related leaflets, the clinical review) is taken from the English file, so a
translation can never cite other sources or drift from the reviewed leaflet.

A point in a translation is its text, or `text:` with the translated American wording
under `en-US:` where the English point has one (printed for clinics in the United States).

Its `translation:` record says where it came from, including `source_hash`: a fingerprint of
the English words it was translated from. When the English words change, `handouts check`
reports the translation as out of date and prints the fingerprint to set once updated.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import Problem
from .locales import fingerprint
from .yamlfile import field_name, leaves, line_of, node_at, to_plain

SOURCE_LANG = "en"
# The fields whose lists hold points, in the order a leaflet prints them.
POINT_LISTS = (
    "key_points",
    "helps",
    "not_for",
    "tell_doctor",
    "what_happens",
    "sessions",
    "recovery",
    "aftercare",
    "call_clinic",
    "urgent",
    "emergency",
    "when_you_call",
    "questions",
)
PROSE = ("title", "subtitle", "purpose")
VARIANTS = ("en-US",)
# What a translation may hold besides the words.
RECORD = "translation"


def _point_strings(point: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(point, str):
        yield path, point
    elif isinstance(point, dict):
        if isinstance(point.get("text"), str):
            yield (*path, "text"), point["text"]
        for variant in VARIANTS:
            value = point.get(variant)
            if isinstance(value, dict):  # English: its own text and sources
                value = value.get("text")
            if isinstance(value, str):  # a translation: the text only
                yield (*path, variant), value


def strings(tree: Any) -> Iterator[tuple[tuple, str]]:
    """Every translatable string of an English leaflet: (path, text), in printed order.

    A point's path ends at the point ((`key_points`, 0)) when it is plain text and at
    `text` otherwise; an American wording's at `en-US`, as a translation writes them."""
    if not isinstance(tree, dict):
        return
    for key in PROSE:
        if isinstance(tree.get(key), str):
            yield (key,), tree[key]
    for key in POINT_LISTS:
        yield from _list_strings(tree.get(key), (key,))
    effects = tree.get("side_effects")
    if isinstance(effects, dict):
        for key in ("common", "rare_serious"):
            yield from _list_strings(effects.get(key), ("side_effects", key))
    sections = tree.get("sections")
    if isinstance(sections, list):
        for i, section in enumerate(sections):
            if not isinstance(section, dict):
                continue
            for key in ("heading", "intro"):
                if isinstance(section.get(key), str):
                    yield ("sections", i, key), section[key]
            yield from _list_strings(section.get("points"), ("sections", i, "points"))


def _list_strings(points: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(points, list):
        for i, point in enumerate(points):
            yield from _point_strings(point, (*path, i))


def source_hash(english: Any) -> str:
    """The fingerprint of an English leaflet's words (not its sources or review dates)."""
    return fingerprint("\n".join(f"{field_name(p)}={t}" for p, t in strings(english)))


# The fields of a labels file that are not words to translate.
NOT_WORDS = ("translation", "direction")


def label_strings(labels: Any) -> Iterator[tuple[tuple, str]]:
    """Every label of a labels file (or its data) to translate: (path, text)."""
    for path, value in leaves(labels):
        if path[0] not in NOT_WORDS and isinstance(value, str):
            yield path, value


def needs_review(*records: Any) -> bool:
    """Whether a leaflet printed from these translation records (the leaflet's and its
    labels'; None for English) must say that no fluent clinician has checked it."""
    return any(record is not None and not record.clinically_reviewed for record in records)


def translation_key(path: tuple) -> tuple:
    """A path as a translation writes it: a point with only text is the text itself."""
    return path[:-1] if path[-1] == "text" else path


def merge(english: Any, translated: Any, path: Path) -> tuple[dict, list[Problem]]:
    """The English leaflet with every string replaced by its translation, and what is wrong.

    Problems: a string the translation lacks, one it has that the English does not, a list
    of another length, or a field a translation may not hold."""
    problems: list[Problem] = []
    if not isinstance(translated, dict):
        return {}, [Problem(path, 1, "", "should be a translated leaflet (fields and their text)")]

    def problem(loc: tuple, message: str) -> None:
        line = line_of(translated, loc) or line_of(translated, loc[:-1]) or 1
        problems.append(Problem(path, line, field_name(loc), message))

    english_strings = dict(strings(english))
    given = {translation_key(p): t for p, t in strings(translated)}
    wanted = {translation_key(p): p for p in english_strings}
    data = copy.deepcopy(to_plain(english))
    for key, english_path in wanted.items():
        text = given.get(key)
        if text is None:
            problem(
                key,
                f"is missing: translate the English {_quote(english_strings[english_path])}",
            )
            continue
        _put(data, english_path, text)
    for key in given.keys() - wanted.keys():
        problem(key, "has no English text to translate (is it in the right place?)")
    allowed = {RECORD, *PROSE, *POINT_LISTS, "side_effects", "sections", "kind"}
    for key in translated:
        if key not in allowed:
            problem(
                (key,),
                "is taken from the English leaflet; a translation holds only the words. "
                "Remove this field",
            )
    _check_lengths(english, translated, problem)
    data[RECORD] = to_plain(translated.get(RECORD))
    return data, problems


def _check_lengths(english: Any, translated: Any, problem) -> None:
    def compare(e: Any, t: Any, loc: tuple) -> None:
        if isinstance(e, list) and isinstance(t, list) and len(e) != len(t):
            problem(
                loc,
                f"has {len(t)} points; the English has {len(e)}. Translate each English "
                "point in its own place, in the same order",
            )

    for key in POINT_LISTS:
        compare(english.get(key), translated.get(key), (key,))
    for key in ("common", "rare_serious"):
        e, t = english.get("side_effects") or {}, translated.get("side_effects") or {}
        if isinstance(e, dict) and isinstance(t, dict):
            compare(e.get(key), t.get(key), ("side_effects", key))
    e_sections, t_sections = english.get("sections"), translated.get("sections")
    if isinstance(e_sections, list) and isinstance(t_sections, list):
        compare(e_sections, t_sections, ("sections",))
        for i, (e, t) in enumerate(zip(e_sections, t_sections, strict=False)):
            if isinstance(e, dict) and isinstance(t, dict):
                compare(e.get("points"), t.get("points"), ("sections", i, "points"))


def _put(data: Any, path: tuple, text: str) -> None:
    node = data
    for step in path[:-1]:
        node = node[step]
    last = path[-1]
    if last in VARIANTS:
        node[last]["text"] = text
    else:
        node[last] = text


def _quote(text: str, most: int = 60) -> str:
    return f"'{text}'" if len(text) <= most else f"'{text[: most - 1]}…'"


# ------------------------------------------------------------------ writing translations


def skeleton(english: Any, record: dict[str, Any]) -> CommentedMap:
    """A translation with the English words in place, ready for a translator to replace."""
    out = CommentedMap()
    out[RECORD] = CommentedMap(record)
    for path, text in strings(english):
        set_string(out, english, path, text)
    return out


def _set(out: CommentedMap, key: tuple, text: str, english: Any) -> None:
    """Put `text` at `key` in a translation tree, making the lists and maps on the way in
    the English shape (a point with an American wording becomes `text:` + `en-US:`)."""
    node: Any = out
    source: Any = english
    for i, step in enumerate(key[:-1]):
        source = source[step]
        following = key[i + 1]
        if isinstance(node, list):
            while len(node) <= step:
                node.append(None)
            if node[step] is None:
                node[step] = CommentedSeq() if isinstance(source, list) else CommentedMap()
            node = node[step]
        else:
            if step not in node:
                node[step] = CommentedSeq() if isinstance(following, int) else CommentedMap()
            node = node[step]
    last = key[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(None)
        node[last] = text
    else:
        node[last] = text


def set_string(tree: CommentedMap, english: Any, english_path: tuple, text: str) -> None:
    """Write one translated string into a translation tree (keeping its comments)."""
    key = translation_key(english_path)
    if key[-1] in VARIANTS or english_path[-1] == "text":
        point_path = key[:-1] if key[-1] in VARIANTS else key
        node = node_at(tree, point_path)
        if not isinstance(node, dict):
            has_variant = any(v in node_at(english, point_path) for v in VARIANTS)
            if not has_variant:
                _set(tree, point_path, text, english)
                return
            _set(tree, point_path, CommentedMap({"text": node or ""}), english)
        node_at(tree, point_path)["text" if key[-1] not in VARIANTS else key[-1]] = text
        return
    _set(tree, key, text, english)


# ------------------------------------------------------------------ numbers

_DIGITS = str.maketrans(
    "".join(chr(c) for c in [*range(0x660, 0x66A), *range(0x6F0, 0x6FA)]), "0123456789" * 2
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def numbers(text: str) -> list[str]:
    """The numbers in a text, as a sorted list: 1,5 and 1.5 and Arabic-Indic 1.5 are the same; a
    thousands separator is not a decimal point when three digits follow it."""
    text = unicodedata.normalize("NFKC", text).translate(_DIGITS).replace("\u066b", ".")
    found = []
    for match in _NUMBER.finditer(text):
        value = match.group(0)
        if re.fullmatch(r"\d{1,3}[.,]\d{3}", value):
            value = value.replace(",", "").replace(".", "")
        found.append(value.replace(",", "."))
    return sorted(found, key=float)
