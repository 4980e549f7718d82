"""Rendering never reads outside the allowed folders and never reaches the network."""

from __future__ import annotations

import pytest

from handouts.clinic import contrast, load_clinic
from handouts.errors import ContentError, RenderError
from handouts.pdf import Renderer
from handouts.templating import css_string

from .conftest import build_one, replace_in

SQUARE = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
PAGE = '<html lang="en"><head><title>t</title></head><body><p>Hello</p>{}</body></html>'


@pytest.fixture(scope="module")
def renderer():
    with Renderer() as r:
        yield r


def test_a_file_outside_the_allowed_folders_is_refused(renderer, tmp_path):
    html = PAGE.format('<img src="file:///etc/hostname" alt="x">')
    with pytest.raises(RenderError, match="outside the folders a leaflet may use"):
        renderer.render(html, base_url=tmp_path, roots=[tmp_path])


def test_relative_escape_is_refused(renderer, tmp_path):
    inside = tmp_path / "clinic"
    inside.mkdir()
    (tmp_path / "secret.png").write_bytes(b"\x89PNG")
    html = PAGE.format('<img src="../secret.png" alt="x">')
    with pytest.raises(RenderError, match="outside the folders"):
        renderer.render(html, base_url=inside, roots=[inside])


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/logo.png", "https://example.org/a.css", "ftp://example.org/x"]
)
def test_network_urls_are_refused(renderer, tmp_path, url):
    html = PAGE.format(f'<img src="{url}" alt="x">')
    with pytest.raises(RenderError, match="blocked or missing"):
        renderer.render(html, base_url=tmp_path, roots=[tmp_path])


def test_a_missing_image_is_an_error_not_a_blank(renderer, tmp_path):
    html = PAGE.format('<img src="nothere.png" alt="x">')
    with pytest.raises(RenderError, match="does not exist"):
        renderer.render(html, base_url=tmp_path, roots=[tmp_path])


def test_an_image_without_alt_text_is_an_error(renderer, tmp_path):
    (tmp_path / "a.svg").write_text(SQUARE)
    html = PAGE.format('<img src="a.svg">')
    with pytest.raises(RenderError, match="alt"):
        renderer.render(html, base_url=tmp_path, roots=[tmp_path])


def test_an_allowed_file_loads(renderer, tmp_path):
    (tmp_path / "a.svg").write_text(SQUARE)
    pdf = renderer.render(
        PAGE.format('<img src="a.svg" alt="A square">'), base_url=tmp_path, roots=[tmp_path]
    )
    assert pdf.pages == 1 and pdf.data.startswith(b"%PDF")


def test_logo_outside_the_clinic_folder_is_refused(clinic_copy):
    line = replace_in(
        clinic_copy / "clinic.yaml", "path: assets/logo.svg", "path: ../../../etc/hostname"
    )
    with pytest.raises(ContentError) as info:
        load_clinic(str(clinic_copy))
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (line, "logo.medium.path")
    assert "outside the clinic folder" in problem.message


def test_missing_and_broken_logos_are_refused(clinic_copy):
    (clinic_copy / "assets" / "logo.svg").unlink()
    with pytest.raises(ContentError, match=r"there is no file 'assets/logo\.svg'"):
        load_clinic(str(clinic_copy))
    (clinic_copy / "assets" / "logo.svg").write_text("<html>not a logo")
    with pytest.raises(ContentError, match="not a readable SVG"):
        load_clinic(str(clinic_copy))
    replace_in(clinic_copy / "clinic.yaml", "assets/logo.svg", "assets/logo.png")
    (clinic_copy / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(ContentError, match="cannot be read as a PNG image") as info:
        load_clinic(str(clinic_copy))
    assert " at 0x" not in str(info.value)


def test_low_contrast_colour_is_refused_with_a_better_one(clinic_copy):
    line = replace_in(clinic_copy / "clinic.yaml", 'primary: "#00665e"', 'primary: "#7fd1c7"')
    with pytest.raises(ContentError) as info:
        load_clinic(str(clinic_copy))
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (line, "color.primary")
    assert "color.primary #7fd1c7 on color.background #ffffff has a contrast of 1.8:1" in (
        problem.message
    )
    assert f"{contrast('#7fd1c7', '#ffffff'):.1f}" == "1.8"
    suggestion = problem.message.rsplit("; ", 1)[1].split()[0]
    assert contrast(suggestion, "#ffffff") >= 4.5


def test_clinic_text_cannot_break_out_of_css_or_html(clinic_copy, tmp_path):
    hostile = 'Evil"; } body { display: none } </style><script>x</script> /*'
    replace_in(clinic_copy / "clinic.yaml", "name: Riverside Hospital", f"name: '{hostile}'")
    built = build_one(tmp_path / "out", clinic=str(clinic_copy))
    text = built.text()
    assert "Steroid injections for raised scars" in text  # the body was not hidden
    assert "</style><script>" in text  # printed as text, not obeyed


def test_css_string_escapes_everything_dangerous():
    assert css_string('a"b\\c</style>\n') == '"a\\22 b\\5c c\\3c /style\\3e \\a "'


def test_a_character_no_font_can_show_is_an_error(renderer, tmp_path):
    with pytest.raises(RenderError, match=r"U\+1F9EA.*empty box"):
        renderer.render(
            PAGE.format("<p>Test tube \U0001f9ea</p>"), base_url=tmp_path, roots=[tmp_path]
        )


def test_a_page_without_a_language_is_an_error(renderer, tmp_path):
    with pytest.raises(RenderError, match="lang"):
        renderer.render(
            PAGE.replace(' lang="en"', "").format(""), base_url=tmp_path, roots=[tmp_path]
        )


def test_markup_in_leaflet_text_is_printed_as_text(content_copy, tmp_path):
    hostile = '<script>alert(1)</script> <img src="file:///etc/passwd"> <a href="x">link</a>'
    replace_in(
        content_copy / "treatments" / "steroid-injections" / "en.yaml",
        "  - text: The doctor puts a steroid medicine into the scar with a fine needle.",
        f"  - text: '{hostile} The doctor puts a steroid medicine into the scar with a fine "
        "needle.",
    )
    replace_in(
        content_copy / "treatments" / "steroid-injections" / "en.yaml",
        "This can make the scar flatter and softer.\n",
        "This can make the scar flatter and softer.'\n",
    )
    built = build_one(tmp_path / "out", content=content_copy)
    text = " ".join(built.text().split())
    assert hostile in text  # every tag printed as letters, none obeyed
