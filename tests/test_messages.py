"""Messages for clinic staff (issue 9, items 12 and 13): dates that do not exist, JSON that
stays JSON when a command fails, no Python descriptions of objects in what is shown, a
template that asks for a template that is not there, and repeated options that are all
built or refused, never silently cut to the last."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from handouts import build as build_module
from handouts import models
from handouts.build import Result, Selection, plan, plan_each
from handouts.cli import app
from handouts.content import Library
from handouts.errors import ContentError
from handouts.models import PersonalDetails
from handouts.paths import content_dir, templates_dir
from handouts.yamlfile import PATTERN_WORDS

from .conftest import TREATMENT, replace_in

runner = CliRunner()
LIBRARY = Library(content_dir())
# Python's words for things, which mean nothing to the person reading a message.
RAW = re.compile(r"object at 0x|SimpleNamespace|NoneType|Traceback|\^\[|\{2,4\}")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    # A clean exit (0) or a handled error (typer.Exit): never an exception that escaped.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert not RAW.search(result.output), result.output
    return result


def pdfs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf")) if folder.exists() else []


# ------------------------------------------------------------ dates that do not exist


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--date",
            "2026-02-30",
            "--date: 30 February 2026 does not exist (February 2026 has 28 days); give the "
            "date as YYYY-MM-DD (year, month, day), e.g. 2026-02-28",
        ),
        (
            "--date",
            "2025-02-29",
            "--date: 29 February 2025 does not exist (February 2025 has 28 days); give the "
            "date as YYYY-MM-DD (year, month, day), e.g. 2025-02-28",
        ),
        (
            "--date",
            "2026-13-01",
            "--date: 2026-13-01 does not exist: there is no month 13; give the date as "
            "YYYY-MM-DD (year, month, day), e.g. 2026-01-13",
        ),
        (
            "--date",
            "2026-04-00",
            "--date: 2026-04-00 does not exist: there is no day 0; give the date as "
            "YYYY-MM-DD (year, month, day), e.g. 2026-04-01",
        ),
        (
            "--date",
            "30/02/2026",  # day first or month first: no reading makes it a date
            "--date: 30 February 2026 does not exist (February 2026 has 28 days); give the "
            "date as YYYY-MM-DD (year, month, day), e.g. 2026-02-28",
        ),
        (
            "--date",
            "13/14/2026",
            "--date: 13/14/2026 does not exist: neither 13 nor 14 is a month; give the date "
            "as YYYY-MM-DD (year, month, day), e.g. 2026-11-20",
        ),
        (
            "--next-appointment",
            "2026-04-31 at 10:30",
            "--next-appointment: 31 April 2026 does not exist (April 2026 has 30 days); give "
            "the date as YYYY-MM-DD (year, month, day), e.g. 2026-04-30",
        ),
    ],
)
def test_a_date_that_does_not_exist_is_refused_naming_the_option(tmp_path, option, value, message):
    out = tmp_path / "out"
    result = invoke(
        "build", TREATMENT, "-o", out, "--patient-name", "Zoë Quigley-Marsh", option, value
    )
    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert "Zoë" not in result.output  # no personal detail but the date itself
    assert not out.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("treatment_date", "2024-02-29"),  # a leap year
        ("treatment_date", "2026-11-20"),
        ("treatment_date", "03/04/2026"),  # a date either way round
        ("treatment_date", "31/12/26"),
        ("next_appointment", "Tuesday 3 March at 10:30"),
        ("next_appointment", "2026-12-31 10:30"),
        ("next_appointment", "Room 12, 10.30"),
    ],
)
def test_dates_that_exist_and_free_text_are_kept_as_given(field, value):
    assert getattr(PersonalDetails(**{field: value}), field) == value


def test_an_impossible_date_is_refused_in_json_too(tmp_path):
    result = invoke("build", TREATMENT, "-o", tmp_path, "--date", "2026-02-30", "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["message"].startswith("--date: 30 February 2026 does not exist")
    assert error["exit_code"] == 1


# ------------------------------------------------------------ JSON stays JSON


def test_build_json_names_an_unknown_treatment_in_json(tmp_path):
    result = invoke("build", "steroid-injection", "-o", tmp_path, "--json")
    assert result.exit_code == 2
    answer = json.loads(result.stdout)
    assert answer["error"]["exit_code"] == 2
    assert answer["error"]["message"].startswith("There is no treatment called 'steroid-inj")
    assert "Did you mean 'steroid-injections'?" in answer["error"]["message"]
    assert answer["built"] == []
    assert "Did you mean 'steroid-injections'?" in result.stderr  # and for people, as before


def test_build_json_lists_every_content_problem_with_file_line_and_field(tmp_path, content_copy):
    path = content_copy / "treatments" / TREATMENT / "en.yaml"
    line = replace_in(path, "\nsubtitle:", "\nsubtitel:") + 1
    result = invoke("build", TREATMENT, "--content", content_copy, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 1
    assert error["message"].startswith("1 problem found:")
    assert {
        "file": str(path),
        "line": line,
        "field": "subtitel",
        "message": "is not a field that handouts knows; did you mean 'subtitle'?",
    } in error["problems"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["build", TREATMENT, "--json", "--bleed"],  # an option without its value
        ["build", TREATMENT, "--json", "--no-such-option"],
        ["list", "--json", "--no-such-option"],
        ["check", "--json", "--no-such-option"],
    ],
    ids=["missing-value", "unknown-build-option", "unknown-list-option", "unknown-check-option"],
)
def test_a_mistake_on_the_command_line_is_json_too(args):
    result = invoke(*args)
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 2
    assert ("requires an argument" in error["message"]) or ("No such option" in error["message"])


def test_build_json_when_interrupted_says_so_and_lists_what_was_written(tmp_path, monkeypatch):
    def interrupted(library, jobs, on_progress=None, workers=None, strict=False):
        on_progress(1, len(jobs), Result(jobs[0], pages=1, size=1234))
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "run", interrupted)
    result = invoke("build", TREATMENT, "silicone-gel", "-s", "summary", "-o", tmp_path, "--json")
    assert result.exit_code == 130
    answer = json.loads(result.stdout)
    assert answer["error"]["exit_code"] == 130
    assert answer["error"]["interrupted"] is True
    assert answer["error"]["message"].startswith("Interrupted. Nothing half-written")
    [done] = answer["built"]
    assert (done["treatment"], done["style"], done["bytes"]) == (TREATMENT, "summary", 1234)


@pytest.mark.parametrize("command", ["list", "check"])
def test_list_and_check_json_stay_json_on_errors(tmp_path, command):
    result = invoke(command, "--content", tmp_path, "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error == {
        "message": f"{tmp_path} is not a content folder: it has no 'treatments' folder "
        "inside. Point --content at a folder laid out like the bundled 'content' folder.",
        "exit_code": 1,
    }
    assert result.stderr == f"Error: {error['message']}\n"


def test_list_json_with_a_broken_leaflet_is_still_json(full_content_copy):
    replace_in(
        full_content_copy / "treatments" / TREATMENT / "en.yaml", "\nsubtitle:", "\nsubtitel:"
    )
    result = invoke("list", "--content", full_content_copy, "--json")
    assert result.exit_code == 1
    info = json.loads(result.stdout)
    # The English file is reported; its translations are listed as unusable with it.
    assert [(b["treatment"], b["lang"]) for b in info["broken"]] == [(TREATMENT, "en")]
    [entry] = [t for t in info["treatments"] if t["id"] == TREATMENT]
    assert entry["broken"] == ["ar", "en", "es", "fr", "pt", "vi", "zh-Hans"]


# ------------------------------------------------------------ no Python in messages


@pytest.fixture
def clinic(clinic_copy) -> Path:
    (clinic_copy / "templates").mkdir()
    return clinic_copy


def with_template(clinic: Path, body: str, name: str = "handout.html") -> Path:
    """The clinic's template: the built-in one with `body` as its purpose block (line 3)."""
    path = clinic / "templates" / name
    path.write_text('{% extends "base:handout.html" %}\n{% block purpose %}\n' + body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ handout.titel }}", "handout has no field 'titel' (did you mean 'title'?)"),
        (
            "{% for point in handout.key_points %}{{ point.txt }}{% endfor %}",
            "an item of handout.key_points has no field 'txt' (did you mean 'text'?)",
        ),
        (
            "{{ handout.side_effects.comon }}",
            "handout.side_effects has no field 'comon' (did you mean 'common'?)",
        ),
        ("{{ colors.primry }}", "colors has no field 'primry' (did you mean 'primary'?)"),
        (
            "{{ handuot.title }}",
            "'handuot' is undefined: no variable has that name (did you mean 'handout'?)",
        ),
        (
            "{{ handout.key_points.text }}",
            "handout.key_points is a list, so it has no field 'text'; go through its items "
            "with {% for item in handout.key_points %} and use {{ item.text }} for each",
        ),
        ("{{ handout.title.foo }}", "text has no field 'foo'"),
        (
            "{{ personal.patient_name.first }}",
            "an empty value has no field 'first': the value before .first is empty here "
            "(check it with {% if ... %} first)",
        ),
    ],
    ids=["field", "loop-item", "nested", "dict", "variable", "list", "text", "empty"],
)
def test_a_missing_field_is_named_as_the_template_names_it(clinic, tmp_path, body, message):
    template = with_template(clinic, body + "{% endblock %}")
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {template}:3: a template uses something that does not exist: {message}\n"
    )
    assert pdfs(tmp_path / "out") == []


def test_an_item_past_the_end_of_a_list_says_how_many_there_are(clinic, tmp_path):
    template = with_template(clinic, "{{ handout.key_points[99] }}{% endblock %}")
    count = len(LIBRARY.handout(TREATMENT, "en").key_points)
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {template}:3: a template uses something that does not exist: "
        f"handout.key_points has no item 99 (it has {count}, numbered from 0)\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ handout + 1 }}", "a template failed: cannot use + with a record and a number"),
        (
            "{{ handout.title + 1 }}",
            "a template failed: cannot join text and a number with +; join them with ~ "
            "instead, as in {{ a ~ b }}",
        ),
        (
            "{% for x in handout %}{% endfor %}",
            "a template failed: a record cannot be looped over with 'for'; loop over a list",
        ),
        (
            "{{ handout.__class__.__init__.__globals__ }}",  # named at the first step
            "a template tried something that is not allowed: '__class__' is off limits to "
            "templates (nothing whose name starts with _ is)",
        ),
        (
            "{{ handout.key_points.append(1) }}",
            "a template tried something that is not allowed: 'append' of a list is off "
            "limits: templates cannot change what they are given",
        ),
        (
            "{{ handout.title.upper }}",
            "a template failed: it prints a function instead of what the function gives; "
            "call it by adding brackets, as in {{ handout.title.upper() }}, or leave it out",
        ),
        (
            "{{ contact.address }}",
            "a template failed: it prints a whole list (3 items) instead of its items; go "
            "through them with {% for item in ... %}{{ item }}{% endfor %}, or join them, "
            "as in {{ contact.address | join(', ') }}",
        ),
        ("{{ handout.review }}", "a template failed: it prints a whole record (with the fields"),
    ],
    ids=["record-plus", "text-plus", "loop-record", "unsafe", "change", "method", "list", "record"],
)
def test_template_mistakes_are_said_without_python_names(clinic, tmp_path, body, message):
    template = with_template(clinic, body + "{% endblock %}")
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {template}:3: {message}")
    assert len(result.stderr.splitlines()) == 1
    assert pdfs(tmp_path / "out") == []


def test_a_logo_that_is_not_an_image_is_said_without_python_names(clinic_copy, tmp_path):
    (clinic_copy / "assets" / "logo.png").write_bytes(b"not an image at all")
    line = replace_in(clinic_copy / "clinic.yaml", "assets/logo.svg", "assets/logo.png")
    expected = (
        f"{clinic_copy / 'clinic.yaml'}:{line}: logo.medium.path: 'assets/logo.png' is not "
        "a PNG image that can be read: it may be damaged, or another kind of file given a "
        ".png name. Save the logo again as PNG"
    )
    built = invoke("build", TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert built.exit_code == 1
    assert expected in built.stderr
    checked = invoke("check", "--clinic", clinic_copy)
    assert expected in checked.stderr
    as_json = invoke("check", "--clinic", clinic_copy, "--json")  # RAW is checked in invoke()
    [problem] = [
        e for e in json.loads(as_json.stdout)["errors"] if e["field"] == "logo.medium.path"
    ]
    assert problem["message"].startswith("'assets/logo.png' is not a PNG image that can be read")
    assert " at 0x" not in as_json.stdout + checked.stderr + built.stderr


def _patterns(schema) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return found.union(*(_patterns(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_patterns(v) for v in schema))
    return set()


def test_every_pattern_a_file_must_match_is_said_in_words():
    """A value in the wrong form is told what form is expected, never shown a regex."""
    found: set[str] = set()
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel:
            found |= _patterns(model.model_json_schema())
    assert found  # the models have patterns, and each one has words
    assert sorted(found - set(PATTERN_WORDS)) == []


def test_an_emergency_number_in_the_wrong_form_says_what_form_is_expected(clinic_copy, tmp_path):
    line = replace_in(
        clinic_copy / "clinic.yaml", 'emergency_number: "999"', "emergency_number: 99a"
    )
    result = invoke("build", TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert (
        f"{clinic_copy / 'clinic.yaml'}:{line}: contact.emergency_number: should be the "
        'emergency number: 2 to 4 digits, like "999", "112" or "911"'
    ) in result.stderr


# ------------------------------------------------------------ templates that are not there


def test_an_include_that_is_not_there_names_the_file_line_and_folders(clinic, tmp_path):
    template = with_template(clinic, '{% include "partials/contcat.html" %}{% endblock %}')
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {template}:3: a template asks for 'partials/contcat.html', which was not "
        f"found in {clinic / 'templates'} or {templates_dir()}. "
        "Did you mean 'partials/contact.html'?\n"
    )


def test_an_include_with_no_near_name_lists_the_templates(clinic, tmp_path):
    template = with_template(clinic, '{% include "nope.html" %}{% endblock %}')
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.exit_code == 1
    head = (
        f"Error: {template}:3: a template asks for 'nope.html', which was not found in "
        f"{clinic / 'templates'} or {templates_dir()}. The templates are: "
    )
    assert result.stderr.startswith(head)
    assert "handout.html, partials/call_clinic.html, partials/contact.html" in result.stderr


@pytest.mark.parametrize(
    ("text", "line", "name"),
    [
        (
            '{% extends "base:handout.html" %}\n{% block purpose %}\n{% include "/etc/passwd" %}'
            "{% endblock %}",
            3,
            "/etc/passwd",
        ),
        ('{% extends "../x.html" %}\n', 1, "../x.html"),
        (
            '{% extends "base:handout.html" %}\n{% block purpose %}\n'
            '{% include "base:../../etc/passwd" %}{% endblock %}',
            3,
            "base:../../etc/passwd",
        ),
    ],
    ids=["absolute", "extends-parent", "base-parent"],
)
def test_a_template_outside_the_folders_is_refused_saying_where_they_are(
    clinic, tmp_path, text, line, name
):
    template = clinic / "templates" / "handout.html"
    template.write_text(text)
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {template}:{line}: a template asks for '{name}', which was not found: a "
        "template can only use templates inside the template folders, named from there, like "
        "'partials/contact.html' (or 'base:handout.html' for a built-in one). Templates are "
        f"looked for in {clinic / 'templates'} and then {templates_dir()}.\n"
    )
    assert pdfs(tmp_path / "out") == []


def test_a_missing_built_in_template_is_looked_for_among_the_built_in_ones(clinic, tmp_path):
    template = with_template(clinic, '{% include "base:handot.html" %}{% endblock %}')
    result = invoke("build", TREATMENT, "--clinic", clinic, "-o", tmp_path / "out")
    assert result.stderr == (
        f"Error: {template}:3: a template asks for 'base:handot.html', which was not found "
        f"among the built-in templates ({templates_dir()}). Did you mean 'base:handout.html'?\n"
    )


# ------------------------------------------------------------ repeated options


def test_every_style_asked_for_is_built(tmp_path):
    result = invoke("build", TREATMENT, "-s", "summary", "-s", "trifold", "-o", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [(r["style"], r["paper"]) for r in reports] == [("summary", "a4"), ("trifold", "a4")]
    assert [p.name for p in pdfs(tmp_path)] == [
        f"{TREATMENT}-summary-a4.pdf",
        f"{TREATMENT}-trifold-a4.pdf",
    ]


def test_every_language_and_paper_asked_for_is_built_once(tmp_path):
    # en is the neutral clinic's en-GB: asked for twice, made once.
    result = invoke(
        "build", TREATMENT, "-s", "summary", "-l", "en-GB", "-l", "en-US", "-l", "en",
        "--paper", "a4", "--paper", "letter", "-o", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    made = sorted(str(p.relative_to(tmp_path)) for p in pdfs(tmp_path))
    assert made == [
        f"neutral/{lang}/{TREATMENT}-summary-{paper}.pdf"
        for lang in ("en-GB", "en-US")
        for paper in ("a4", "letter")
    ]
    assert len(result.stdout.splitlines()) == 4


def test_a_wrong_name_among_repeats_stops_the_build_before_anything_is_written(tmp_path):
    result = invoke("build", TREATMENT, "-s", "summary", "-s", "trifld", "-o", tmp_path)
    assert result.exit_code == 2
    assert "There is no style called 'trifld'" in result.stderr
    assert "Did you mean 'trifold'?" in result.stderr
    assert pdfs(tmp_path) == []


@pytest.mark.parametrize(
    ("option", "values"),
    [
        ("--patient-name", ["Zoë Quigley-Marsh", "Ana Pérez"]),
        ("--date", ["2026-11-20", "2026-11-21"]),
        ("--clinician", ["Dr Okonkwo", "Dr Lee"]),
        ("--next-appointment", ["3 March", "4 March"]),
        ("--bleed", ["3mm", "5mm"]),
    ],
)
def test_a_one_value_option_given_twice_is_refused_without_echoing(tmp_path, option, values):
    result = invoke("build", TREATMENT, "-o", tmp_path, option, values[0], option, values[1])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {option} was given 2 times with different values; give it once.\n"
    )
    for value in values:
        assert value not in result.output
    assert pdfs(tmp_path) == []


def test_two_output_folders_are_refused(tmp_path):
    result = invoke("build", TREATMENT, "-o", tmp_path / "a", "--out", tmp_path / "b")
    assert result.exit_code == 1
    assert result.stderr == "Error: --out was given 2 times with different values; give it once.\n"
    assert pdfs(tmp_path) == []


def test_the_same_value_twice_is_not_a_repeat(tmp_path):
    result = invoke(
        "build", TREATMENT, "-s", "summary", "--clinician", "Dr Lee", "--clinician", "Dr Lee",
        "-o", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(pdfs(tmp_path)) == 1


def test_templates_explain_takes_one_style():
    result = invoke("templates", "explain", TREATMENT, "-s", "summary", "-s", "trifold")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --style was given 2 times with different values; give it once.\n"
    )


def test_help_says_which_options_may_be_repeated():
    result = invoke("build", "--help")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "Repeat to build each: -s summary -s trifold" in flat
    assert "Repeat to build each: -l en -l es" in flat
    assert "a4 or letter; repeat to build both" in flat
    assert "--style, --paper, --lang and --clinic may be repeated" in flat
    options = flat[flat.index("Options") :]
    assert "--style -s STYLE" in options and "--date DATE" in options
    assert "list[str]" not in options


def test_plan_each_keeps_selection_style_and_makes_each_leaflet_once(tmp_path):
    one = Selection([TREATMENT], style="summary", out_dir=tmp_path)
    assert [j.style for j in plan(LIBRARY, one)] == ["summary"]
    jobs = plan_each(
        LIBRARY,
        [one, Selection([TREATMENT], style="trifold", out_dir=tmp_path), one],
    )
    assert [j.style for j in jobs] == ["summary", "trifold"]


def test_plan_each_reports_content_problems_of_every_selection(tmp_path, content_copy):
    replace_in(content_copy / "treatments" / TREATMENT / "en.yaml", "\nsubtitle:", "\nsubtitel:")
    library = Library(content_copy)
    selections = [
        Selection([TREATMENT], style=style, out_dir=tmp_path) for style in ("summary", "trifold")
    ]
    with pytest.raises(ContentError) as info:
        plan_each(library, selections)
    assert [p.field for p in info.value.problems] == ["subtitel"]  # once, not once a style
