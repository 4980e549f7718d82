"""The wheel carries its content, templates and clinics: it works outside the repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=None):
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_installed_wheel_builds_a_leaflet_outside_the_repository(tmp_path):
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        tmp_path / "dist",
        ROOT,
    )
    [wheel] = (tmp_path / "dist").glob("handouts-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import handouts.paths as p; print(p.data_root())", cwd=elsewhere)
    assert Path(where.strip()).is_relative_to(venv)
    report = json.loads(
        run(
            python,
            "-m",
            "handouts",
            "build",
            "steroid-injections",
            "-c",
            "riverside-dermatology",
            "--json",
            cwd=elsewhere,
        )
    )
    path = elsewhere / report[0]["path"]
    assert "Steroid injections" in pypdf.PdfReader(path).pages[0].extract_text()
