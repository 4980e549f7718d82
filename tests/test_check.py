"""`handouts check` and `handouts schema`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from handouts.cli import app
from handouts.paths import content_dir
from handouts.schema import SCHEMAS, schema_text
from handouts.yamlfile import load_yaml, to_plain

from .conftest import TREATMENT, replace_in

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
HARBOUR = "harbour-skin-clinic"

HARD = (
    "Intralesional corticosteroid administration demonstrates considerable heterogeneity "
    "regarding therapeutic effectiveness, necessitating individualised consideration of "
    "concomitant pharmacological interventions and comprehensive longitudinal monitoring "
    "by appropriately qualified dermatological practitioners."
)


def check(*args):
    """`handouts check --quick`: the content checks, without making leaflets in memory
    (tests/test_clinic_check.py covers those)."""
    return runner.invoke(app, ["check", "--quick", *[str(a) for a in args]])


def leaflet(content, treatment=TREATMENT):
    return content / "treatments" / treatment / "en.yaml"


def test_shipped_content_passes_check_with_drafts_as_warnings():
    result = check()
    assert result.exit_code == 0, result.output
    assert "Checked 105 leaflets" in result.stdout  # 15 in 7 languages
    assert "0 errors, 15 warnings" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["en"]]
    assert len(rows) == 15
    drafts = [line for line in result.stderr.splitlines() if "is a draft" in line]
    assert len(drafts) == 15


def test_strict_check_fails_on_drafts():
    """No clinician has signed the shipped leaflets off yet: --strict must say so."""
    result = check("--strict")
    assert result.exit_code == 1
    assert "15 errors" in result.stderr
    path = leaflet(content_dir())
    assert f"Error: {path}:" in result.stderr
    assert "review: version" in result.stderr and "is a draft" in result.stderr


def test_json_report_of_shipped_content():
    result = check("--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert len(report["readability"]) == 15
    assert all(row["fk_grade"] <= 7 for row in report["readability"])
    assert report["average_grade"] <= 6.5
    assert set(report["checked_clinics"]) == {"neutral", "riverside-dermatology", HARBOUR}
    assert sum("is a draft" in w["message"] for w in report["warnings"]) == 15


@pytest.mark.parametrize(
    ("old", "new", "field", "message", "line_offset"),
    [
        ("\nsubtitle:", "\nsubtitel:", "subtitel", "did you mean 'subtitle'", 1),
        ("\nrecovery:\n", "\nrecovery: soon\nold:\n", "recovery", "should be a list", 1),
        (
            "refs: [RF, NHS]",
            "refs: [RF, NHZ]",
            "key_points (item 1).refs (item 2)",
            "'NHZ' is not in references.yaml",
            0,
        ),
        (
            "related: [scar-types,",
            "related: [scar-typo,",
            "related (item 1)",
            "there is no leaflet called 'scar-typo'",
            0,
        ),
    ],
)
def test_broken_content_is_reported_with_file_and_line(
    content_copy, old, new, field, message, line_offset
):
    path = leaflet(content_copy)
    line = replace_in(path, old, new) + line_offset
    result = check("--content", content_copy)
    assert result.exit_code == 1
    assert f"Error: {path}:{line}: {field}: " in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_section_is_reported(content_copy):
    path = leaflet(content_copy)
    text = path.read_text()
    path.write_text(text[: text.index("\nquestions:")] + text[text.index("\nrelated:") :])
    result = check("--content", content_copy)
    assert result.exit_code == 1
    assert (
        f"{path}:" in result.stderr and "questions: this is required but missing" in result.stderr
    )


def test_expired_review_is_a_warning_then_an_error_when_strict(content_copy):
    path = leaflet(content_copy)
    replace_in(path, "last_reviewed: 2026-11-23", "last_reviewed: 2023-01-10")
    line = replace_in(path, "next_review: 2027-11-23", "next_review: 2024-01-10")
    relaxed = check("--content", content_copy)
    assert relaxed.exit_code == 0
    assert f"Warning: {path}:{line}: review.next_review: the review was due on 2024-01-10" in (
        relaxed.stderr
    )
    strict = check("--content", content_copy, "--strict")
    assert strict.exit_code == 1
    assert f"Error: {path}:{line}: review.next_review" in strict.stderr


def test_hard_text_fails_the_readability_gate(content_copy):
    path = leaflet(content_copy)
    for other in path.parent.glob("*.yaml"):  # its translations would no longer match it
        if other != path:
            other.unlink()
    text = path.read_text()
    hard_points = "\n".join(f"  - {HARD}" for _ in range(12))
    start, end = text.index("\nhelps:\n"), text.index("\nnot_for:")
    path.write_text(text[:start] + "\nhelps:\n" + hard_points + text[end:])
    relaxed = check("--content", content_copy, "--json")
    row = next(r for r in json.loads(relaxed.stdout)["readability"] if r["treatment"] == TREATMENT)
    assert row["fk_grade"] > 7
    assert relaxed.exit_code == 0
    strict = check("--content", content_copy, "--strict")
    assert strict.exit_code == 1
    assert f"Error: {path}: reading level is grade {row['fk_grade']}" in strict.stderr
    assert "(too hard)" in strict.stdout


def test_a_bad_clinic_is_reported(clinic_copy):
    line = replace_in(clinic_copy / "clinic.yaml", 'primary: "#00665e"', 'primary: "#eeeeee"')
    result = check("--clinic", clinic_copy)
    assert result.exit_code == 1
    assert f"{clinic_copy / 'clinic.yaml'}:{line}: color.primary:" in result.stderr


def test_schema_prints_json_schema():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_committed_schemas_are_up_to_date(kind):
    committed = ROOT / "schemas" / f"{kind}.schema.json"
    assert committed.read_text() == schema_text(kind), "run: make schemas"


def test_schema_accepts_every_leaflet_and_rejects_a_typo(content_copy):
    validator = jsonschema.Draft7Validator(json.loads(schema_text("leaflet")))
    for path in sorted((content_copy / "treatments").glob("*/en.yaml")):
        data = json.loads(json.dumps(to_plain(load_yaml(path)), default=str))
        assert not list(validator.iter_errors(data)), path
    replace_in(leaflet(content_copy), "\nsubtitle:", "\nsubtitel:")
    data = json.loads(json.dumps(to_plain(load_yaml(leaflet(content_copy))), default=str))
    assert list(validator.iter_errors(data))


def test_schema_output_file_is_written_and_user_files_are_kept(tmp_path):
    target = tmp_path / "leaflet.schema.json"
    assert runner.invoke(app, ["schema", "-o", str(target)]).exit_code == 0
    assert json.loads(target.read_text())["title"]
    assert runner.invoke(app, ["schema", "-o", str(target)]).exit_code == 0  # ours: replaced
    mine = tmp_path / "mine.json"
    mine.write_text("{}")
    result = runner.invoke(app, ["schema", "-o", str(mine)])
    assert result.exit_code == 1 and mine.read_text() == "{}"
