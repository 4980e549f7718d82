"""The PDF itself: text, pages, paper, fonts, metadata, tags, layout rules, determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handouts.content import Library
from handouts.paths import clinics_dir, content_dir

from .conftest import TREATMENT, build_one, stranded_headings

A4 = (595.28, 841.89)
LETTER = (612.0, 792.0)


def headings():
    labels = Library(content_dir()).labels("en").headings
    return [value for _, value in labels]


def test_text_has_title_purpose_and_every_section(riverside_a4):
    text = riverside_a4.text()
    assert "Steroid injections for raised scars" in text
    assert "This leaflet explains how steroid injections" in text
    for heading in headings():
        if heading == "Other leaflets that may help you":
            continue  # printed only when a leaflet names related leaflets
        assert heading in text, heading


def test_brand_and_contact_details_are_printed(riverside_a4):
    text = riverside_a4.text()
    assert "Riverside Hospital" in text
    assert "01632 960 123" in text
    assert "Call 999" in text or "call 999" in text
    assert "Ask your clinic to write its details here." not in text


def test_neutral_clinic_prints_blank_lines_not_numbers(neutral_letter):
    text = neutral_letter.text()
    assert "Ask your clinic to write its details here." in text
    assert "Phone:" in text and "Out of hours:" in text
    assert "call emergency services" in text
    assert "01632" not in text and "999" not in text


def test_page_count_is_between_two_and_four(riverside_a4):
    assert 2 <= riverside_a4.pages <= 6
    assert len(riverside_a4.reader.pages) == riverside_a4.pages


def test_running_footer_on_every_page(riverside_a4):
    texts = riverside_a4.page_texts()
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(texts)}" in text
        assert "Draft \u2013 not yet approved by a clinician" in text
        assert "Last reviewed" not in text
        assert "Riverside Hospital" in text and "01632 960 123" in text


@pytest.mark.parametrize(("fixture", "size"), [("riverside_a4", A4), ("neutral_letter", LETTER)])
def test_page_size(request, fixture, size):
    built = request.getfixturevalue(fixture)
    for page in built.reader.pages:
        box = page.mediabox
        assert float(box.width) == pytest.approx(size[0], abs=0.5)
        assert float(box.height) == pytest.approx(size[1], abs=0.5)


def test_every_font_is_embedded(riverside_a4):
    seen = 0
    for page in riverside_a4.reader.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            descriptor = descriptor.get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
            seen += 1
    assert seen > 0


def test_metadata(riverside_a4):
    meta = riverside_a4.reader.metadata
    assert meta.title == "Steroid injections for raised scars"
    assert meta.author == "Riverside Hospital"
    assert meta.subject.startswith("This leaflet explains")
    assert "steroid-injections" in meta["/Keywords"]
    assert meta.creator.startswith("handouts ")


def test_pdf_is_tagged_with_language(riverside_a4):
    root = riverside_a4.reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert root["/MarkInfo"]["/Marked"] is True or root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    assert "/StructTreeRoot" in root
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()


def test_headings_are_never_the_last_line_of_a_page(riverside_a4, neutral_letter):
    names = set(headings()) | {"Common", "Rare but serious"}
    for built in (riverside_a4, neutral_letter):
        assert stranded_headings(built.path, names, bottom_margin_mm=21) == []


def test_call_boxes_are_not_split_across_pages(riverside_a4, neutral_letter):
    for built in (riverside_a4, neutral_letter):
        texts = built.page_texts()

        def page_of(snippet, texts=texts):
            pages = [i for i, text in enumerate(texts) if snippet in text]
            assert pages, snippet
            return pages[0]

        assert page_of("When to call us") == page_of("Out of hours:")
        assert page_of("When to call for emergency help") == page_of("or you think it is an")


def test_rebuild_is_byte_identical(riverside_a4, tmp_path):
    again = build_one(tmp_path, clinic="riverside-dermatology")
    assert again.data == riverside_a4.data


def test_bytes_do_not_depend_on_where_the_files_live(tmp_path):
    import shutil

    outputs = []
    for place in ("first/place", "second/much/deeper/place"):
        root = tmp_path / place
        shutil.copytree(content_dir(), root / "content")
        shutil.copytree(clinics_dir() / "riverside-dermatology", root / "clinic")
        built = build_one(root / "out", clinic=str(root / "clinic"), content=root / "content")
        outputs.append(built.data)
    assert outputs[0] == outputs[1]


def test_command_line_run_leaves_no_temporary_folders(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    done = subprocess.run(
        [sys.executable, "-m", "handouts", "build", TREATMENT, "-o", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.split()[0]).is_file()
    assert list(temp.iterdir()) == []


def test_a_source_cited_only_in_a_point_is_still_printed(content_copy, tmp_path):
    from .conftest import replace_in

    path = content_copy / "treatments" / TREATMENT / "en.yaml"
    replace_in(path, "refs: [RF, NHS]", "refs: [RF, NHS, ZH]")
    built = build_one(tmp_path, content=content_copy)
    assert "Massage for burn scars, PMC6092002" in built.text()
