"""YAML that must neither hang nor confuse (issue 9, items 3, 11 and 12).

- Limits: size, anchors and aliases, number of values, nesting depth, long numbers, each
  refused with `file:line: message` in seconds, before the file is turned into objects.
- Content authors' traps: `- **Do not** ...` is text, a mistake in references.yaml is
  reported once and the leaflets are still checked, `handouts list` survives a broken leaflet.
- Messages: an unquoted `#colour` or number, patterns in words, a non-UTF-8 file's line,
  dates that do not exist.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from handouts.cli import app
from handouts.clinic import load_clinic
from handouts.content import Library
from handouts.errors import ContentError
from handouts.paths import clinics_dir, content_dir
from handouts.yamlfile import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_VALUES, load_yaml

from .conftest import TREATMENT, build_one, replace_in

runner = CliRunner()
# Each refusal below takes well under 2 s on its own (a few ms for most); before the limits
# they ran for minutes or never ended. The bounds leave room for a busy test machine.
SECONDS = 10
COMMAND_SECONDS = 60  # a whole `check` or `build`: only a guard against a hang


@contextmanager
def within(seconds: float = SECONDS) -> Iterator[None]:
    """Fail (rather than hang) if the block takes longer than `seconds`."""

    def too_slow(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def invoke(*args):
    with within(COMMAND_SECONDS):
        return runner.invoke(app, [str(a) for a in args])


def leaflet(content: Path, treatment: str = TREATMENT) -> Path:
    return content / "treatments" / treatment / "en.yaml"


def billion_laughs(indent: str = "") -> str:
    """The classic alias bomb: 2.8 KB that expands to 10**9 strings."""
    lines = [f'{indent}lol0: &lol0 "lol lol lol lol lol lol lol lol lol lol"']
    for i in range(1, 10):
        lines.append(f"{indent}lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def problems_of(path: Path) -> list:
    with within(), pytest.raises(ContentError) as info:
        load_yaml(path)
    return info.value.problems


# --------------------------------------------------------------------------- item 3: limits


def test_alias_bomb_in_clinic_yaml_is_refused_by_check_and_build(clinic_copy, tmp_path):
    brand = clinic_copy / "clinic.yaml"
    text = brand.read_text(encoding="utf-8")
    line = text.count("\n") + 1
    brand.write_text(text + "bomb:\n" + billion_laughs("  "), encoding="utf-8")
    assert len(billion_laughs("  ")) < 2800

    started = time.monotonic()
    [problem] = problems_of(brand)
    assert time.monotonic() - started < 1
    assert (problem.line, problem.field) == (line + 1, "")
    for args in (
        ("check", "--clinic", clinic_copy),
        ("build", TREATMENT, "--clinic", clinic_copy, "--out", tmp_path / "out"),
    ):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert f"{brand}:{line + 1}: '&' here starts a YAML anchor" in result.stderr
        assert "write each value out in full" in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.pdf"))


def test_alias_bomb_in_a_leaflet_is_refused(content_copy):
    path = leaflet(content_copy)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "extra:\n" + billion_laughs("  "), encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.line == text.count("\n") + 2
    assert "anchor" in problem.message
    result = invoke("check", "--content", content_copy, "--clinic", "neutral")
    assert result.exit_code == 1
    assert f"Error: {path}:{problem.line}: '&' here starts a YAML anchor" in result.stderr
    assert "Checked 14 leaflets" in result.stderr  # the other leaflets are still checked


def test_a_52_mb_clinic_yaml_is_refused_at_once(clinic_copy, tmp_path):
    brand = clinic_copy / "clinic.yaml"
    filler = "# " + "x" * 97 + "\n"  # 100 bytes
    brand.write_text(brand.read_text(encoding="utf-8") + filler * 520_000, encoding="utf-8")
    assert brand.stat().st_size > 52_000_000
    started = time.monotonic()
    [problem] = problems_of(brand)
    assert time.monotonic() - started < 1
    assert problem.line is None and problem.message.startswith("is too big (52 MB)")
    result = invoke("check", "--clinic", clinic_copy)
    assert result.exit_code == 1
    assert (
        f"Error: {brand}: is too big (52 MB); a handouts YAML file may be at most 1 MB"
        in result.stderr
    )
    assert "Traceback" not in result.output


def test_just_under_the_size_limit_but_too_many_values(tmp_path):
    path = tmp_path / "clinic.yaml"
    path.write_text("values: [" + ",".join(["1"] * 495_000) + "]\n", encoding="utf-8")
    assert MAX_YAML_BYTES - 20_000 < path.stat().st_size < MAX_YAML_BYTES
    started = time.monotonic()
    [problem] = problems_of(path)
    assert time.monotonic() - started < SECONDS  # about 1.5 s; reading it all took 40 s
    assert problem.line == 1
    assert f"has more than {MAX_YAML_VALUES:,} values" in problem.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("deep: " + "[" * 200_000 + "]" * 200_000 + "\n", 1),
        ("".join(" " * i + f"level{i}:\n" for i in range(60)) + " " * 60 + "end: 1\n", 40),
        ("top:\n" + "".join("  " * i + "- \n" for i in range(1, 60)), 41),
    ],
    ids=["brackets", "mappings", "lists"],
)
def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path, text, line):
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.line == line
    assert f"is nested more than {MAX_YAML_DEPTH} levels deep" in problem.message


def test_a_very_long_number_is_refused_with_its_line(tmp_path):
    path = tmp_path / "clinic.yaml"
    path.write_text("meta:\n  name: " + "9" * 5000 + "\n", encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.line == 2
    assert "number more than 4,000 digits long" in problem.message
    assert "put it in quotes" in problem.message


def test_special_files_are_not_read(tmp_path):
    """A clinic.yaml that is a device or a folder: refused, never read forever."""
    fake = tmp_path / "clinic.yaml"
    fake.symlink_to("/dev/zero")
    [problem] = problems_of(fake)
    assert problem.message == "is not an ordinary file (it is a folder or a device)"


def test_the_limits_leave_the_bundled_files_plenty_of_room():
    files = [*content_dir().rglob("*.yaml"), *clinics_dir().glob("*/clinic.yaml")]
    assert len(files) > 15
    for path in files:
        assert path.stat().st_size < MAX_YAML_BYTES / 20, path
        load_yaml(path)  # no anchors, not too deep, not too many values


# --------------------------------------------------------------------------- item 11


def test_a_point_that_starts_with_bold_text_is_text(content_copy, tmp_path):
    path = leaflet(content_copy)
    replace_in(path, "  - text: Do not pick or scratch", "  - text: **Do not** pick or scratch")
    replace_in(path, "  - Go to your next appointment", "  - **Go** to your next appointment")
    handout = Library(content_copy).handout(TREATMENT, "en")
    assert handout.aftercare[0].text == "**Do not** pick or scratch the scar."
    assert handout.aftercare[-1].text.startswith("**Go** to your next appointment")

    built = build_one(tmp_path / "out", content=content_copy)
    text = built.text()
    assert "Do not pick or scratch the scar." in text
    assert "Go to your next appointment" in text
    assert "**" not in text
    with pdfplumber.open(built.path) as pdf:
        for page in pdf.pages:
            words = page.extract_words(extra_attrs=["fontname"])
            for i, word in enumerate(words[:-2]):
                if [w["text"] for w in words[i : i + 3]] == ["Do", "not", "pick"]:
                    assert "Bold" in word["fontname"] and "Bold" not in words[i + 2]["fontname"]
                    return
    raise AssertionError("'Do not pick' not found in the PDF")


def test_an_anchor_is_refused_and_says_how_to_fix_it(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "  - Go to your next appointment", "  - &Go to your next appointment")
    [problem] = problems_of(path)
    assert (problem.path, problem.line) == (path, line)
    assert "anchor" in problem.message and "put it in quotes" in problem.message


def test_a_mistake_in_references_yaml_is_reported_once_and_leaflets_are_still_checked(
    content_copy,
):
    refs = content_copy / "references.yaml"
    line = replace_in(
        refs, '    short: "NHS. Scars: treatment"', '    shrt: "NHS. Scars: treatment"'
    )
    # a leaflet that cites a key that does not exist is still found
    cited = replace_in(leaflet(content_copy), "refs: [RF, NHS]", "refs: [RF, NHZ]")
    result = invoke("check", "--content", content_copy, "--clinic", "neutral")
    assert result.exit_code == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert (
        errors.count(
            f"Error: {refs}:{line}: references.NHS.shrt: is not a field that handouts knows; "
            "did you mean 'short'?"
        )
        == 1
    )
    assert len(errors) == len(set(errors)) == 3  # shrt, the missing 'short', and NHZ
    assert any(f"{leaflet(content_copy)}:{cited}:" in e and "'NHZ'" in e for e in errors)
    assert "Checked 14 leaflets" in result.stderr  # all but the one citing NHZ
    assert "3 errors" in result.stderr

    listed = invoke("list", "--content", content_copy)
    assert listed.exit_code == 1
    assert f"Broken: references.yaml: {refs}:" in listed.stderr
    assert f"Broken: {TREATMENT} (en): " in listed.stderr and "'NHZ'" in listed.stderr
    assert "2 files have mistakes and cannot be used until they are fixed" in listed.stderr
    assert "Types of scars  [en v1.1]" in listed.stdout


def test_a_broken_locales_file_is_reported_once(content_copy):
    us = content_copy / "locales" / "en-US.yaml"
    us.write_text(us.read_text(encoding="utf-8") + "\nnot_a_field: 1\n", encoding="utf-8")
    result = invoke("check", "--content", content_copy, "--clinic", "neutral")
    assert result.exit_code == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(errors) == 1 and "not_a_field: is not a field" in errors[0]
    assert "Checked 15 leaflets" in result.stderr


def test_list_shows_what_is_fine_and_marks_what_is_broken(full_content_copy):
    path = leaflet(full_content_copy, "laser")
    line = replace_in(path, "\nsubtitle:", "\nsubtitel:") + 1
    result = invoke("list", "--content", full_content_copy)
    # Exit 1: a leaflet cannot be built until it is fixed; scripts must not miss that.
    assert result.exit_code == 1
    assert "Steroid injections for raised scars  [ar v1.1, en v1.1," in result.stdout
    # The English is broken, and with it every translation made from it.
    assert "laser" in result.stdout and "[ar BROKEN, en BROKEN," in result.stdout
    assert "Styles:" in result.stdout and "Clinics:" in result.stdout
    assert f"Broken: laser (en): {path}:{line}: subtitel: is not a field" in result.stderr
    assert (
        "1 file has mistakes and cannot be used until it is fixed; run 'handouts check' to see "
        "every problem." in result.stderr
    )
    assert "Traceback" not in result.output

    as_json = invoke("list", "--content", full_content_copy, "--json")
    assert as_json.exit_code == 1
    info = json.loads(as_json.stdout)
    by_id = {t["id"]: t for t in info["treatments"]}
    assert len(by_id) == 15
    assert by_id["laser"]["broken"] == ["ar", "en", "es", "fr", "pt", "vi", "zh-Hans"]
    assert by_id["laser"]["titles"] == {}
    assert by_id[TREATMENT]["titles"]["en"] == "Steroid injections for raised scars"
    [broken] = info["broken"]
    assert broken["treatment"] == "laser" and f":{line}: subtitel" in broken["problem"]


# --------------------------------------------------------------------------- item 12


def clinic_errors(clinic: Path) -> list[str]:
    """The problems `handouts check --clinic` and `build --clinic` print, as they print them."""
    with within(), pytest.raises(ContentError) as info:
        load_clinic(str(clinic))
    return [f"Error: {problem}" for problem in info.value.problems]


def test_unquoted_colour_and_numbers_say_what_yaml_did_and_how_to_fix_it(clinic_copy):
    brand = clinic_copy / "clinic.yaml"
    colour = replace_in(brand, 'primary: "#00665e"', "primary: #00665e")
    number = replace_in(brand, 'emergency_number: "999"', "emergency_number: 999")
    phone = replace_in(brand, "phone: 01632 960 123", "phone: 01632960123")
    errors = clinic_errors(clinic_copy)
    assert (
        f"Error: {brand}:{colour}: color.primary: is empty, because in YAML a # starts a "
        "comment, so '#00665e' was ignored. Keep it by putting it in quotes: "
        'primary: "#00665e"'
    ) in errors
    assert (
        f"Error: {brand}:{number}: contact.emergency_number: YAML reads 999 as a number, not "
        'text; put it in quotes: emergency_number: "999"'
    ) in errors
    [lost] = [e for e in errors if f":{phone}: contact.phone:" in e]
    assert 'put it in quotes: phone: "01632960123"' in lost
    assert "the first 0 is lost" in lost


def test_patterns_are_said_in_words(clinic_copy):
    brand = clinic_copy / "clinic.yaml"
    number = replace_in(brand, 'emergency_number: "999"', 'emergency_number: "99 9"')
    language = replace_in(brand, "language: en-GB", "language: English")
    errors = clinic_errors(clinic_copy)
    assert any(
        f":{number}: contact.emergency_number: should be the emergency number" in e for e in errors
    )
    assert any(
        f":{language}: defaults.language: should be a language code like en" in e for e in errors
    )
    for error in errors:
        assert "should match" not in error and "[0-9]" not in error and "$" not in error, error


def test_a_latin_1_file_names_the_line(content_copy):
    path = leaflet(content_copy)
    text = path.read_text(encoding="utf-8")
    line = replace_in(path, "Triamcinolone injections", "Triamcinolone injections (café)")
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    assert text  # the original was UTF-8
    [problem] = problems_of(path)
    assert problem.line == line
    assert "is not saved as UTF-8" in problem.message and "Latin-1" in problem.message
    assert "byte 0xe9" in problem.message and "Save the file as UTF-8" in problem.message


def test_a_control_character_names_the_line(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "Triamcinolone injections", "Triamcinolone\x00injections")
    [problem] = problems_of(path)
    assert problem.line == line and "U+0000" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "last_reviewed: 2026-11-23",
            "last_reviewed: 2027-02-29",
            "review.last_reviewed",
            "there is no 29 February 2027 (2027-02-29): February 2027 has 28 days",
        ),
        (
            "next_review: 2027-11-23",
            "next_review: 2027-13-01",
            "review.next_review",
            "there is no month 13 (in 2027-13-01)",
        ),
    ],
)
def test_a_date_that_does_not_exist_is_a_message_not_a_traceback(
    content_copy, tmp_path, old, new, field, message
):
    path = leaflet(content_copy)
    line = replace_in(path, old, new)
    result = invoke("build", TREATMENT, "--content", content_copy, "--out", tmp_path)
    assert result.exit_code == 1
    assert f"Error: 1 problem found:\n  {path}:{line}: {field}: {message}" in result.stderr
    assert "Traceback" not in result.output and not list(tmp_path.rglob("*.pdf"))


def test_an_impossible_date_in_clinic_yaml(clinic_copy, tmp_path):
    brand = clinic_copy / "clinic.yaml"
    line = replace_in(brand, "department: Dermatology and Scar Clinic", "department: 2026-02-30")
    message = (
        f"{brand}:{line}: meta.department: there is no 30 February 2026 (2026-02-30): "
        "February 2026 has 28 days. Check the date"
    )
    assert clinic_errors(clinic_copy) == [f"Error: {message}"]
    for args in (["check"], ["build", TREATMENT, "--out", tmp_path]):
        result = invoke(*args, "--clinic", clinic_copy)
        assert result.exit_code == 1 and message in result.stderr
        assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("*.pdf"))


def test_a_colon_inside_text_says_to_add_quotes(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "  - text: Do not pick", "  - text: Note: do not pick")
    [problem] = problems_of(path)
    assert problem.line == line
    assert "a colon and a space (': ') inside text" in problem.message
    assert "put the whole text in quotes" in problem.message

    replace_in(path, "  - text: Note: do not pick", "  - text: Do not pick")
    line = replace_in(path, "  - Go to your next", "  - Note: go to your next")
    with pytest.raises(ContentError) as info:
        Library(content_copy).handout(TREATMENT, "en")
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (line, "aftercare (item 5)")
    assert problem.message == (
        "YAML read this text as a 'name: value' line, because of the colon and space in it; "
        'put the whole text in quotes: - "Note: go to your next appointment, even if the scar '
        'looks better."'
    )
