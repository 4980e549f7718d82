"""Shared fixtures. Rendered PDFs are built once per test session and shared."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pypdf
import pytest

from handouts.build import Selection, plan, run
from handouts.content import Library
from handouts.paths import clinics_dir, content_dir

TREATMENT = "steroid-injections"


@dataclass
class Built:
    path: Path
    data: bytes
    pages: int

    @property
    def reader(self) -> pypdf.PdfReader:
        return pypdf.PdfReader(self.path)

    def page_texts(self) -> list[str]:
        with pdfplumber.open(self.path) as pdf:
            return [page.extract_text() or "" for page in pdf.pages]

    def text(self) -> str:
        return "\n".join(self.page_texts())


def build_one(out: Path, treatment=TREATMENT, clinic=None, paper=None, content=None) -> Built:
    library = Library(content or content_dir())
    jobs = plan(library, Selection([treatment], clinic=clinic, paper=paper, out_dir=out))
    [result] = run(library, jobs)
    return Built(result.job.path, result.job.path.read_bytes(), result.pages)


@pytest.fixture(scope="session")
def riverside_a4(tmp_path_factory) -> Built:
    return build_one(tmp_path_factory.mktemp("riverside"), clinic="riverside-dermatology")


@pytest.fixture(scope="session")
def neutral_letter(tmp_path_factory) -> Built:
    return build_one(tmp_path_factory.mktemp("neutral"), paper="letter")


def _translation(folder: str, names: list[str]) -> list[str]:
    """The files of other languages than English (leaflets and labels), for copytree."""
    here = Path(folder)
    if here.name != "ui" and here.parent.name != "treatments":
        return []
    return [n for n in names if n.endswith(".yaml") and n != "en.yaml"]


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A private copy of the bundled content in English only, safe to break. (Without the
    90 translations, `check` on it takes a second instead of seven.)"""
    target = tmp_path / "content"
    shutil.copytree(content_dir(), target, ignore=_translation)
    return target


@pytest.fixture
def full_content_copy(tmp_path) -> Path:
    """A private copy of the bundled content with every translation, safe to break."""
    target = tmp_path / "full-content"
    shutil.copytree(content_dir(), target)
    return target


@pytest.fixture
def clinic_copy(tmp_path) -> Path:
    """A private copy of the example clinic, safe to break."""
    target = tmp_path / "my-clinic"
    shutil.copytree(clinics_dir() / "riverside-dermatology", target)
    return target


def replace_in(path: Path, old: str, new: str) -> int:
    """Edit a copied file; returns the 1-based line where the change landed."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def decode_qr(pdf_path: Path, page_index: int, tmp_path: Path) -> str:
    """Render one page to PNG and read its QR code back with zbarimg."""
    assert shutil.which("zbarimg"), (
        "zbarimg (Debian: zbar-tools) is needed; 'make test' installs it"
    )
    with pdfplumber.open(pdf_path) as pdf:
        pdf.pages[page_index].to_image(resolution=150).save(tmp_path / "qr.png")
    done = subprocess.run(
        ["zbarimg", "-q", "--raw", str(tmp_path / "qr.png")],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def stranded_headings(pdf_path: Path, headings: set[str], bottom_margin_mm: float) -> list:
    """Headings that end a page (other than the last): each would be cut off from its text."""
    found = []
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages[:-1]:
            body_bottom = page.height - bottom_margin_mm * 72 / 25.4
            lines = [ln for ln in page.extract_text_lines() if ln["bottom"] <= body_bottom + 1]
            if lines and lines[-1]["text"].strip() in headings:
                found.append((page.page_number, lines[-1]["text"]))
    return found
