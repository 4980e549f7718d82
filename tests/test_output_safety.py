"""Output folders: one clinic's leaflets are never replaced by another's, a build never
writes into the clinic folder, handouts recognises its own files whatever the template,
and interrupted or killed builds leave only complete PDFs (issue 9, items 7, 8 and 10)."""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from handouts.build import Selection, plan, run
from handouts.cli import app
from handouts.content import Library
from handouts.errors import UserError
from handouts.output import MARKER, RECORD
from handouts.paths import clinics_dir, content_dir, templates_dir

from .conftest import TREATMENT, replace_in

runner = CliRunner()
SUMMARY = f"{TREATMENT}-summary-a4.pdf"  # one page: the quickest leaflet to build


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def make_clinic(folder: Path, name: str, phone: str) -> Path:
    """A copy of the example clinic at `folder`, with its own name and phone number."""
    shutil.copytree(clinics_dir() / "riverside-dermatology", folder)
    replace_in(folder / "clinic.yaml", "name: Riverside Hospital", f"name: {name}")
    replace_in(folder / "clinic.yaml", "phone: 01632 960 123", f"phone: {phone}")
    return folder


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(path).pages).split())


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def record_of(clinic_output: Path) -> dict:
    return json.loads((clinic_output / RECORD).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- item 7


def test_two_clinics_with_the_same_folder_name_never_replace_each_other(tmp_path):
    north = make_clinic(tmp_path / "north" / "clinic", "North Clinic", "01632 960 111")
    south = make_clinic(tmp_path / "south" / "clinic", "South Clinic", "01632 960 999")
    out = tmp_path / "output"
    first = invoke("build", TREATMENT, "-s", "summary", "-c", north, "-o", out)
    assert first.exit_code == 0, first.output
    leaflet = out / "clinic" / "en-GB" / SUMMARY  # the usual path: output/<folder name>/...
    assert str(leaflet) in first.stdout
    before = files_in(out)
    assert record_of(out / "clinic")["clinic"] == {"folder": str(north), "name": "North Clinic"}

    second = invoke("build", TREATMENT, "-s", "summary", "-c", south, "-o", out)
    assert second.exit_code == 1
    message = " ".join(second.stderr.split())
    assert "Traceback" not in second.output
    assert f"{out / 'clinic'} holds the leaflets of 'North Clinic' (clinic folder {north})" in (
        message
    )
    assert f"not of 'South Clinic' (clinic folder {south})" in message
    assert "Choose another output folder with --out, or rename one of the two" in message
    assert files_in(out) == before  # nothing replaced, nothing added
    text = pdf_text(leaflet)
    assert "North Clinic" in text and "01632 960 111" in text and "South" not in text

    # What the message says to do works.
    elsewhere = invoke(
        "build", TREATMENT, "-s", "summary", "-c", south, "-o", tmp_path / "south-out"
    )
    assert elsewhere.exit_code == 0, elsewhere.output
    assert "01632 960 999" in pdf_text(tmp_path / "south-out" / "clinic" / "en-GB" / SUMMARY)


def test_a_clinic_folder_named_like_a_built_in_clinic_cannot_replace_its_leaflets(tmp_path):
    out = tmp_path / "output"
    assert invoke("build", TREATMENT, "-s", "summary", "-o", out).exit_code == 0
    assert record_of(out / "neutral")["clinic"] == {"built_in": "neutral", "name": None}
    before = files_in(out)
    mine = make_clinic(tmp_path / "mine" / "neutral", "Neutral Street Clinic", "01632 960 222")
    result = invoke("build", TREATMENT, "-s", "summary", "-c", mine, "-o", out)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "holds the leaflets of the clinic 'neutral' that comes with handouts" in message
    assert f"not of 'Neutral Street Clinic' (clinic folder {mine})" in message
    assert files_in(out) == before


def test_two_clinics_in_one_run_are_refused_before_anything_is_written(tmp_path):
    library = Library(content_dir())
    out = tmp_path / "output"
    jobs = []
    for side in ("north", "south"):
        folder = make_clinic(tmp_path / side / "clinic", f"{side} clinic", "01632 960 333")
        jobs += plan(
            library, Selection([TREATMENT], style="summary", clinic=str(folder), out_dir=out)
        )
    with pytest.raises(UserError, match="rename one of the two clinic folders"):
        run(library, jobs)
    assert not out.exists()


def test_a_moved_clinic_folder_keeps_its_output_folder_and_a_different_one_is_told_what_to_do(
    tmp_path,
):
    old = make_clinic(tmp_path / "old" / "clinic", "Moving Clinic", "01632 960 444")
    out = tmp_path / "output"
    assert invoke("build", TREATMENT, "-s", "summary", "-c", old, "-o", out).exit_code == 0
    new = tmp_path / "new" / "clinic"
    new.parent.mkdir()
    old.rename(new)
    moved = invoke("build", TREATMENT, "-s", "summary", "-c", new, "-o", out)
    assert moved.exit_code == 0, moved.output
    assert record_of(out / "clinic")["clinic"]["folder"] == str(new)

    # Gone from where it was, and renamed too: handouts cannot tell, so it asks.
    other = tmp_path / "other" / "clinic"
    other.parent.mkdir()
    new.rename(other)
    replace_in(other / "clinic.yaml", "name: Moving Clinic", "name: Renamed Clinic")
    result = invoke("build", TREATMENT, "-s", "summary", "-c", other, "-o", out)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert f"If {new} was moved to {other}, delete {out / 'clinic' / RECORD}" in message


def test_a_damaged_record_is_a_clear_error(tmp_path):
    out = tmp_path / "output"
    (out / "neutral").mkdir(parents=True)
    (out / "neutral" / RECORD).write_text("{not json")
    result = invoke("build", TREATMENT, "-s", "summary", "-o", out)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.split())
    assert f"{out / 'neutral' / RECORD} is damaged" in message
    assert "delete the file and build again" in message
    assert not (out / "neutral" / "en-GB").exists()


def test_building_from_inside_the_clinic_folder_never_writes_into_it(clinic_copy, monkeypatch):
    monkeypatch.chdir(clinic_copy)
    before = files_in(clinic_copy)
    refused = invoke("build", TREATMENT, "-s", "summary", "--clinic", ".")  # default --out output
    assert refused.exit_code == 1
    message = " ".join(refused.stderr.split())
    assert "Traceback" not in refused.output
    assert f"the output folder {clinic_copy / 'output' / 'my-clinic'} is inside" in message
    assert f"the clinic folder {clinic_copy}." in message
    suggested = clinic_copy.parent / "output"
    assert f"--out {suggested}" in message
    assert files_in(clinic_copy) == before and not (clinic_copy / "output").exists()

    # An explicit --out inside it is refused too, and so is the folder above it, where
    # <out>/<clinic folder name> is the clinic folder itself; the suggested one works.
    for out in ("leaflets", ".."):
        inside = invoke("build", TREATMENT, "-s", "summary", "-c", ".", "-o", out)
        assert inside.exit_code == 1 and "not written inside a clinic folder" in inside.stderr
    done = invoke("build", TREATMENT, "-s", "summary", "-c", ".", "-o", suggested)
    assert done.exit_code == 0, done.output
    assert (suggested / "my-clinic" / "en-GB" / SUMMARY).is_file()
    assert files_in(clinic_copy) == before


# --------------------------------------------------------------------------- item 10


def test_handouts_replaces_its_own_pdf_even_when_the_template_drops_the_generator_meta(
    clinic_copy, tmp_path
):
    base = (templates_dir() / "base.html").read_text(encoding="utf-8")
    meta = '<meta name="generator" content="{{ generator }}">\n'
    assert meta in base
    (clinic_copy / "templates").mkdir(exist_ok=True)
    (clinic_copy / "templates" / "base.html").write_text(base.replace(meta, ""))
    out = tmp_path / "output"
    first = invoke("build", TREATMENT, "-s", "summary", "-c", clinic_copy, "-o", out)
    assert first.exit_code == 0, first.output
    leaflet = out / "my-clinic" / "en-GB" / SUMMARY
    creator = (pypdf.PdfReader(leaflet).metadata or {}).get("/Creator")
    assert not str(creator or "").startswith("handouts"), "the generator meta is still there"
    assert MARKER not in leaflet.read_bytes()
    recorded = record_of(out / "my-clinic")["leaflets"][f"en-GB/{SUMMARY}"]
    assert recorded == __import__("hashlib").sha256(leaflet.read_bytes()).hexdigest()

    second = invoke("build", TREATMENT, "-s", "summary", "-c", clinic_copy, "-o", out)
    assert second.exit_code == 0, second.output

    # Changed by someone else since: no longer handouts' own, so it is left alone.
    edited = leaflet.read_bytes() + b"\n% annotated by hand\n"
    leaflet.write_bytes(edited)
    third = invoke("build", TREATMENT, "-s", "summary", "-c", clinic_copy, "-o", out)
    assert third.exit_code == 1
    assert "was not made by handouts" in third.stderr
    assert leaflet.read_bytes() == edited


# --------------------------------------------------------------------------- item 8


def test_stale_part_files_of_earlier_runs_are_removed_and_nothing_else(tmp_path):
    out = tmp_path / "output"
    lang = out / "neutral" / "en-GB"
    lang.mkdir(parents=True)

    def left_by_a_killed_run(final: Path) -> Path:  # named as handouts names them
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
        os.close(fd)
        return Path(name)

    ours = [
        left_by_a_killed_run(lang / SUMMARY),  # the leaflet this build writes
        left_by_a_killed_run(lang / "silicone-gel-standard-letter.pdf"),  # another one
        left_by_a_killed_run(out / "neutral" / RECORD),  # the record, being replaced
    ]
    not_ours = [
        lang / "notes.part",
        lang / f".{SUMMARY}.part",
        lang / f".{SUMMARY}.ABCDEFGH.part",
        lang / f".{SUMMARY}.abcdefgh.part.bak",
        lang / ".notes.txt.abcdefgh.part",
        lang / f"{SUMMARY}.abcdefgh.part",
        out / "neutral" / f"{RECORD}.abcdefgh.part",
        out / "neutral" / "en-US" / f".{SUMMARY}.abcdefgh.part",  # a folder this build skips
    ]
    for path in ours + not_ours:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.7 half a leaflet")
    (lang / ".dir.pdf.abcdefgh.part").mkdir()
    gone = {"en-GB/silicone-gel-standard-a4.pdf": "0" * 64, "en-US/kept.pdf": "1" * 64}
    (out / "neutral" / RECORD).write_text(
        json.dumps({"clinic": {"built_in": "neutral", "name": None}, "leaflets": gone})
    )
    (lang / ".link.pdf.abcdefgh.part").symlink_to(not_ours[0])
    result = invoke("build", TREATMENT, "-s", "summary", "-o", out)
    assert result.exit_code == 0, result.output
    assert [p for p in ours if p.exists()] == []
    assert [p for p in not_ours if not p.exists()] == []
    assert (lang / ".dir.pdf.abcdefgh.part").is_dir()
    assert (lang / ".link.pdf.abcdefgh.part").is_symlink()
    # The record forgets a leaflet that is gone from a folder this build wrote to.
    recorded = record_of(out / "neutral")["leaflets"]
    assert set(recorded) == {"en-US/kept.pdf", f"en-GB/{SUMMARY}"}


def test_a_part_file_of_a_build_still_running_is_left_alone(tmp_path):
    """A build holds a shared lock on each folder it writes to; the clean-up needs it
    exclusively, so another build's file being written is not taken from under it."""
    lang = tmp_path / "output" / "neutral" / "en-GB"
    lang.mkdir(parents=True)
    live = lang / f".{SUMMARY}.live0000.part"
    live.write_bytes(b"%PDF-1.7 being written")
    fd = os.open(lang, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # as a running build does
        result = invoke("build", TREATMENT, "-s", "summary", "-o", tmp_path / "output")
        assert result.exit_code == 0, result.output
        assert live.exists()
    finally:
        os.close(fd)
    again = invoke("build", TREATMENT, "-s", "summary", "-o", tmp_path / "output")
    assert again.exit_code == 0, again.output
    assert not live.exists()


def check_only_complete_pdfs(out: Path) -> list[Path]:
    """Every file at a leaflet's name is a whole PDF; anything else is hidden and is either
    the record (always whole) or one of handouts' temporary files."""
    pdfs = []
    for path in sorted(out.rglob("*")):
        if path.is_dir():
            continue
        if path.name == RECORD:
            json.loads(path.read_text(encoding="utf-8"))
        elif path.name.startswith("."):
            assert re.fullmatch(r"\..+\.(pdf|json)\.[a-z0-9_]{8}\.part", path.name), path
        else:
            assert path.suffix == ".pdf", path
            data = path.read_bytes()
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), path
            reader = pypdf.PdfReader(path, strict=True)
            assert len(reader.pages) == 1 and "call" in reader.pages[0].extract_text()
            pdfs.append(path)
    return pdfs


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "output"
    # The Harbour clinic has its own fonts, so WeasyPrint makes a temporary font folder.
    command = [sys.executable, "-m", "handouts", "build", "--all", "-c", "harbour-skin-clinic"]
    process = subprocess.Popen(
        [*command, "-o", str(out)],
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()  # the first leaflet is written
        assert first.endswith("pages)\n"), first + process.stderr.read()
        assert [p.name[:11] for p in temp.iterdir()] == ["weasyprint-"]
        time.sleep(random.uniform(0, 0.5))
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, errors
    assert "Interrupted." in errors and "Traceback" not in errors
    assert list(temp.iterdir()) == []  # the font folder went with the renderer
    written = [Path(line.split("  (")[0]) for line in (first + rest).splitlines()]
    assert 1 <= len(written) < len(Library(content_dir()).treatments())
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert files == sorted([*written, out / "harbour-skin-clinic" / RECORD])  # no .part
    for path in written:
        assert len(pypdf.PdfReader(path, strict=True).pages) >= 2


def kill_builds(out: Path, kills: int, seed: int) -> list[float]:
    """Build once, then kill `kills` builds at random moments from late in start-up
    (reading the content) to the end of the build, each replacing the PDFs of the builds
    before it; check after each that only complete PDFs are at their names; then build
    again. A build that finishes before its moment does not count, and the next moments
    come earlier. Returns the moments of the kills."""
    command = [sys.executable, "-m", "handouts", "build", TREATMENT, "silicone-gel"]
    command += ["-s", "summary", "-o", str(out)]
    started = time.monotonic()
    reference = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_written = reference.stdout.readline() and time.monotonic() - started
    assert reference.wait(timeout=120) == 0, reference.stderr.read()
    took = time.monotonic() - started
    reference.stdout.close()
    reference.stderr.close()
    assert len(check_only_complete_pdfs(out)) == 2

    rng = random.Random(seed)
    earliest, latest = 0.6 * first_written, took
    killed: list[float] = []
    for trial in range(3 * kills):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moment = rng.uniform(earliest, latest)
        time.sleep(moment)
        process.kill()
        if process.wait(timeout=60) == -signal.SIGKILL:
            killed.append(round(moment, 2))
        else:
            assert process.returncode == 0, f"trial {trial} (seed {seed})"
            latest = 0.9 * moment  # builds run faster than the first one did
            earliest = min(earliest, 0.8 * latest)
        try:
            check_only_complete_pdfs(out)
        except AssertionError as exc:
            raise AssertionError(f"trial {trial} (seed {seed}): {exc}") from None
        if len(killed) == kills:
            break
    assert len(killed) == kills, f"only {len(killed)} of {3 * kills} builds were killed in time"

    final = subprocess.run(command, capture_output=True, text=True, check=False)
    assert final.returncode == 0, final.stderr
    assert len(check_only_complete_pdfs(out)) == 2
    assert not [p for p in out.rglob("*.part")], "a leftover of a killed build is still there"
    return killed


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_only_complete_pdfs(tmp_path):
    """Ten kills in all, in two output folders side by side (the machine has two cores)."""
    seed = random.randrange(10**6)
    with ThreadPoolExecutor(2) as pool:
        lanes = [pool.submit(kill_builds, tmp_path / f"output-{i}", 5, seed + i) for i in (0, 1)]
        moments = [lane.result() for lane in lanes]
    assert sum(len(m) for m in moments) == 10
