"""Read YAML files with line numbers and validate them against a pydantic model.

Every problem found in a file is reported at once, each as `path:line: field: message`,
so that whoever edits the content can fix them all in one go.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import ContentError, Problem

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


def load_yaml(path: Path) -> Any:
    """Parse one YAML file, keeping line numbers (a ruamel round-trip tree)."""
    yaml = YAML(typ="rt")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(
            [Problem(path, None, "", f"is not UTF-8 text (byte {exc.start}); save it as UTF-8")]
        ) from None
    except OSError as exc:
        raise ContentError([Problem(path, None, "", f"cannot be read: {exc.strerror}")]) from None
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ContentError(
            [Problem(path, line, "", f"is not valid YAML: {what.strip()}")]
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


def friendly_message(error: dict[str, Any], model: type[BaseModel], loc: tuple) -> str:
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
    template = FRIENDLY.get(kind)
    if template:
        try:
            return template.format(**error.get("ctx", {}))
        except (KeyError, IndexError):
            return template
    message = str(error["msg"])
    # Errors we raise ourselves in validators arrive as "Value error, <our text>".
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


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
            return []
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
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        problems.append(
            Problem(path, line_of(tree, loc), field_name(loc), friendly_message(error, model, loc))
        )
    return problems


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
