"""`handouts check --clinic` finds everything a build would (issue 9, items 6 and 13): the
defaults, template mistakes, misspelt blocks, stylesheets and images that may not load,
CSS that hides the safety parts; and it warns about a placeholder logo or a missing phone
number (errors with --strict). Block overrides in handout.html reach every style."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from handouts.check import check as run_check
from handouts.cli import app
from handouts.clinic import load_clinic
from handouts.content import Library
from handouts.paths import content_dir

from .conftest import TREATMENT, Built, replace_in

runner = CliRunner()
LIBRARY = Library(content_dir())


def check(*args):
    result = runner.invoke(app, ["check", *[str(a) for a in args]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def build(*args):
    result = runner.invoke(app, ["build", *[str(a) for a in args]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def clinic_problems(folder: Path, *, strict=False, render=False):
    """(errors, warnings) about the clinic folder, as text."""
    report = run_check(LIBRARY, [str(folder)], strict=strict, render=render)
    inside = [p for p in report.errors if str(p.path).startswith(str(folder))]
    warned = [p for p in report.warnings if str(p.path).startswith(str(folder))]
    return [str(p) for p in inside], [str(p) for p in warned]


def template(clinic: Path, text: str, name: str = "handout.html") -> Path:
    (clinic / "templates").mkdir(exist_ok=True)
    path = clinic / "templates" / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------- check finds what build would


def _syntax(clinic):
    path = template(clinic, '{% extends "base:handout.html" %}\n{% block title %}{% if %}')
    return f"{path}:2: template error"


def _undefined(clinic):
    path = template(
        clinic, '{% extends "base:handout.html" %}\n{% block title %}{{ nope }}{% endblock %}'
    )
    return f"{path}:2: a template uses something that does not exist: 'nope' is undefined"


def _css_import(clinic):
    (clinic / "assets" / "clinic.css").write_text('@import url("https://fonts.example/x.css");\n')
    return f"{clinic / 'assets' / 'clinic.css'}:1: blocked or missing file"


def _svg_with_external_image(clinic):
    (clinic / "assets" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="200" height="60"><image xlink:href="file:///etc/hosts" width="10" '
        'height="10"/><text x="5" y="40">Logo</text></svg>'
    )
    return "uses another file or address ('file:///etc/hosts', in an <image>)"


def _fancy_style(clinic):
    line = replace_in(clinic / "clinic.yaml", "style: standard", "style: fancy")
    return f"clinic.yaml:{line}: defaults.style: there is no style called 'fancy'"


def _german(clinic):
    line = replace_in(clinic / "clinic.yaml", "language: en-GB", "language: de")
    return f"clinic.yaml:{line}: defaults.language: there are no leaflets in 'de' yet"


def _hidden_emergency(clinic):
    (clinic / "assets" / "clinic.css").write_text(".emergency { display: none }\n")
    return "is missing a safety-critical part"


BREAKERS = [
    _syntax,
    _undefined,
    _css_import,
    _svg_with_external_image,
    _fancy_style,
    _german,
    _hidden_emergency,
]


@pytest.fixture
def starter(tmp_path) -> Path:
    """A clinic made with 'handouts clinic init', with a name, phone and real logo."""
    folder = tmp_path / "my-clinic"
    assert (
        runner.invoke(app, ["clinic", "init", str(folder), "--name", "Test Clinic"]).exit_code == 0
    )
    replace_in(folder / "clinic.yaml", "  # phone: 01632 960 123", '  phone: "01632 960 123"')
    replace_in(folder / "clinic.yaml", "alt: Placeholder logo", "alt: Test Clinic logo")
    (folder / "assets" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">'
        '<rect width="200" height="60" fill="#1d4f73"/></svg>'
    )
    return folder


def test_a_well_made_clinic_passes_check_with_no_clinic_warnings(starter):
    errors, warnings = clinic_problems(starter, render=True)
    assert errors == []
    assert warnings == []


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda f: f.__name__.strip("_"))
def test_check_finds_what_build_would(starter, tmp_path, breaker):
    expected = breaker(starter)
    checked = check("--clinic", starter)
    assert checked.exit_code == 1, checked.output
    assert expected in checked.stderr
    built = build(TREATMENT, "--clinic", starter, "-o", tmp_path / "out")
    assert built.exit_code != 0
    assert not list((tmp_path / "out").rglob("*.pdf"))


# ------------------------------------------------------------------- quiet surprises


def test_a_misspelt_block_is_named_with_the_nearest_block(starter):
    path = template(
        starter,
        '{% extends "base:handout.html" %}\n\n{% block titel %}Ours{% endblock %}\n',
    )
    errors, warnings = clinic_problems(starter)
    assert errors == []
    assert warnings == [
        f"{path}:3: block 'titel' is not in 'base:handout.html', so it is never printed. "
        "Did you mean 'title'? 'handouts templates explain' lists the templates; "
        "docs/customising.md lists the blocks."
    ]
    strict_errors, _ = clinic_problems(starter, strict=True)
    assert strict_errors == warnings


def test_a_page_override_in_handout_html_is_said_not_to_reach_summary_and_trifold(starter):
    path = template(
        starter, '{% extends "base:handout.html" %}\n{% block page %}{{ super() }}{% endblock %}'
    )
    _, warnings = clinic_problems(starter)
    assert [w for w in warnings if "lays out" in w] == [
        f"{path}: the {style} style lays out 'page' its own way, so your block(s) 'page' are "
        f"not used in {style} leaflets. To change them there too, put them in "
        f'templates/{style}.html, starting with {{% extends "base:{style}.html" %}}.'
        for style in ("summary", "trifold")
    ]


def test_a_block_override_reaches_every_style(starter, tmp_path):
    template(
        starter,
        '{% extends "base:handout.html" %}\n{% block purpose %}'
        '<p class="purpose">Read this before your visit, please.</p>{% endblock %}',
    )
    _, warnings = clinic_problems(starter)
    assert warnings == []
    for style in ("standard", "summary", "trifold"):
        result = build("silicone-gel", "-s", style, "--clinic", starter, "-o", tmp_path / style)
        assert result.exit_code == 0, result.output
        [pdf] = (tmp_path / style).rglob("*.pdf")
        text = " ".join(Built(pdf, b"", 0).text().split())
        if style == "summary":  # the card prints no purpose line at all
            assert "Read this before your visit" not in text
        else:
            assert "Read this before your visit, please." in text, style


def test_placeholder_logo_and_missing_phone_warn_and_fail_when_strict(tmp_path):
    folder = tmp_path / "fresh"
    assert runner.invoke(app, ["clinic", "init", str(folder), "--name", "Fresh"]).exit_code == 0
    errors, warnings = clinic_problems(folder)
    assert errors == []
    brand = folder / "clinic.yaml"
    assert [w.split(": ", 2)[1] for w in warnings] == ["logo.medium.path", "contact.phone"]
    assert "still the placeholder logo from 'handouts clinic init'" in warnings[0]
    assert "no phone number" in warnings[1]
    assert all(w.startswith(f"{brand}:") for w in warnings)
    relaxed = check("--quick", "--clinic", folder)
    strict = check("--quick", "--strict", "--clinic", folder)
    assert "placeholder logo" in relaxed.stderr
    assert strict.exit_code == 1
    assert "Error: " + warnings[0] in strict.stderr


def test_the_placeholder_alt_text_is_warned_when_the_logo_was_replaced(starter):
    replace_in(starter / "clinic.yaml", "alt: Test Clinic logo", "alt: Placeholder logo")
    _, warnings = clinic_problems(starter)
    assert len(warnings) == 1
    assert "logo.medium.alt: the alt text still says 'Placeholder logo'" in warnings[0]


def test_the_neutral_clinic_is_not_asked_for_a_phone_number():
    errors, warnings = clinic_problems(load_clinic("neutral").folder)
    assert errors == [] and warnings == []


def test_check_reports_every_failing_style_not_just_the_first(starter):
    (starter / "assets" / "clinic.css").write_text(".emergency { display: none }\n")
    errors, _ = clinic_problems(starter, render=True)
    styles = sorted(e.split("(en-GB, ")[1].split(",")[0] for e in errors)
    assert styles == ["large-print", "standard", "summary", "trifold"]


def test_bundled_clinics_check_clean():
    report = run_check(LIBRARY, [], render=True)
    assert report.errors == []
    assert [w for w in report.warnings if "is a draft" not in w.message] == []


def test_a_value_hidden_by_a_hash_is_warned_with_its_line(starter):
    brand = starter / "clinic.yaml"
    line = replace_in(brand, '  # emergency_number: "999"', "  emergency_number: #999")
    with brand.open("a") as file:
        file.write("disclaimer: #Please read the whole leaflet\n")
    disclaimer_line = len(brand.read_text().splitlines())
    _, warnings = clinic_problems(starter)
    assert warnings == [
        f"{brand}:{line}: contact.emergency_number: is empty: YAML reads everything after "
        "'#' as a note, so '#999' was left out. Write the value in quotes, e.g. "
        'emergency_number: "#999" (without the # if it is not part of the value)',
        f"{brand}:{disclaimer_line}: disclaimer: is empty: YAML reads everything after '#' "
        "as a note, so '#Please read the whole leaflet' was left out. Write the value in "
        'quotes, e.g. disclaimer: "#Please read the whole leaflet" (without the # if it is '
        "not part of the value)",
    ]


def test_a_note_after_a_section_name_is_not_mistaken_for_a_value(starter):
    replace_in(starter / "clinic.yaml", "contact:", "contact:   # how patients reach us")
    _, warnings = clinic_problems(starter)
    assert warnings == []


def test_build_prints_clinic_warnings_and_strict_stops_on_them(starter, tmp_path):
    replace_in(starter / "clinic.yaml", '  # emergency_number: "999"', "  emergency_number: #999")
    relaxed = build(TREATMENT, "--clinic", starter, "-o", tmp_path / "relaxed")
    assert relaxed.exit_code == 0
    assert "Warning: " in relaxed.stderr and "'#999' was left out" in relaxed.stderr
    assert len(list((tmp_path / "relaxed").rglob("*.pdf"))) == 1
    strict = build(TREATMENT, "--strict", "--clinic", starter, "-o", tmp_path / "strict")
    assert strict.exit_code == 1
    assert "'#999' was left out" in strict.stderr
    assert not (tmp_path / "strict").exists()


def test_build_strict_makes_ignored_css_an_error(starter, tmp_path):
    css = starter / "assets" / "clinic.css"
    css.write_text(".masthead { colour: red; }\n")
    relaxed = build(TREATMENT, "--clinic", starter, "-o", tmp_path / "relaxed")
    assert relaxed.exit_code == 0
    assert f"{css}:1: CSS 'colour: red' is ignored" in relaxed.stderr
    strict = build(TREATMENT, "--strict", "--clinic", starter, "-o", tmp_path / "strict")
    assert strict.exit_code == 1
    assert f"{css}:1: CSS 'colour: red' is ignored" in strict.stderr
    assert not list((tmp_path / "strict").rglob("*.pdf"))


def test_a_leaflet_too_long_for_its_style_names_a_long_clinic_value(starter, tmp_path):
    department = "Department of Dermatology, Plastic Surgery and Scar Management " * 9
    replace_in(
        starter / "clinic.yaml",
        "  # department: Dermatology and Scar Clinic",
        f"  department: {department.strip()}",
    )
    result = build("fillers", "-s", "summary", "--clinic", starter, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "does not fit the summary style" in result.stderr
    assert (
        f"Long values given for this leaflet, which may be what makes it too long: the "
        f"department (meta.department in {starter / 'clinic.yaml'}): "
        f"{len(department.strip())} characters." in result.stderr
    )
