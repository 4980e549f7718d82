"""Faults while writing leaflets (issue 9, "Hardening": tests beyond the list, faults).

A read-only output folder, a folder without write permission, a full disk, a file size
limit, and two builds writing into one output folder at once. Each build must either
succeed or end with exit code 1 and a message in plain words (which file or folder,
why, what to do), and never leave half a PDF, or a temporary file, behind.

The read-only and full-disk tests mount a small tmpfs (or a read-only bind mount): that
needs root on a system that permits mounting, and where it is not permitted they are
skipped, saying why. The permission and file size limit tests need no mount. The
builds at once are held at the output folder's lock until both wait there (seen in
/proc/locks), so that they really do write at the same moment.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from handouts.cli import app
from handouts.content import Library
from handouts.output import RECORD, made_by_handouts
from handouts.paths import clinics_dir, content_dir

from .conftest import TREATMENT, replace_in

runner = CliRunner()
OTHER = "silicone-gel"
PAGE = 4096  # tmpfs counts space in pages


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def said(text: str) -> str:
    return " ".join(text.split())


def assert_plain(message: str) -> None:
    """A message for clinic staff: no traceback, no Python exception shown as it is."""
    for python in ("Traceback", "Errno", "OSError", "Error(", "errno"):
        assert python not in message, message


def leaflets_listed(stdout: str) -> list[Path]:
    """The leaflets a build says it wrote: one `<path>  (<n> pages)` line each."""
    return [Path(line.split("  (")[0]) for line in stdout.splitlines() if line.strip()]


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_complete_pdf(path: Path, pages: int | None = None) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), path
    reader = pypdf.PdfReader(path, strict=True)
    assert len(reader.pages) > 0, path
    if pages is not None:
        assert len(reader.pages) == pages, path
    assert all(page.extract_text().strip() for page in reader.pages), path


def record_matches_files(clinic_output: Path) -> None:
    """The record names exactly the leaflets that are there, each with its SHA-256."""
    record = json.loads((clinic_output / RECORD).read_text(encoding="utf-8"))
    on_disk = {
        str(p.relative_to(clinic_output)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in clinic_output.glob("*/*.pdf")
    }
    assert record["leaflets"] == on_disk


# --------------------------------------------------------------------------- mounting


def _mount(*args: str) -> None:
    if os.name != "posix" or shutil.which("mount") is None:
        pytest.skip("needs the mount command (Linux)")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = said(done.stderr) or f"exit code {done.returncode}"
        pytest.skip(
            f"mounting a test file system is not permitted here ({reason}); "
            "this test needs root on a system that allows mount"
        )


def _unmount(target: Path) -> None:
    done = subprocess.run(["umount", str(target)], capture_output=True, check=False)
    if done.returncode != 0:  # still busy: detach it now, gone when no longer used
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@contextmanager
def tmpfs(target: Path, options: str) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", options, "tmpfs", str(target))
    try:
        yield target
    finally:
        _unmount(target)


@contextmanager
def bind_mount(source: Path, target: Path) -> Iterator[Path]:
    """`source` seen also at `target`; `remount(target, "bind,ro")` makes that view
    read-only (the usual way to test a read-only folder as root)."""
    source.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(target))
    try:
        yield target
    finally:
        _unmount(target)


def remount(target: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(target)], check=True)


# --------------------------------------------------------------------------- read-only


def test_a_read_only_output_folder_is_a_clear_error_and_nothing_is_written(tmp_path):
    with tmpfs(tmp_path / "disk", "ro,size=1m") as disk:
        out = disk / "leaflets"
        result = invoke("build", TREATMENT, "-s", "summary", "-o", out)
        assert result.exit_code == 1, result.output
        message = said(result.stderr)
        assert_plain(result.output)
        assert message.startswith(f"Error: Cannot create the folder {out / 'neutral'}: "), message
        assert f"{disk} is on a disk or share that can only be read, not written" in message
        assert f"Choose another output folder with --out, or have {disk} made writable." in message
        assert result.stdout == ""  # no leaflet claimed to be written
        assert list(disk.iterdir()) == []


def test_leaflets_in_a_folder_made_read_only_are_left_as_they_were(tmp_path):
    """A build into an output folder that already holds leaflets (the usual case), after
    it became read-only: refused at the first leaflet, every file exactly as it was;
    once the folder is writable again, the same build works."""
    out = tmp_path / "output"
    with bind_mount(out, tmp_path / "view") as view:
        first = invoke("build", TREATMENT, OTHER, "-s", "summary", "-o", view)
        assert first.exit_code == 0, first.output
        before = files_in(out)
        remount(view, "bind,ro")
        result = invoke("build", TREATMENT, OTHER, "-s", "summary", "-o", view)
        assert result.exit_code == 1, result.output
        message = said(result.stderr)
        assert_plain(result.output)
        lang = view / "neutral" / "en-GB"
        failed = {lang / f"{t}-summary-a4.pdf" for t in (TREATMENT, OTHER)}
        assert any(message.startswith(f"Error: Cannot write {p}: ") for p in failed), message
        assert f"{lang} is on a disk or share that can only be read, not written" in message
        assert f"Choose another output folder with --out, or have {lang} made writable" in message
        assert "Nothing half-written was left behind." in message
        assert result.stdout == ""
        assert files_in(view) == before

        remount(view, "bind,rw")  # what the message says to do
        again = invoke("build", TREATMENT, OTHER, "-s", "summary", "-o", view)
        assert again.exit_code == 0, again.output
    assert files_in(out) == before  # the same leaflets again, byte for byte
    record_matches_files(out / "neutral")


def without_root_powers(command: list[str]) -> list[str]:
    """`command` run so that folder permissions apply to it: as it is for a user; for
    root, without the power to override them (its other powers, and its files, stay)."""
    if os.geteuid() != 0:
        return command
    setpriv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    if (
        shutil.which("setpriv") is None
        or subprocess.run([*setpriv, "true"], check=False).returncode != 0
    ):
        pytest.skip("run as root, this test needs setpriv (util-linux) to honour permissions")
    return [*setpriv, *command]


def test_a_folder_without_write_permission_is_a_clear_error(tmp_path):
    """No mount needed: the language folder of earlier leaflets made read-only with chmod."""
    out = tmp_path / "output"
    first = invoke("build", TREATMENT, "-s", "summary", "-o", out)
    assert first.exit_code == 0, first.output
    before = files_in(out)
    lang = out / "neutral" / "en-GB"
    lang.chmod(0o555)
    try:
        command = [sys.executable, "-m", "handouts", "build", TREATMENT, "-s", "summary"]
        done = subprocess.run(
            without_root_powers([*command, "-o", str(out)]),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        lang.chmod(0o755)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_plain(done.stdout + done.stderr)
    assert done.stdout == ""
    leaflet = lang / f"{TREATMENT}-summary-a4.pdf"
    assert said(done.stderr) == (
        f"Error: Cannot write {leaflet}: you do not have permission to write in {lang}. "
        f"Choose another output folder with --out, or ask whoever looks after {lang} to let "
        "you write there. Nothing half-written was left behind."
    )
    assert files_in(out) == before


def test_an_output_folder_that_is_a_file_is_a_clear_error(tmp_path):
    """--out naming a file (or a folder inside one): refused before anything is made."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder\n")
    for out in (notes, notes / "leaflets"):
        result = invoke("build", TREATMENT, "-s", "summary", "-o", out)
        assert result.exit_code == 1, result.output
        assert_plain(result.output)
        assert said(result.stderr) == (
            f"Error: {notes} is a file, not a folder, so no leaflet can be written in it. "
            "Choose another output folder with --out, or move that file away."
        )
    assert notes.read_text() == "not a folder\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# --------------------------------------------------------------------------- full disk


def _pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


def test_a_full_disk_stops_the_build_and_keeps_only_complete_leaflets(tmp_path):
    """Room for the record and either leaflet, not both: the first leaflet written is
    complete, the second is not there at all (no partial PDF, no temporary file), the
    record names only what is there, and after freeing space the build works."""
    with tmpfs(tmp_path / "disk", "size=1m") as disk:
        # The leaflets' sizes (in the tmpfs's pages), from the same build on another disk.
        reference = tmp_path / "reference"
        made = invoke("build", TREATMENT, OTHER, "-s", "summary", "-o", reference)
        assert made.exit_code == 0, made.output
        expected = files_in(reference)
        pdfs = [len(data) for name, data in expected.items() if name.endswith(".pdf")]
        small, large = sorted(_pages(size) for size in pdfs)
        assert small > 2 * PAGE, "leaflets this small do not test a full disk"
        remount(disk, f"size={2 * PAGE + large + small // 2}")  # the record, and one leaflet

        result = invoke("build", TREATMENT, OTHER, "-s", "summary", "-o", disk)
        assert result.exit_code == 1, result.output
        assert_plain(result.output)
        lang = disk / "neutral" / "en-GB"
        written = leaflets_listed(result.stdout)
        assert len(written) == 1, result.stdout
        [failed] = {lang / f"{t}-summary-a4.pdf" for t in (TREATMENT, OTHER)} - set(written)
        message = said(result.stderr)
        assert message.startswith(f"Error: Cannot write {failed}: the disk is full "), message
        assert f"(no space left on the disk that holds {lang})" in message
        assert "Free some space on that disk, or choose another output folder with --out" in (
            message
        )
        assert "Nothing half-written was left behind." in message

        assert sorted(p for p in disk.rglob("*") if p.is_file()) == sorted(
            [*written, disk / "neutral" / RECORD]
        )  # no partial PDF, no .part file
        for path in written:
            assert_complete_pdf(path, pages=1)
            assert path.read_bytes() == expected[str(path.relative_to(disk))]
        record_matches_files(disk / "neutral")

        remount(disk, "size=1m")  # space freed: the same build now works
        again = invoke("build", TREATMENT, OTHER, "-s", "summary", "-o", disk)
        assert again.exit_code == 0, again.output
        assert files_in(disk) == expected


def test_a_disk_full_before_the_first_leaflet_names_the_leaflet(tmp_path):
    """Not even the record fits: the message is about the leaflet asked for (not about
    handouts' hidden record file), and the folder holds only what was there before."""
    with tmpfs(tmp_path / "disk", f"size={4 * PAGE}") as disk:
        filler = disk / "holiday-photos.jpg"
        filler.write_bytes(b"\0" * (4 * PAGE))
        result = invoke("build", TREATMENT, "-s", "summary", "-o", disk)
        assert result.exit_code == 1, result.output
        assert_plain(result.output)
        leaflet = disk / "neutral" / "en-GB" / f"{TREATMENT}-summary-a4.pdf"
        message = said(result.stderr)
        assert message.startswith(f"Error: Cannot write {leaflet}: the disk is full "), message
        assert RECORD not in message
        assert [p for p in disk.rglob("*") if p.is_file()] == [filler]


def _limit_file_size(limit: int):
    def limited() -> None:  # in the child, before handouts starts
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write fails with EFBIG

    return limited


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_file_size_limit_stops_the_build_and_leaves_earlier_leaflets_alone(tmp_path):
    """No mount needed: a limit on file size makes writing the leaflet fail (EFBIG) as a
    full disk would. The leaflet from an earlier build, and the record, stay as they were."""
    out = tmp_path / "output"
    first = invoke("build", TREATMENT, "-s", "summary", "-o", out)
    assert first.exit_code == 0, first.output
    before = files_in(out)
    limit = 8192  # the record fits; no leaflet does
    assert len(before[f"neutral/{RECORD}"]) < limit / 4
    assert all(len(data) > limit for name, data in before.items() if name.endswith(".pdf"))

    done = subprocess.run(
        [sys.executable, "-m", "handouts", "build", OTHER, "-s", "summary", "-o", str(out)],
        preexec_fn=_limit_file_size(limit),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert_plain(done.stdout + done.stderr)
    assert done.stdout == ""
    leaflet = out / "neutral" / "en-GB" / f"{OTHER}-summary-a4.pdf"
    message = said(done.stderr)
    assert message.startswith(f"Error: Cannot write {leaflet}: it is larger than "), message
    assert "(a file size limit is set)" in message
    assert "Ask whoever looks after this computer to raise or remove the limit." in message
    assert "Nothing half-written was left behind." in message
    assert files_in(out) == before  # no partial PDF, no .part, the record as it was


# --------------------------------------------------------------------------- at once


@dataclass
class Running:
    """A build running in a child process; when it wrote each line of its output."""

    process: subprocess.Popen
    lines: list[tuple[float, str]] = field(default_factory=list)
    stderr: str = ""
    ended: float = 0.0

    @property
    def stdout(self) -> str:
        return "".join(line for _, line in self.lines)


def blocked_on_a_lock(pids: set[int]) -> set[int]:
    """Which of `pids` are waiting for a folder lock (flock), as Linux lists them."""
    waiting = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and "FLOCK" in fields:
            waiting.add(int(fields[fields.index("->") + 4]))
    return waiting & pids


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold `folder` exclusively, as a build does while it writes there."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def run_together(*commands: list[str], gate: Path, timeout: float = 180) -> list[Running]:
    """Start every command at once, hold them all at the lock of the output folder `gate`
    until every one of them is waiting there with a leaflet to write (so that they then
    write at the same moment; nothing may be written before), and wait for all of them."""
    if not Path("/proc/locks").is_file():
        pytest.skip("needs /proc/locks (Linux) to see that the builds wait for the lock")
    runs: list[Running] = []

    def follow(run: Running) -> None:
        for line in run.process.stdout:
            run.lines.append((time.monotonic(), line))
        run.process.wait()
        run.ended = time.monotonic()

    with ExitStack() as stack:
        errors = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in commands]
        try:
            with locked(gate):
                for command, error in zip(commands, errors, strict=True):
                    process = subprocess.Popen(
                        command, stdout=subprocess.PIPE, stderr=error, text=True
                    )
                    runs.append(Running(process))
                threads = [threading.Thread(target=follow, args=(r,), daemon=True) for r in runs]
                for thread in threads:
                    thread.start()
                pids = {run.process.pid for run in runs}
                deadline = time.monotonic() + timeout
                while blocked_on_a_lock(pids) != pids:
                    assert not any(run.lines for run in runs), "a build wrote past the lock"
                    assert all(run.process.poll() is None for run in runs), "a build ended"
                    assert time.monotonic() < deadline, "the builds never waited for the lock"
                    time.sleep(0.05)
                assert not [p for p in gate.rglob("*") if p.is_file()], "written while locked"
            for thread in threads:
                thread.join(timeout)
            assert not any(t.is_alive() for t in threads), "a build did not finish in time"
        finally:
            for run in runs:
                run.process.kill()
                run.process.wait()
                run.process.stdout.close()
        for run, error in zip(runs, errors, strict=False):
            error.seek(0)
            run.stderr = error.read()
    return runs


@pytest.mark.slow
def test_two_builds_into_one_folder_at_once_both_finish_with_complete_pdfs(tmp_path):
    """Every leaflet, twice, at the same moment (one-page summaries, to keep this quick:
    the writing is the same for every style)."""
    out = tmp_path / "output"
    command = [sys.executable, "-m", "handouts", "build", "--all", "-s", "summary"]
    command += ["-o", str(out)]
    runs = run_together(command, command, gate=out / "neutral")
    lang = out / "neutral" / "en-GB"
    expected = {lang / f"{t}-summary-a4.pdf" for t in Library(content_dir()).treatments()}
    for run in runs:
        assert run.process.returncode == 0, run.stderr
        assert_plain(run.stderr)
        assert set(leaflets_listed(run.stdout)) == expected
    # They did write at the same time: each wrote a leaflet before the other had finished
    # (as they must, having been held at the lock together).
    first, second = runs
    assert first.lines[0][0] < second.ended and second.lines[0][0] < first.ended

    assert {p for p in out.rglob("*") if p.is_file()} == expected | {out / "neutral" / RECORD}
    for path in expected:
        assert_complete_pdf(path, pages=1)
        assert made_by_handouts(path)
    record_matches_files(out / "neutral")

    after = invoke("build", TREATMENT, "-s", "summary", "-o", out)
    assert after.exit_code == 0, after.output
    assert leaflets_listed(after.stdout) == [lang / f"{TREATMENT}-summary-a4.pdf"]
    assert {p for p in out.rglob("*") if p.is_file()} == expected | {out / "neutral" / RECORD}
    record_matches_files(out / "neutral")


def make_clinic(folder: Path, name: str, phone: str) -> Path:
    """A copy of the example clinic at `folder`, with its own name and phone number."""
    shutil.copytree(clinics_dir() / "riverside-dermatology", folder)
    replace_in(folder / "clinic.yaml", "name: Riverside Hospital", f"name: {name}")
    replace_in(folder / "clinic.yaml", "phone: 01632 960 123", f"phone: {phone}")
    return folder


def test_two_clinics_with_the_same_folder_name_building_at_once_never_mix(tmp_path):
    clinics = {
        name: (make_clinic(tmp_path / side / "clinic", name, phone), phone)
        for side, name, phone in (
            ("north", "North Clinic", "01632 960 111"),
            ("south", "South Clinic", "01632 960 555"),
        )
    }
    out = tmp_path / "output"
    treatments = [TREATMENT, OTHER, "scar-care"]
    build = [sys.executable, "-m", "handouts", "build", *treatments, "-s", "summary"]
    commands = [[*build, "-c", str(folder), "-o", str(out)] for folder, _ in clinics.values()]
    runs = dict(zip(clinics, run_together(*commands, gate=out / "clinic"), strict=True))
    codes = {name: run.process.returncode for name, run in runs.items()}
    assert sorted(codes.values()) == [0, 1], {n: r.stderr for n, r in runs.items()}
    [winner] = [name for name, code in codes.items() if code == 0]
    [loser] = [name for name, code in codes.items() if code == 1]
    (winner_folder, winner_phone), (loser_folder, loser_phone) = clinics[winner], clinics[loser]

    refused = runs[loser]
    assert_plain(refused.stderr)
    assert refused.stdout == ""  # it wrote nothing
    message = said(refused.stderr)
    assert f"{out / 'clinic'} holds the leaflets of '{winner}' (clinic folder {winner_folder})" in (
        message
    )
    assert f"not of '{loser}' (clinic folder {loser_folder})" in message
    assert "Choose another output folder with --out, or rename one of the two" in message

    lang = out / "clinic" / "en-GB"
    expected = {lang / f"{t}-summary-a4.pdf" for t in treatments}
    assert set(leaflets_listed(runs[winner].stdout)) == expected
    assert {p for p in out.rglob("*") if p.is_file()} == expected | {out / "clinic" / RECORD}
    for path in expected:
        assert_complete_pdf(path, pages=1)
        text = said(" ".join(p.extract_text() for p in pypdf.PdfReader(path).pages))
        assert winner in text and winner_phone in text, path
        assert loser not in text and loser_phone not in text, path
    record = json.loads((out / "clinic" / RECORD).read_text(encoding="utf-8"))
    assert record["clinic"] == {"folder": str(winner_folder), "name": winner}
    record_matches_files(out / "clinic")
