"""Translations as gettext PO files, for professional translators and their tools.

`handouts translate export LANG` writes every English string of the leaflets (and the
labels) with its current translation. Each entry's context says where it lives
(`laser:what_happens.3`, `ui:headings.key_points`); a translation made from English that
has changed since is marked fuzzy. `handouts translate import FILE.po` writes the
translations back into the YAML files, keeping their comments; a file whose strings did not
change is not touched, so exporting and importing again changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from . import __version__
from .content import Library, not_found
from .errors import ContentError, Problem, UserError
from .models import LANG_TAG, Labels
from .output import update_file
from .translations import (
    SOURCE_LANG,
    label_strings,
    set_string,
    skeleton,
    source_hash,
    strings,
    translation_key,
)
from .yamlfile import field_name, node_at, to_plain, validate_tree

UI = "ui"
# For a translation the PO file creates: where it came from, until someone says otherwise.
NEW_RECORD = {
    "method": "professional",
    "translator": "from a PO file",
    "clinically_reviewed": False,
}


def _dotted(path: tuple) -> str:
    return ".".join(str(step) for step in translation_key(path))


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _check_lang(library: Library, lang: str) -> None:
    if lang == SOURCE_LANG or not LANG_TAG.match(lang):
        raise UserError(
            f"'{lang}' is not a language to translate into: give a language tag such as es, "
            "fr or zh-Hans (English is the language translations are made from)."
        )


def export_po(library: Library, lang: str, treatments: Sequence[str] = ()) -> bytes:
    """A PO file of the English strings with their `lang` translations."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    _check_lang(library, lang)
    for treatment in treatments:
        if treatment not in library.treatments():
            raise not_found("treatment", treatment, library.treatments())
    catalog = Catalog(
        locale=None,
        header_comment=(
            f"# Leaflet text of handouts, for translation from English into {lang}.\n"
            "# Each entry's context is the leaflet and field (or ui: for a label). Keep every\n"
            "# number as it is in the English, and every {name} in a label."
        ),
        project="handouts",
        version=__version__,
        creation_date=datetime(2000, 1, 1, tzinfo=UTC),
        revision_date=datetime(2000, 1, 1, tzinfo=UTC),
        fuzzy=False,
    )
    catalog.language_team = lang
    catalog.mime_headers  # noqa: B018 - builds the headers
    for treatment in treatments or library.treatments():
        english = library.tree(library.handout_path(treatment, SOURCE_LANG))
        path = library.handout_path(treatment, lang)
        translated = library.tree(path) if path.is_file() else None
        given = {_dotted(p): t for p, t in strings(translated)} if translated else {}
        record = translated.get("translation") if isinstance(translated, dict) else None
        stale = isinstance(record, dict) and record.get("source_hash") != source_hash(english)
        for place, text in strings(english):
            where = _dotted(place)
            found = given.get(where, "")
            catalog.add(
                text,
                found,
                context=f"{treatment}:{where}",
                auto_comments=[f"{treatment}: {field_name(place)}"],
                flags=("fuzzy",) if stale and found else (),
            )
    if not treatments:
        english_labels = library.tree(library.root / UI / f"{SOURCE_LANG}.yaml")
        ui_path = library.root / UI / f"{lang}.yaml"
        labels = library.tree(ui_path) if ui_path.is_file() else {}
        for key, text in label_strings(english_labels):
            found = node_at(labels, key)
            catalog.add(
                text,
                found if isinstance(found, str) else "",
                context=f"{UI}:{'.'.join(key)}",
                auto_comments=["a label; keep every {name} as it is"],
            )
    out = io.BytesIO()
    write_po(out, catalog, width=0, omit_header=False, sort_output=False)
    body = out.getvalue().replace(
        b'"Language-Team: ', f'"Language: {lang}\\n"\n"Language-Team: '.encode(), 1
    )
    return body


def import_po(library: Library, po_file: Path) -> list[tuple[Path, bool]]:
    """Write a PO file's translations into the YAML files; return the files changed, each
    with whether it is new. Nothing is written if any entry is wrong."""
    from babel.messages.pofile import PoFileError, read_po

    try:
        data = po_file.read_bytes()
    except OSError as exc:
        raise UserError(f"{po_file} cannot be read ({exc.strerror}).") from None
    try:
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{po_file} is not a PO file handouts can read: {exc}") from None
    lang = _language_of(data, po_file)
    _check_lang(library, lang)
    problems: list[Problem] = []
    trees: dict[Path, Any] = {}
    originals: dict[Path, str] = {}
    english_trees: dict[str, Any] = {}
    all_current: dict[str, bool] = {}

    def problem(message, text: str) -> None:
        line = message.lineno if message.lineno else None
        problems.append(Problem(po_file, line, message.context or "", text))

    for message in catalog:
        if not message.id or not message.context:
            continue
        where, _, place = message.context.partition(":")
        translation = message.string if isinstance(message.string, str) else ""
        if where == UI:
            path = library.root / UI / f"{lang}.yaml"
            if path not in trees:
                trees[path], originals[path] = _open(path, _new_labels(library, lang))
            key = tuple(place.split("."))
            english = node_at(library.tree(library.root / UI / f"{SOURCE_LANG}.yaml"), key)
            if not isinstance(english, str):
                problem(message, f"there is no label '{place}' in the English labels")
                continue
            if translation and node_at(trees[path], key) != translation:
                _put_label(trees[path], key, translation)
            continue
        if where not in library.treatments():
            problem(message, f"there is no leaflet called '{where}'")
            continue
        if where not in english_trees:
            english_trees[where] = library.tree(library.handout_path(where, SOURCE_LANG))
            all_current[where] = True
        english = english_trees[where]
        paths = {_dotted(p): p for p, _ in strings(english)}
        english_path = paths.get(place)
        if english_path is None:
            problem(message, f"the English {where} leaflet has no text at '{place}'")
            continue
        current = dict(strings(english))[english_path]
        if message.id != current or message.fuzzy or not translation:
            all_current[where] = False
        if not translation:
            continue
        path = library.handout_path(where, lang)
        if path not in trees:
            trees[path], originals[path] = _open(path, _new_translation(english))
        set_string(trees[path], english, english_path, translation)
    # A leaflet whose every string was translated from today's English is up to date.
    for treatment, current in all_current.items():
        path = library.handout_path(treatment, lang)
        if current and path in trees:
            english = english_trees[treatment]
            record = trees[path].setdefault("translation", CommentedMap(_new_record(english)))
            record["source_hash"] = source_hash(english)
            record["source_version"] = str(to_plain(english)["review"]["version"])
    for path, tree in trees.items():
        problems.extend(_validate(library, path, tree))
    if problems:
        raise ContentError(problems)
    changed = []
    for path, tree in trees.items():
        text = _dump(tree)
        if text != originals[path]:
            new = not path.exists()
            update_file(path, text.encode("utf-8"))
            changed.append((path, new))
    return changed


def _language_of(data: bytes, po_file: Path) -> str:
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip().strip('"')
        if line.startswith("Language:"):
            value = line.split(":", 1)[1].replace("\\n", "").strip()
            if value:
                return value.replace("_", "-")
    raise UserError(
        f"{po_file} does not say which language it is in: add a 'Language: es' line to its "
        "header (translation tools do this), or export it again with handouts translate export."
    )


def _open(path: Path, new: CommentedMap) -> tuple[Any, str]:
    if path.is_file():
        original = path.read_text(encoding="utf-8")
        return _yaml().load(original), original
    return new, ""


def _new_record(english: Any) -> dict:
    return {
        "source_lang": SOURCE_LANG,
        "source_version": str(to_plain(english)["review"]["version"]),
        "source_hash": source_hash(english),
        **NEW_RECORD,
    }


def _new_translation(english: Any) -> CommentedMap:
    """A translation with no words yet: each string is filled in from the PO file."""
    tree = skeleton(english, _new_record(english))
    tree["translation"]["source_hash"] = "00000000"  # set once every string is translated
    return tree


def _new_labels(library: Library, lang: str) -> CommentedMap:
    english = (library.root / UI / f"{SOURCE_LANG}.yaml").read_text(encoding="utf-8")
    body = "\n".join(line for line in english.splitlines() if not line.startswith("#"))
    tree = _yaml().load(f"# Labels in {lang}, imported from a PO file.\n{body}\n")
    tree.insert(
        0,
        "translation",
        CommentedMap({"source_lang": SOURCE_LANG, "source_version": "1", **NEW_RECORD}),
    )
    return tree


def _put_label(tree: Any, key: tuple, text: str) -> None:
    node = tree
    for step in key[:-1]:
        node = node.setdefault(step, CommentedMap())
    node[key[-1]] = text


def _dump(tree: Any) -> str:
    out = io.StringIO()
    _yaml().dump(tree, out)
    return out.getvalue()


def _validate(library: Library, path: Path, tree: Any) -> list[Problem]:
    """The file as it would be written must load as handouts loads it: every string
    translated, every text valid (its lines are those of the file to be written)."""
    reloaded = _yaml().load(_dump(tree))
    try:
        if path.parent.name == UI:
            validate_tree(reloaded, path, Labels)
        else:
            library.load_translation(path, reloaded)
    except ContentError as exc:
        return [
            Problem(p.path, p.line, p.field, f"{p.message} (no translation for it in the PO file)")
            if "is missing" in p.message
            else p
            for p in exc.problems
        ]
    return []
