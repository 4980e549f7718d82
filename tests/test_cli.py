"""The command line: what a clinic's staff member sees."""

from __future__ import annotations

import json
import subprocess
import sys

import pypdf
import pytest
from typer.testing import CliRunner

from handouts.cli import app

from .conftest import TREATMENT, replace_in

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_list_shows_treatments_languages_styles_and_clinics():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert "steroid-injections" in result.stdout
    assert "Steroid injections for raised scars" in result.stdout
    assert "standard" in result.stdout
    assert "riverside-dermatology" in result.stdout and "neutral" in result.stdout
    assert "en (English)" in result.stdout


def test_list_json():
    result = invoke("list", "--json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    by_id = {t["id"]: t for t in info["treatments"]}
    assert by_id[TREATMENT]["titles"]["en"] == "Steroid injections for raised scars"
    assert info["languages"] == {
        "ar": "العربية",
        "en": "English",
        "es": "Español",
        "fr": "Français",
        "pt": "Português",
        "vi": "Tiếng Việt",
        "zh-Hans": "简体中文",
    }
    assert "standard" in info["styles"]
    assert {"neutral", "riverside-dermatology", "harbour-skin-clinic"} <= set(info["clinics"])


def test_build_json_report(tmp_path):
    result = invoke(
        "build",
        TREATMENT,
        "-c",
        "riverside-dermatology",
        "--paper",
        "letter",
        "-o",
        tmp_path,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert report["treatment"] == TREATMENT
    assert (report["lang"], report["style"], report["clinic"], report["paper"]) == (
        "en-GB",
        "standard",
        "riverside-dermatology",
        "letter",
    )
    path = tmp_path / "riverside-dermatology" / "en-GB" / f"{TREATMENT}-standard-letter.pdf"
    assert report["path"] == str(path)
    assert report["pages"] == len(pypdf.PdfReader(path).pages)


def test_build_prints_the_path(tmp_path):
    result = invoke("build", TREATMENT, "-o", tmp_path)
    assert result.exit_code == 0
    path = tmp_path / "neutral" / "en-GB" / f"{TREATMENT}-standard-a4.pdf"
    assert str(path) in result.stdout
    assert path.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["steroid-injection"], "Did you mean 'steroid-injections'?"),
        ([TREATMENT, "-l", "xx"], "Available: ar, en, es, fr, pt, vi, zh-Hans"),
        ([TREATMENT, "-s", "standrd"], "Did you mean 'standard'?"),
        ([TREATMENT, "-c", "riverside"], "Available: harbour-skin-clinic, neutral, riverside-"),
        ([TREATMENT, "--paper", "a5"], "Available: a4, letter"),
    ],
)
def test_unknown_names_exit_2_with_suggestions(tmp_path, args, expected):
    result = invoke("build", *args, "-o", tmp_path)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1  # one line
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_content_errors_exit_1_with_file_and_line_and_write_nothing(tmp_path, content_copy):
    path = content_copy / "treatments" / TREATMENT / "en.yaml"
    line = replace_in(path, "\nsubtitle:", "\nsubtitel:") + 1
    out = tmp_path / "out"
    result = invoke("build", TREATMENT, "--content", content_copy, "-o", out)
    assert result.exit_code == 1
    assert f"{path}:{line}: subtitel: is not a field that handouts knows" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_file_handouts_did_not_make_is_never_overwritten(tmp_path):
    target = tmp_path / "neutral" / "en-GB" / f"{TREATMENT}-standard-a4.pdf"
    target.parent.mkdir(parents=True)
    target.write_text("my own notes")
    result = invoke("build", TREATMENT, "-o", tmp_path)
    assert result.exit_code == 1
    assert "was not made by handouts" in result.stderr
    assert target.read_text() == "my own notes"


def test_a_handouts_pdf_is_replaced(tmp_path):
    assert invoke("build", TREATMENT, "-o", tmp_path).exit_code == 0
    again = invoke("build", TREATMENT, "-o", tmp_path)
    assert again.exit_code == 0, again.stderr
    leftovers = [p.name for p in (tmp_path / "neutral" / "en-GB").iterdir()]
    assert leftovers == [f"{TREATMENT}-standard-a4.pdf"]


def test_not_a_content_folder(tmp_path):
    result = invoke("build", TREATMENT, "--content", tmp_path)
    assert result.exit_code == 1
    assert "is not a content folder" in result.stderr


def test_names_and_all_together_are_refused(tmp_path):
    result = invoke("build", TREATMENT, "--all", "-o", tmp_path)
    assert result.exit_code == 1
    assert "not both" in result.stderr


def test_nothing_to_build(tmp_path):
    result = invoke("build", "-o", tmp_path)
    assert result.exit_code == 1
    assert "--all" in result.stderr


def test_python_dash_m_works_like_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "handouts", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(invoke("list", "--json").stdout)


def test_help_speaks_to_clinic_staff():
    result = invoke("build", "--help")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "path to your clinic folder" in flat
    assert '"Prepared for you" box and nowhere else' in flat
