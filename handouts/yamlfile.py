"""Read YAML files with line numbers and validate them against a pydantic model.

Every problem found in a file is reported at once, each as `path:line: field: message`,
so that whoever edits the content can fix them all in one go.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import RoundTripScanner

from .errors import ContentError, Problem
from .models import LANG_TAG, LOCALE_TAG, TREATMENT_ID

M = TypeVar("M", bound=BaseModel)

# Plain-language wording for pydantic's error types, for the people who edit content.
FRIENDLY = {
    "missing": "this is required but missing",
    "string_type": "should be text",
    "list_type": "should be a list (one '- ' line per item)",
    "dict_type": "should be a group of 'name: value' lines",
    "model_type": "should be a group of 'name: value' lines",
    "model_attributes_type": "should be a group of 'name: value' lines",
    "date_type": "should be a date written as YYYY-MM-DD, for example 2026-11-01",
    "date_from_datetime_parsing": "should be a date written as YYYY-MM-DD, for example 2026-11-01",
    "date_parsing": "should be a date written as YYYY-MM-DD, for example 2026-11-01",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "too_short": "needs at least {min_length} item(s)",
    "string_too_short": "should not be empty",
    "string_too_long": "is too long (at most {max_length} characters)",
}


# Limits that keep a broken or hostile file from hanging handouts or eating the memory.
# The bundled files are far inside them: the largest (references.yaml) is 23 KB with
# about 800 values, nested 5 levels deep.
MAX_YAML_BYTES = 1_000_000
MAX_YAML_VALUES = 20_000
MAX_YAML_DEPTH = 40
MAX_DIGITS = 4_000  # Python refuses longer whole numbers (sys.get_int_max_str_digits)

MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


class _Refused(Exception):
    """A file handouts will not read, with the line where it went wrong."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _Scanner(RoundTripScanner):
    """YAML without anchors and aliases.

    A value that starts with `*` is text (`- **Do not** scratch`, bold in a leaflet),
    never an alias; an anchor (`&name`) is refused. Without aliases a file cannot
    repeat one part of itself (the "billion laughs" that grows a few KB into gigabytes).
    """

    def fetch_alias(self) -> None:
        self.fetch_plain()

    def fetch_anchor(self) -> None:
        raise _Refused(
            _line(self.reader.get_mark()),
            "'&' here starts a YAML anchor, and handouts files cannot use anchors or "
            "aliases (&name, *name): write each value out in full. If the text starts "
            "with '&', put it in quotes",
        )


class _Composer(Composer):
    """Stop at MAX_YAML_DEPTH levels or MAX_YAML_VALUES values, before any are built."""

    _values = 0
    _level = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):  # not made by _Scanner; refused all the same
            raise _Refused(_line(event.start_mark), "handouts files cannot use aliases (*name)")
        self._values += 1
        if self._values > MAX_YAML_VALUES:
            raise _Refused(
                _line(event.start_mark),
                f"has more than {MAX_YAML_VALUES:,} values (a leaflet has a few hundred); "
                "check that this is the right file",
            )
        self._level += 1
        if self._level > MAX_YAML_DEPTH:
            raise _Refused(
                _line(event.start_mark),
                f"is nested more than {MAX_YAML_DEPTH} levels deep here (handouts files "
                "need a few); check the indentation and the brackets",
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._level -= 1


class _BadDate:
    """A date that does not exist (2027-02-29), kept so validation can name its field."""

    def __init__(self, text: str, message: str):
        self.text = text
        self.message = message

    def __repr__(self) -> str:
        return self.text


def impossible_date(text: str) -> str:
    """Why `text` (YYYY-MM-DD, perhaps with a time) is not a real date, in plain words."""
    match = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if match is None:
        return f"'{text}' is not a date; write dates as YYYY-MM-DD, for example 2026-11-01"
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        return (
            f"there is no month {month} (in {text}); write dates as YYYY-MM-DD, "
            "for example 2026-11-01"
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return (
            f"there is no {day} {MONTHS[month - 1]} {year} ({text}): {MONTHS[month - 1]} "
            f"{year} has {days} days. Check the date"
        )
    return f"'{text}' is not a real date and time; check it"


class _Constructor(RoundTripConstructor):
    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return _BadDate(str(node.value), impossible_date(str(node.value)))

    def construct_yaml_int(self, node: Any) -> Any:
        if len(str(node.value)) > MAX_DIGITS:
            raise _Refused(
                _line(node.start_mark),
                f"has a number more than {MAX_DIGITS:,} digits long; if it is meant as "
                "text, put it in quotes",
            )
        return super().construct_yaml_int(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)


# What the parser's words usually mean in a handouts file.
YAML_HINTS = (
    (
        "mapping values are not allowed here",
        "In YAML a colon and a space (': ') inside text starts a new 'name: value'; "
        "put the whole text in quotes",
    ),
    ("'\\t'", "The line is indented with a tab; indent with spaces"),
    (
        "quoted scalar",
        "A quote opened on this line is never closed; close it (write '' for an apostrophe "
        "inside single quotes)",
    ),
    ("flow sequence", "A list opened with '[' is not closed with ']', or text in it needs quotes"),
    ("flow mapping", "A group opened with '{' is not closed with '}', or text in it needs quotes"),
    ("duplicate key", "A name appears twice; keep one"),
)


def _size(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB".replace(".00 MB", " MB")


def read_text(path: Path) -> str:
    """A YAML file's text, if it is a regular file of at most MAX_YAML_BYTES of UTF-8."""
    try:
        if path.exists() and not path.is_file():
            raise ContentError(
                [Problem(path, None, "", "is not an ordinary file (it is a folder or a device)")]
            )
        size = path.stat().st_size
        if size <= MAX_YAML_BYTES:
            with path.open("rb") as stream:
                data = stream.read(MAX_YAML_BYTES + 1)
            size = len(data)
    except OSError as exc:
        raise ContentError([Problem(path, None, "", f"cannot be read: {exc.strerror}")]) from None
    if size > MAX_YAML_BYTES:
        raise ContentError(
            [
                Problem(
                    path,
                    None,
                    "",
                    f"is too big ({_size(size)}); a handouts YAML file may be at most "
                    f"{_size(MAX_YAML_BYTES)} (a leaflet is about 10 KB). Check that this is "
                    "the right file",
                )
            ]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", errors="replace")) + 1
        raise ContentError(
            [
                Problem(
                    path,
                    line,
                    "",
                    f"is not saved as UTF-8: the character at column {column} of this line "
                    f"(byte 0x{data[exc.start]:02x}) is from another encoding, such as Latin-1 "
                    "or Windows-1252. Save the file as UTF-8 (in most editors: Save As, "
                    "Encoding: UTF-8)",
                )
            ]
        ) from None


def _codepoint(character: Any) -> str:
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file, keeping line numbers (a ruamel round-trip tree).

    The file is refused, with its line, when it is bigger than MAX_YAML_BYTES, holds more
    than MAX_YAML_VALUES values, nests deeper than MAX_YAML_DEPTH or uses anchors.
    """
    text = read_text(path)
    yaml = YAML(typ="rt")
    yaml.Scanner = _Scanner
    yaml.Composer = _Composer
    yaml.Constructor = _Constructor
    try:
        return yaml.load(text)
    except _Refused as exc:
        raise ContentError([Problem(path, exc.line, "", exc.message)]) from None
    except MarkedYAMLError as exc:
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part).strip()
        hint = next((hint for clue, hint in YAML_HINTS if clue in what), None)
        mark = exc.problem_mark or exc.context_mark
        if "quoted scalar" in what and exc.context_mark is not None:
            mark = exc.context_mark  # where the quote was opened
        message = f"is not valid YAML: {what}" + (f". {hint}" if hint else "")
        opened = _line(exc.context_mark)
        if "flow" in what and opened is not None and opened != _line(mark):
            message += f" (it was opened on line {opened})"
        raise ContentError([Problem(path, _line(mark), "", message)]) from None
    except ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        raise ContentError(
            [
                Problem(
                    path,
                    line,
                    "",
                    f"has a character that cannot be in a YAML file ({_codepoint(exc.character)}, "
                    f"{exc.reason}); delete it or retype the line",
                )
            ]
        ) from None
    except YAMLError as exc:
        raise ContentError([Problem(path, None, "", f"is not valid YAML: {exc}")]) from None


def to_plain(node: Any) -> Any:
    """Turn a ruamel tree into plain dicts, lists, strings, numbers and dates."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, datetime):
        return node
    if isinstance(node, date):
        return date(node.year, node.month, node.day)
    if isinstance(node, str):
        return str(node)
    return node


def line_of(tree: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the value at `loc`, or of the nearest enclosing value."""
    node = tree
    line = _own_line(tree)
    for step in loc:
        if isinstance(node, CommentedMap) and step in node:
            line = node.lc.key(step)[0] + 1
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and step < len(node):
            line = node.lc.item(step)[0] + 1
            node = node[step]
        else:
            continue  # a union branch name or a missing key: stay where we are
    return line


_VALUE_LIKE_COMMENT = re.compile(r":[ \t]+#(\S.*?)(?:[ \t]+#.*)?$")


def hidden_by_comments(tree: Any, text: str) -> list[tuple[tuple, int, str]]:
    """Keys left empty because their value starts with `#` (YAML reads it as a note):
    `phone: #999` or `disclaimer: #Please read`. (loc, line, what was after the #) for
    each; a note written as `key: # note`, with a space after the #, is not reported."""
    lines = text.splitlines()
    found = []

    def walk(node: Any, loc: tuple) -> None:
        if isinstance(node, CommentedMap):
            for key, value in node.items():
                if value is None:
                    line = node.lc.key(key)[0] + 1
                    match = (
                        _VALUE_LIKE_COMMENT.search(lines[line - 1]) if line <= len(lines) else None
                    )
                    if match:
                        found.append(((*loc, key), line, "#" + match[1].strip()))
                else:
                    walk(value, (*loc, key))
        elif isinstance(node, CommentedSeq):
            for index, value in enumerate(node):
                walk(value, (*loc, index))

    walk(tree, ())
    return found


def _own_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def field_name(loc: tuple[Any, ...]) -> str:
    """`('side_effects', 'common', 2)` -> `side_effects.common (item 3)`."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f" (item {step + 1})"
        else:
            out += ("." if out else "") + str(step)
    return out


# Patterns of the models, said in words.
PATTERN_WORDS = {
    TREATMENT_ID.pattern: (
        "should be lowercase letters, digits and hyphens, like 'steroid-injections'"
    ),
    LANG_TAG.pattern: (
        "should be a language code like en, or a language and country like en-GB or en-US"
    ),
    LOCALE_TAG.pattern: "should be a language and country like en-GB or en-US",
    r"^[a-z]{2,3}$": "should be a two- or three-letter language code in lowercase, like en",
    r"^[0-9]{2,4}$": 'should be the emergency number: 2 to 4 digits, like "999", "112" or "911"',
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": (
        "should be a reference key: letters, digits, '.', '_' or '-', like NHS or BAD-2021"
    ),
    r"^[0-9a-f]{8}$": (
        "should be the 8 letters and digits (0-9, a-f) that 'handouts check' gives, like 1a2b3c4d"
    ),
    r"^https?://\S+$": "should be a web address that starts with https:// and has no spaces",
    r"^[a-z][a-z0-9-]*$": (
        "should be a name of lowercase letters, digits and hyphens that starts with a letter, "
        "like brand-blue"
    ),
}

# Errors that mean "this value is of the wrong kind" (rather than wrong in itself).
WRONG_KIND = {
    "string_type",
    "model_type",
    "model_attributes_type",
    "dict_type",
    "list_type",
    "date_type",
    "int_type",
    "bool_type",
    "literal_error",
    "date_parsing",
    "date_from_datetime_parsing",
}

_LINE = re.compile(
    r"^(?P<lead>\s*(?:-\s+)*)(?:(?P<key>[^\s#'\"{\[][^#]*?):(?=\s|$)\s*)?(?P<value>.*?)\s*$"
)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_written(source: str | None, fallback: str) -> tuple[str, str | None]:
    """The value as typed on its line (without a comment), and that line with it in quotes."""
    match = _LINE.match(source or "")
    if not match or not match["value"]:
        return fallback, None
    value = match["value"]
    cut = value.find(" #", 1)
    value = (value[:cut] if cut > 0 else value).strip()
    key = f"{match['key']}: " if match["key"] else ""
    return value, f"{match['lead'].strip()} {key}{_quoted(value)}".strip()


def _put_in_quotes(fixed: str | None) -> str:
    return f"put it in quotes: {fixed}" if fixed else "put it in quotes"


def _explain_value(error: dict[str, Any], kind: str, base: str, source: str | None) -> str | None:
    """Why a value YAML read as something other than text is wrong, and how to fix it."""
    value = error.get("input")
    if isinstance(value, _BadDate):
        return value.message
    if kind not in WRONG_KIND:
        return None
    if value is None:
        typed, fixed = _as_written(source, "")
        if typed.startswith("#"):
            return (
                f"is empty, because in YAML a # starts a comment, so '{typed}' was ignored. "
                f"Keep it by putting it in quotes: {fixed}"
            )
        return f"is empty; {base}" if base else "is empty"
    if isinstance(value, bool):
        what = "true or false (yes or no)"
    elif isinstance(value, int | float):
        what = "a number"
    elif isinstance(value, date):
        what = "a date"
    else:
        return None
    wants_text = kind == "string_type" or error.get("ctx", {}).get("class_name") == "Point"
    if not wants_text:
        return None
    typed, fixed = _as_written(source, str(value))
    message = f"YAML reads {typed} as {what}, not text; {_put_in_quotes(fixed)}"
    if isinstance(value, int) and not isinstance(value, bool) and re.fullmatch(r"0\d+", typed):
        message += f" (without quotes the first 0 is lost: it would print {value})"
    return message


def friendly_message(
    error: dict[str, Any], model: type[BaseModel], loc: tuple, source: str | None = None
) -> str:
    """Pydantic's error in plain words. `source` is the line of the file the value is on."""
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        msg = "is not a field that handouts knows"
        if hint:
            msg += f"; did you mean '{hint[0]}'?"
        elif allowed:
            msg += f"; the fields here are: {', '.join(allowed)}"
        return msg
    if kind == "too_long":
        limit = error.get("ctx", {}).get("max_length")
        if isinstance(error.get("input"), str):
            return f"is too long (at most {limit} characters)"
        return f"has too many items (at most {limit})"
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(
            str(error.get("ctx", {}).get("pattern")), "is not written in the form handouts expects"
        )
    template = FRIENDLY.get(kind)
    message = str(error["msg"])
    if template:
        try:
            message = template.format(**error.get("ctx", {}))
        except (KeyError, IndexError):
            message = template
    else:
        # Errors we raise ourselves in validators arrive as "Value error, <our text>".
        message = (
            message.removeprefix("Value error, ")
            .removeprefix("Assertion failed, ")
            .removeprefix("Input ")
        )
    if kind == "model_type" and error.get("ctx", {}).get("class_name") == "Point":
        message = "should be text, or 'text:' with 'refs:' beneath it"
    return _explain_value(error, kind, message, source) or message


def _allowed_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) model that `loc` points into."""
    current: Any = model
    for step in loc:
        if isinstance(step, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = current.model_fields.get(step)
        if field is None:
            continue  # a key of a dict of models (references.<key>) or a union branch
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The pydantic model inside `X`, `list[X]`, `X | None` and the like, if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    metadata_origin = getattr(annotation, "__origin__", None)
    if metadata_origin is not None and metadata_origin is not annotation:
        return _inner_model(metadata_origin)
    return None


def problems_from(
    exc: ValidationError, tree: Any, path: Path, model: type[BaseModel]
) -> list[Problem]:
    problems = []
    lines: list[str] | None = None

    def source_of(line: int | None) -> str | None:
        nonlocal lines
        if line is None:
            return None
        if lines is None:
            lines = _source_lines(path)
        return lines[line - 1] if line <= len(lines) else None

    errors = exc.errors(include_url=False)
    colons = _text_with_a_colon(errors, tree)
    for error in errors:
        loc = tuple(error["loc"])
        line = line_of(tree, loc)
        if loc[:-1] in colons:  # one message for the point, instead of two puzzling ones
            if colons[loc[:-1]]:
                colons[loc[:-1]] = False
                quoted = _whole_line_quoted(source_of(line))
                problems.append(
                    Problem(
                        path,
                        line,
                        field_name(loc[:-1]),
                        "YAML read this text as a 'name: value' line, because of the colon "
                        "and space in it; put the whole text in quotes"
                        + (f": {quoted}" if quoted else ""),
                    )
                )
            continue
        source = source_of(line) if error.get("type") in WRONG_KIND else None
        problems.append(
            Problem(path, line, field_name(loc), friendly_message(error, model, loc, source))
        )
    return problems


def _text_with_a_colon(errors: list[dict[str, Any]], tree: Any) -> dict[tuple, bool]:
    """Points written as `- Note: take it off`, which YAML reads as a group named 'Note'."""
    missing_text = {
        tuple(e["loc"])[:-1]
        for e in errors
        if e["type"] == "missing" and tuple(e["loc"])[-1:] == ("text",)
    }
    found = {}
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and loc[:-1] in missing_text:
            node = node_at(tree, loc[:-1])
            if isinstance(node, dict) and len(node) == 1 and isinstance(node.get(loc[-1]), str):
                found[loc[:-1]] = True
    return found


def leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every value of nested mappings that is not itself a mapping, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    else:
        yield path, node


def node_at(tree: Any, loc: tuple) -> Any:
    """The value at `loc` in a loaded tree, or None."""
    node = tree
    for step in loc:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _whole_line_quoted(source: str | None) -> str:
    match = re.match(r"^(\s*-\s+)(.*?)\s*$", source or "")
    if not match:
        return ""
    text = match[2]
    cut = text.find(" #")
    text = text[:cut].rstrip() if cut > 0 else text
    return f"- {_quoted(text)}"


def _source_lines(path: Path) -> list[str]:
    try:
        return read_text(path).splitlines()
    except ContentError:
        return []


def validate_tree(
    tree: Any, path: Path, model: type[M], context: dict[str, Any] | None = None
) -> M:
    """Validate an already loaded YAML tree; raise ContentError listing every problem."""
    if not isinstance(tree, dict):
        raise ContentError(
            [Problem(path, _own_line(tree) or 1, "", "should hold 'name: value' lines at the top")]
        )
    try:
        return model.model_validate(to_plain(tree), context=context)
    except ValidationError as exc:
        raise ContentError(problems_from(exc, tree, path, model)) from None


def load_model(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Read `path` and validate it as `model`."""
    return validate_tree(load_yaml(path), path, model, context)
