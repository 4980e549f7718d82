"""Path traversal and odd values in every name and option (issue 9, hardening).

Every id, option and path a user can give is tried with what an attacker or a slip of the
keyboard would give: `../../etc/passwd`, `..`, absolute paths, `x/../y`, NUL bytes, names
10,000 characters long, a clinic folder whose files are links to files elsewhere, a
content folder that is empty or a file, an output folder that is a file. Each must end
with a non-zero exit, no traceback, and a message that names the option or the value
given; and nothing outside the folders handouts may use is read or written:

- read: every file opened while the command runs (in handouts and in the processes it
  forks to make leaflets) is recorded with a Python audit hook, and none may be inside
  the folder "outside" that each test sets up beside the working folder, nor
  /etc/passwd or /etc/hostname. (Files opened by C libraries, such as the fonts
  fontconfig reads, are not seen: SECURITY.md says what is not promised.)
- written: every file and folder under the test's temporary folder is listed, with its
  contents, before and after; only what the test allows may change.

Every case here once failed (a traceback, a file outside read, a request on the network)
and was fixed; the tests keep it so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner, Result

from handouts.cli import app
from handouts.paths import clinics_dir, content_dir

from .conftest import TREATMENT

runner = CliRunner()
LONG = 10_000  # characters in a very long name (a file name may have 255 bytes)
SECRET = "TOP SECRET: NOT FOR ANY LEAFLET"
EXAMPLE_CLINIC = clinics_dir() / "riverside-dermatology"
FONT = clinics_dir() / "harbour-skin-clinic" / "assets" / "fonts" / "NotoSerif-Bold.ttf"


# ----------------------------------------------------------------------------- watching

_log_fd: int | None = None  # while watching: where the audit hook writes each opened file


def _audit(event: str, args: tuple) -> None:
    if _log_fd is None or event != "open" or not args:
        return
    target = args[0]
    if isinstance(target, int) or not isinstance(target, str | bytes | os.PathLike):
        return
    try:
        name = os.path.abspath(os.fsdecode(target))
        os.write(_log_fd, name.encode("utf-8", "surrogateescape") + b"\0")
    except (OSError, ValueError, TypeError):
        pass


_hooked = False


@contextmanager
def files_opened(log: Path) -> Iterator[list[Path]]:
    """Every file opened by Python code in this process and the processes it forks (which
    inherit the hook and the log file) until the block ends."""
    global _hooked, _log_fd
    if not _hooked:
        sys.addaudithook(_audit)  # for the rest of the process; it is idle when not watching
        _hooked = True
    opened: list[Path] = []
    _log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    try:
        yield opened
    finally:
        os.close(_log_fd)
        _log_fd = None
        names = log.read_bytes().split(b"\0")
        opened.extend(Path(n.decode("utf-8", "surrogateescape")) for n in names if n)


def tree(folder: Path) -> dict[str, str]:
    """Every file, folder and link under `folder`, with what it holds."""
    found = {}
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(parent, name)
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                found[relative] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = "folder"
            else:
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class Place:
    """A working folder (the current directory) with an `outside` folder beside it."""

    root: Path  # everything below is compared before and after
    work: Path
    outside: Path
    log: Path

    def forbidden(self) -> list[Path]:
        return [self.outside.resolve(), Path("/etc/passwd"), Path("/etc/hostname")]


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    root = tmp_path / "place"
    work, outside = root / "work", root / "outside"
    work.mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    brand = (EXAMPLE_CLINIC / "clinic.yaml").read_text(encoding="utf-8")
    (outside / "clinic.yaml").write_text(
        brand.replace("name: Riverside Hospital", f'name: "{SECRET}"')
    )
    shutil.copy(EXAMPLE_CLINIC / "assets" / "logo.svg", outside / "logo.svg")
    shutil.copy(FONT, outside / "font.ttf")
    (outside / "clinic.css").write_text("h1 { color: #000000; }\n")
    (outside / "templates").mkdir()
    (outside / "templates" / "handout.html").write_text(
        '{% extends "base:handout.html" %}{% block title %}<p>' + SECRET + "</p>"
        "{{ super() }}{% endblock %}"
    )
    (outside / "not-a-clinic").mkdir()
    (outside / "not-a-clinic" / "notes.txt").write_text(SECRET)
    leaflet = content_dir() / "treatments" / TREATMENT / "en.yaml"
    (outside / "en.yaml").write_text(
        leaflet.read_text(encoding="utf-8").replace("Steroid injections", SECRET)
    )
    monkeypatch.chdir(work)
    return Place(root, work, outside, tmp_path / "opened.log")


def invoke(place: Place, *args: str | Path) -> tuple[Result, list[Path]]:
    with files_opened(place.log) as opened:
        result = runner.invoke(app, [str(a) for a in args])
    return result, opened


def assert_refused(result: Result, *names: str) -> str:
    """A non-zero exit with a message, no traceback, and the message names one of `names`
    (the option, or the value given). Returns the output, on one line."""
    output = " ".join(result.output.split())
    assert result.exit_code != 0, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert output, "no message"
    assert any(" ".join(name.split()) in output for name in names), output
    return output


def assert_nothing_outside(place: Place, opened: list[Path], before: dict[str, str]) -> None:
    """Nothing in `outside` (or /etc/passwd) was opened, and nothing changed anywhere."""
    for path in opened:
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            real = path
        for forbidden in place.forbidden():
            assert real != forbidden and not real.is_relative_to(forbidden), f"{path} was opened"
    assert tree(place.root) == before


def run_refused(place: Place, args: list, *names: str) -> str:
    """Run a command that must be refused, with every check above; its output."""
    before = tree(place.root)
    result, opened = invoke(place, *args)
    output = assert_refused(result, *names)
    assert_nothing_outside(place, opened, before)
    return output


def test_the_checks_can_fail(place):
    """The watching sees a file read in a forked process, and a file written."""
    before = tree(place.root)
    with files_opened(place.log) as opened:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            (place.outside / "secret.txt").read_text()
            os._exit(0)
        os.waitpid(pid, 0)
    with pytest.raises(AssertionError, match=r"secret\.txt was opened"):
        assert_nothing_outside(place, opened, before)
    (place.work / "new.txt").write_text("x")
    with pytest.raises(AssertionError):
        assert_nothing_outside(place, [], before)


# ----------------------------------------------------------------------------- ids

HOSTILE_NAMES = [
    "../../etc/passwd",
    "..",
    ".",
    "/etc/passwd",
    f"{TREATMENT}/../x",
    f"{TREATMENT}/../../../outside/secret",
    "../outside/secret",
    "a\x00b",
    f"{TREATMENT}\x00",
    "x" * LONG,
    "\u202eevil",
]


def _short(value: str) -> str:
    return repr(value[:30]) + (f"...({len(value)})" if len(value) > 30 else "")


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=_short)
def test_a_treatment_id_is_only_ever_a_name(place, name):
    run_refused(place, ["build", name, "-o", "out"], "There is no treatment called")
    run_refused(place, ["templates", "explain", name], "There is no treatment called")


@pytest.mark.parametrize(
    ("option", "value", "names"),
    [
        ("--lang", "../x", ["language"]),
        ("--lang", "../../outside/secret", ["language"]),
        ("--lang", "en/../../x", ["language"]),
        ("--lang", "en-GB/..", ["language"]),
        ("--lang", "/etc/passwd", ["language"]),
        ("--lang", "en\x00", ["language"]),
        ("--lang", "x" * LONG, ["language"]),
        ("--style", "../../templates/x", ["style"]),
        ("--style", "../standard", ["style"]),
        ("--style", "standard/../../../outside/clinic", ["style"]),
        ("--style", "/etc/passwd", ["style"]),
        ("--style", "standard\x00", ["style"]),
        ("--style", "x" * LONG, ["style"]),
        ("--paper", "../x", ["paper"]),
        ("--paper", "a4/../../x", ["paper"]),
        ("--paper", "/etc/passwd", ["paper"]),
        ("--paper", "a4\x00", ["paper"]),
        ("--paper", "x" * LONG, ["paper"]),
        ("--bleed", "../x", ["--bleed"]),
        ("--bleed", "1e999mm", ["--bleed"]),
        ("--bleed", "nan", ["--bleed"]),
        ("--bleed", "-3mm", ["--bleed"]),
    ],
    ids=lambda v: _short(v) if isinstance(v, str) else "",
)
def test_odd_option_values_are_refused(place, option, value, names):
    run_refused(place, ["build", TREATMENT, option, value, "-o", "out"], *names)
    assert not (place.work / "out").exists()


@pytest.mark.parametrize("value", ["../x", "/etc/passwd", "standard\x00", "x" * LONG], ids=_short)
def test_templates_explain_refuses_an_odd_style(place, value):
    run_refused(place, ["templates", "explain", TREATMENT, "--style", value], "style")


# ----------------------------------------------------------------------------- clinics


@pytest.mark.parametrize(
    "value",
    ["..", "../outside/not-a-clinic", "../../", "/etc", "./a\x00b", "a\x00b"],
    ids=_short,
)
def test_a_clinic_that_is_not_a_clinic_folder_is_refused(place, value):
    run_refused(place, ["build", TREATMENT, "--clinic", value, "-o", "out"], "clinic", value)
    run_refused(place, ["templates", "explain", TREATMENT, "--clinic", value], "clinic", value)


@pytest.mark.parametrize("value", ["y" * LONG, "./" + "y" * LONG], ids=_short)
def test_a_very_long_clinic_name_is_refused(place, value):
    run_refused(place, ["build", TREATMENT, "--clinic", value, "-o", "out"], "clinic")


def make_clinic(place: Place) -> Path:
    folder = place.work / "my-clinic"
    shutil.copytree(EXAMPLE_CLINIC, folder)
    return folder


def link(path: Path, target: Path) -> None:
    if path.exists() or path.is_symlink():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    path.symlink_to(target)


def add_to_brand(folder: Path, text: str) -> None:
    with (folder / "clinic.yaml").open("a", encoding="utf-8") as brand:
        brand.write(text)


def built_text(out: Path) -> str:
    text = ""
    for pdf_path in out.rglob("*.pdf"):
        with pdfplumber.open(pdf_path) as pdf:
            text += "".join(page.extract_text() or "" for page in pdf.pages)
    return text


LINKED_CLINIC_FILES = {
    # what is linked (in the clinic folder), to what outside, what to add to clinic.yaml
    "logo": ("assets/logo.svg", "logo.svg", ""),
    "assets folder": ("assets", ".", ""),
    "stylesheet": ("assets/clinic.css", "clinic.css", "extra_css: [assets/clinic.css]\n"),
    "font": (
        "assets/font.ttf",
        "font.ttf",
        "typography:\n  fonts:\n    - family: Linked\n      files:\n"
        "        - path: assets/font.ttf\n",
    ),
}


@pytest.mark.parametrize("what", list(LINKED_CLINIC_FILES))
def test_a_clinic_file_linked_to_a_file_outside_the_clinic_folder_is_refused(place, what):
    folder = make_clinic(place)
    inside, target, brand = LINKED_CLINIC_FILES[what]
    link(folder / inside, place.outside / target)
    add_to_brand(folder, brand)
    output = run_refused(
        place, ["build", TREATMENT, "--clinic", folder, "-o", "out"], "outside the clinic folder"
    )
    assert SECRET not in output


def test_a_template_linked_to_a_file_outside_is_refused(place):
    folder = make_clinic(place)
    (folder / "templates").mkdir()
    link(folder / "templates" / "handout.html", place.outside / "templates" / "handout.html")
    before = tree(place.root)
    result, _ = invoke(place, "build", TREATMENT, "--clinic", folder, "-o", "out")
    output = assert_refused(result, "outside the clinic folder and the built-in templates")
    assert SECRET not in output
    changed = {k: v for k, v in tree(place.root).items() if before.get(k) != v}
    assert not [k for k in changed if k.endswith(".pdf")], changed


# Each command that reads a clinic's templates: none may open a template that is a link to
# a file outside the clinic folder, not even to refuse it afterwards.
LINKED_TEMPLATE_COMMANDS = {
    "build": ["build", TREATMENT, "-o", "out"],
    "templates explain": ["templates", "explain", TREATMENT],
    "check": ["check"],
}


@pytest.mark.parametrize("command", list(LINKED_TEMPLATE_COMMANDS))
def test_a_template_linked_to_a_file_outside_is_not_even_read(place, command):
    folder = make_clinic(place)
    (folder / "templates").mkdir()
    link(folder / "templates" / "handout.html", place.outside / "templates" / "handout.html")
    args = [*LINKED_TEMPLATE_COMMANDS[command], "--clinic", folder]
    output = run_refused(place, args, "outside")
    assert SECRET not in output


def test_a_brand_file_linked_to_a_file_outside_is_refused(place):
    folder = make_clinic(place)
    link(folder / "clinic.yaml", place.outside / "clinic.yaml")
    output = run_refused(place, ["build", TREATMENT, "--clinic", folder, "-o", "out"], "clinic")
    assert SECRET not in output + built_text(place.work / "out")


def test_a_templates_folder_linked_outside_is_refused(place):
    folder = make_clinic(place)
    link(folder / "templates", place.outside / "templates")
    output = run_refused(place, ["build", TREATMENT, "--clinic", folder, "-o", "out"], "outside")
    assert SECRET not in output + built_text(place.work / "out")


def test_a_stylesheet_cannot_import_a_file_outside_through_a_link(place):
    folder = make_clinic(place)
    link(folder / "assets" / "other.css", place.outside / "clinic.css")
    (folder / "assets" / "clinic.css").write_text('@import "other.css";\n')
    add_to_brand(folder, "extra_css: [assets/clinic.css]\n")
    run_refused(place, ["build", TREATMENT, "--clinic", folder, "-o", "out"], "outside")


@contextmanager
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A web server on this computer that records every request and answers none."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    requests: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except OSError:  # a timeout, or closed
                continue
            with connection:
                connection.settimeout(1)
                with suppress(OSError):
                    requests.append(connection.recv(1024))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], requests
    finally:
        done.set()
        thread.join(timeout=5)
        server.close()


@pytest.mark.parametrize("where", ["network", "file outside"])
def test_an_image_in_a_stylesheet_is_never_fetched_from_outside(place, where):
    folder = make_clinic(place)
    with listener() as (port, requests):
        url = {
            "network": f"http://127.0.0.1:{port}/logo.png",
            "file outside": (place.outside / "logo.svg").as_uri(),
        }[where]
        (folder / "assets" / "clinic.css").write_text(
            f'body {{ background-image: url("{url}"); }}\n'
        )
        add_to_brand(folder, "extra_css: [assets/clinic.css]\n")
        run_refused(place, ["build", TREATMENT, "--clinic", folder, "-o", "out"], "clinic.css")
    assert requests == []


# ----------------------------------------------------------------------------- content


@pytest.mark.parametrize("kind", ["empty folder", "file", "not-a-clinic", "nul", "long"])
def test_a_content_option_that_is_not_a_content_folder_is_refused(place, kind):
    (place.work / "empty").mkdir()
    (place.work / "file.txt").write_text("just a file")
    value = {
        "empty folder": "empty",
        "file": "file.txt",
        "not-a-clinic": "../outside/not-a-clinic",
        "nul": "content\x00",
        "long": "z" * LONG,
    }[kind]
    for command in (["build", TREATMENT, "-o", "out"], ["list"], ["check"]):
        run_refused(place, [*command, "--content", value], "--content")
    run_refused(place, ["templates", "explain", TREATMENT, "--content", value], "--content")


def test_a_leaflet_linked_to_a_file_outside_the_content_folder_is_refused(place):
    content = place.work / "content"
    shutil.copytree(content_dir(), content)
    link(content / "treatments" / TREATMENT / "en.yaml", place.outside / "en.yaml")
    output = run_refused(
        place,
        ["build", TREATMENT, "--content", content, "-o", "out"],
        "outside the content folder",
    )
    assert SECRET not in output


# ----------------------------------------------------------------------------- output


def test_an_output_option_that_is_a_file_is_refused_and_left_alone(place):
    (place.work / "notes.txt").write_text("my notes")
    run_refused(place, ["build", TREATMENT, "--out", "notes.txt"], "--out", "notes.txt")
    assert (place.work / "notes.txt").read_text() == "my notes"


@pytest.mark.parametrize(
    "value",
    [
        "out\x00",
        "w" * LONG,
    ],
    ids=_short,
)
def test_an_odd_output_folder_is_refused(place, value):
    run_refused(place, ["build", TREATMENT, "--out", value], "--out")


# ----------------------------------------------------------------------------- schema


@pytest.mark.parametrize("kind", ["../x", "../../etc/passwd", "/etc/passwd", "a\x00b", "x" * LONG])
def test_schema_refuses_an_odd_kind_and_writes_nothing(place, kind):
    run_refused(place, ["schema", kind, "-o", "s.json"], "kind of file")
    assert not (place.work / "s.json").exists()


def test_schema_never_replaces_a_file_it_did_not_make(place):
    (place.work / "notes.json").write_text("{}")
    run_refused(place, ["schema", "leaflet", "-o", "notes.json"], "notes.json")
    assert (place.work / "notes.json").read_text() == "{}"


@pytest.mark.parametrize(
    "value",
    [
        "s\x00.json",
        "folder",
        "q" * LONG,
    ],
    ids=_short,
)
def test_schema_refuses_an_odd_output_file(place, value):
    (place.work / "folder").mkdir()
    (place.work / "folder" / "keep.txt").write_text("keep")
    run_refused(place, ["schema", "leaflet", "-o", value], "--output", "-o", value[:100])


# ----------------------------------------------------------------------------- clinic init


def test_clinic_init_never_writes_into_a_folder_with_files(place):
    folder = place.work / "mine"
    folder.mkdir()
    (folder / "clinic.yaml").write_text("meta:\n  name: Mine\n")
    output = run_refused(place, ["clinic", "init", "mine"], "mine")
    assert "already exists" in output
    run_refused(place, ["clinic", "init", "mine", "--name", "Other"], "mine")
    (place.work / "file.txt").write_text("a file")
    run_refused(place, ["clinic", "init", "file.txt"], "file.txt")
    run_refused(place, ["clinic", "init", "../outside"], "../outside")
    run_refused(place, ["clinic", "init", "mine/.."], "mine/..")


@pytest.mark.parametrize(
    "value",
    [
        "new\x00",
        "n" * LONG,
    ],
    ids=_short,
)
def test_clinic_init_refuses_an_odd_folder_name(place, value):
    run_refused(place, ["clinic", "init", value], "folder", value[:100])


@pytest.mark.parametrize(
    "name",
    [
        "two\nlines",
        "bell\x07",
        " ",
        "\u202eevil",
    ],
    ids=_short,
)
def test_clinic_init_refuses_a_name_that_is_not_one_line_of_text(place, name):
    run_refused(place, ["clinic", "init", "new", "--name", name], "name")
    assert not (place.work / "new").exists()
