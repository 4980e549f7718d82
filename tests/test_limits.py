"""Time and memory limits (issue 9, items 3 and 4): a clinic template that loops without end
or makes far too much stops with a clear message, within the limit, with nothing written
and no process left behind; and leaflets made by several workers at once are the same,
byte for byte, as leaflets made one at a time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from handouts.build import Selection, plan, run
from handouts.content import Library
from handouts.limits import run_all
from handouts.paths import content_dir

from .conftest import TREATMENT
from .test_render_faults import build, pdfs, with_template


def children() -> list[str]:
    """The processes this test process has started and not yet waited for."""
    me = os.getpid()
    found = []
    for task in Path(f"/proc/{me}/task").iterdir():
        found += (task / "children").read_text().split()
    return found


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "took longer than 3 seconds",
        ),
        (
            # Doubles a text 60 times: 2**60 letters, were there memory for them.
            '{% set ns = namespace(s="ab") %}{% for i in range(60) %}'
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
            "needed more than 300 MB of memory",
        ),
        ('{{ "%2000000000s"|format("x") }}', "needed more than 300 MB of memory"),
        ('{{ "x"|center(5000000) }}', "a template printed a text of 5,000,000 letters"),
        (
            "{% for i in range(100000) %}{% for j in range(100) %}xxxxxxxxxx"
            "{% endfor %}{% endfor %}",
            "a template made more than",
        ),
    ],
    ids=["endless-loop", "doubling-text", "format-width", "huge-text", "huge-html"],
)
def test_runaway_template_is_stopped_with_a_clear_message(
    clinic_copy, tmp_path, monkeypatch, body, message
):
    monkeypatch.setenv("HANDOUTS_TIME_LIMIT", "3")
    monkeypatch.setenv("HANDOUTS_MEMORY_LIMIT", "300")
    with_template(clinic_copy, body + "{% endblock %}")
    started = time.monotonic()
    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert pdfs(tmp_path / "out") == []
    assert children() == []


def test_the_limits_are_named_in_their_messages(clinic_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDOUTS_TIME_LIMIT", "2")
    with_template(
        clinic_copy,
        "{% for i in range(100000) %}{% for j in range(100000) %}"
        "{% endfor %}{% endfor %}{% endblock %}",
    )
    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert f"The {TREATMENT} (en-GB, standard, a4, clinic my-clinic) leaflet" in result.stderr
    assert "HANDOUTS_TIME_LIMIT" in result.stderr


def test_lipsum_is_not_offered_to_templates(clinic_copy, tmp_path):
    template = with_template(clinic_copy, "{{ lipsum(1000000) }}{% endblock %}")
    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{template}:3: a template uses something that does not exist" in result.stderr
    assert "lipsum" in result.stderr


@pytest.mark.parametrize("value", ["soon", "0", "-5", "1e9"])
def test_a_limit_that_is_not_a_number_is_a_clear_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("HANDOUTS_TIME_LIMIT", value)
    result = build(TREATMENT, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"HANDOUTS_TIME_LIMIT='{value}' is not a number of seconds" in result.stderr
    assert pdfs(tmp_path / "out") == []


def test_a_leaflet_within_the_limits_is_made(tmp_path, monkeypatch):
    # The limits are generous: a real leaflet fits well within a small memory limit.
    monkeypatch.setenv("HANDOUTS_MEMORY_LIMIT", "600")
    result = build(TREATMENT, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert len(pdfs(tmp_path / "out")) == 1


def test_workers_make_the_same_bytes_as_one_at_a_time(tmp_path):
    library = Library(content_dir())
    treatments = ["silicone-gel", "steroid-injections", "cryotherapy", "laser"]
    made = {}
    for workers in (1, 2):
        jobs = plan(library, Selection(treatments, out_dir=tmp_path / str(workers)))
        order: list[int] = []
        results = run(library, jobs, lambda i, n, r, seen=order: seen.append(i), workers=workers)
        assert order == [1, 2, 3, 4]  # reported in order, whichever worker finished first
        made[workers] = [r.job.path.read_bytes() for r in results]
        assert [r.job.treatment for r in results] == treatments
    assert made[1] == made[2]
    assert children() == []


def _fail_on_two(index: int) -> int:
    if index == 2:
        from handouts.errors import RenderError

        raise RenderError("two is broken")
    return index * 10


def test_the_first_error_stops_every_worker(monkeypatch):
    got = []
    with pytest.raises(Exception, match="two is broken"):
        for index, value in run_all(_fail_on_two, 6, str, workers=2):
            got.append((index, value))
    assert got == [(0, 0), (1, 10)]
    assert children() == []


def test_a_bug_inside_a_worker_keeps_its_traceback():
    def broken(index: int) -> int:
        return {}["missing"]

    with pytest.raises(RuntimeError, match="KeyError: 'missing'"):
        list(run_all(broken, 1, str))


def test_ctrl_c_stops_the_workers_and_leaves_no_pdf(clinic_copy, tmp_path):
    with_template(
        clinic_copy,
        "{% for i in range(100000) %}{% for j in range(100000) %}"
        "{% endfor %}{% endfor %}{% endblock %}",
    )
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "handouts",
            "build",
            "--all",
            "--clinic",
            str(clinic_copy),
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    process.send_signal(2)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert pdfs(out) == []
    # No worker outlives the build: none is left with the build's process as its parent.
    leftover = subprocess.run(
        ["pgrep", "-f", f"--clinic {clinic_copy}"], capture_output=True, text=True
    ).stdout.split()
    assert leftover == []


def _killed_on_one(index: int) -> int:
    if index == 1:
        os.kill(os.getpid(), 9)  # as the system does to a process using too much memory
    time.sleep(1.0)  # the leaflet before it is still being made
    return index


def test_a_worker_killed_while_an_earlier_leaflet_is_made_is_reported_as_killed():
    got = []
    with pytest.raises(Exception, match=r"was stopped \(SIGKILL\)"):
        for index, value in run_all(_killed_on_one, 3, str, workers=2):
            got.append((index, value))
    assert got == [(0, 0)]
    assert children() == []


def test_workers_each_load_the_clinics_web_font_into_a_folder_of_their_own():
    # WeasyPrint writes each @font-face file to a name made from the rule, and skips a rule
    # whose file exists. Workers sharing one folder raced: one registered a file another was
    # still writing ("the font 'Harbour Serif' cannot be used"), or skipped a font it had
    # never registered and printed the text in another font.
    from handouts.paths import clinics_dir
    from handouts.pdf import Renderer

    font = clinics_dir() / "harbour-skin-clinic" / "assets" / "fonts" / "NotoSerif-Bold.ttf"
    html = (
        "<html lang='en'><style>@font-face { font-family: 'Race Serif'; "
        f"src: url('{font.as_uri()}'); font-weight: bold }}"
        "h1 { font-family: 'Race Serif'; font-weight: bold }</style><h1>Aa</h1></html>"
    )
    with Renderer() as renderer:
        folder = renderer._font_folder

        def make(_index: int) -> bytes:
            roots = [font.parent]
            return renderer.render(html, base_url=font.parent, roots=roots).data

        made = [data for _, data in run_all(make, 6, lambda i: f"leaflet {i}", workers=2)]
        for data in made:
            fonts = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values()
            assert [str(f.get_object()["/BaseFont"]).split("+")[1] for f in fonts] == [
                "Race-Serif-Bold"
            ]
        assert {p.name.split("-")[0] for p in folder.iterdir()} == {"process"}
        assert len(list(folder.iterdir())) == 2
    assert not folder.exists()
