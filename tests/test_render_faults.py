"""Faults while rendering end in `file:line: message` and exit 1, never a traceback (issue 9,
items 5, 9 and 10): runaway templates, stylesheets that ask for files they may not have,
CSS that WeasyPrint ignores, and logos far larger than a leaflet needs."""

from __future__ import annotations

import ast
import base64
import io
import logging
import re
import socket
import struct
import warnings
import zlib
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from typer.testing import CliRunner

from handouts import clinic as clinic_module
from handouts.cli import app
from handouts.clinic import LOGO_MAX_PIXELS, LOGO_PRINT_MM, load_clinic
from handouts.errors import ContentError, RenderError
from handouts.paths import styles_dir
from handouts.pdf import CSS_TEMPLATES, FATAL_TEMPLATES, Renderer, classify

from .conftest import TREATMENT, replace_in

runner = CliRunner()
PAGE = '<html lang="en"><head><title>t</title></head><body><p>Hello</p>{}</body></html>'


def build(*args):
    result = runner.invoke(app, ["build", *[str(a) for a in args]])
    # A clean exit (0) or a handled error (typer.Exit): never an exception that escaped.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def pdfs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf")) if folder.exists() else []


def with_template(clinic: Path, body: str) -> Path:
    """The clinic's handout.html: the built-in one with `body` as its purpose block."""
    (clinic / "templates").mkdir(exist_ok=True)
    path = clinic / "templates" / "handout.html"
    path.write_text('{% extends "base:handout.html" %}\n{% block purpose %}\n' + body)
    return path


def with_css(clinic: Path, css: str) -> Path:
    """The clinic's own stylesheet, listed under extra_css in clinic.yaml."""
    path = clinic / "assets" / "clinic.css"
    path.write_text(css)
    with (clinic / "clinic.yaml").open("a") as brand:
        brand.write("\nextra_css:\n  - assets/clinic.css\n")
    return path


@pytest.fixture(scope="module")
def renderer():
    with Renderer() as r:
        yield r


# ------------------------------------------------------------------ runaway templates


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            "{% macro m(x) %}\n{{ m(x) }}{% endmacro %}{{ m(1) }}{% endblock %}",
            4,
            "a template calls itself without end",
        ),
        ('{% include "handout.html" %}{% endblock %}', 3, "calls itself without end"),
        (
            "{% for i in range(10**7) %}{{ i }}{% endfor %}{% endblock %}",
            3,
            "range() with more than 100,000 numbers",
        ),
        ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}{% endblock %}", 3, "too many brackets"),
    ],
    ids=["recursive-macro", "self-include", "huge-range", "deep-brackets"],
)
def test_runaway_template_gives_file_and_line(clinic_copy, tmp_path, body, line, message):
    template = with_template(clinic_copy, body)
    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert f"Error: {template}:{line}: " in result.stderr
    assert message in result.stderr
    assert pdfs(tmp_path / "out") == []


def test_a_template_that_extends_itself_names_its_first_line(clinic_copy, tmp_path):
    (clinic_copy / "templates").mkdir()
    (clinic_copy / "templates" / "handout.html").write_text('{% extends "handout.html" %}\n')
    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{clinic_copy / 'templates' / 'handout.html'}:1: a template calls itself" in (
        result.stderr
    )
    assert 'extend the built-in template as "base:<name>"' in result.stderr


def test_html_nested_too_deeply_for_weasyprint_is_an_error(renderer, tmp_path):
    with pytest.raises(RenderError, match="too many elements inside one another"):
        renderer.render(PAGE.format("<div>" * 3000 + "x"), base_url=tmp_path, roots=[tmp_path])


# ------------------------------------------------------------------ stylesheets that fetch


def test_web_font_import_names_the_line_and_reaches_no_network(clinic_copy, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        sheet = with_css(
            clinic_copy,
            "/* brand fonts */\n"
            f'@import url("http://127.0.0.1:{port}/css?family=Roboto");\n'
            "h1 { color: red }\n",
        )
        result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected
    finally:
        listener.close()
    assert result.exit_code == 1
    assert f"Error: {sheet}:2: blocked or missing file: " in result.stderr
    assert "leaflets never load from a network" in result.stderr
    assert "typography.fonts" in result.stderr  # what to do instead
    assert len(result.stderr.strip().splitlines()) == 1  # not 78 lines of traceback
    assert pdfs(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("css", "line", "message"),
    [
        ('@import "missing.css";\n', 1, "missing.css' does not exist. Check the file's name"),
        ("\n\n@import url(../../secret.css);\n", 3, "is outside the folders a leaflet may use"),
        ('@import "clinic.css";\n', 1, "a stylesheet imports itself"),
        (
            "@font-face { font-family: Brand;\n  src: url(fonts/brand.ttf) }\n",
            2,
            "brand.ttf' does not exist",
        ),
        ("h1 {\n  background: url('nope.png');\n}\n", 2, "nope.png' does not exist"),
    ],
    ids=["missing-import", "outside-import", "self-import", "missing-font", "missing-image"],
)
def test_stylesheet_that_asks_for_a_missing_or_blocked_file(tmp_path, css, line, message):
    clinic = tmp_path / "clinic"
    (clinic / "assets").mkdir(parents=True)
    (tmp_path / "secret.css").write_text("h1 { color: red }")
    sheet = clinic / "assets" / "clinic.css"
    sheet.write_text(css)
    with Renderer() as renderer, pytest.raises(RenderError) as info:
        renderer.render(
            PAGE.format("<h1>Title</h1>"), base_url=clinic, roots=[clinic], stylesheets=[sheet]
        )
    assert str(info.value).startswith(f"{sheet}:{line}: ")
    assert message in str(info.value)


# ------------------------------------------------------------------ CSS WeasyPrint ignores


def test_unknown_css_is_a_warning_once_with_file_line_and_hint(clinic_copy, tmp_path):
    # `slang` once failed the build (a pattern matched "lang"); `colour` only warned, vaguely.
    sheet = with_css(
        clinic_copy,
        "h1 { slang: 1; }\n"
        "p {\n  colour: red;\n}\n"
        ".callout { text-align: centre }\n"
        '.kicker { content: "Failed to load image" }\n',
    )
    result = build(
        TREATMENT, "silicone-gel", "--clinic", clinic_copy, "-o", tmp_path / "out", "--json"
    )
    assert result.exit_code == 0, result.output
    assert len(pdfs(tmp_path / "out")) == 2
    warned = [line for line in result.stderr.splitlines() if " CSS '" in line]
    assert f"{sheet}:1: CSS 'slang: 1' is ignored: 'slang' is not a CSS property" in warned[0]
    assert f"{sheet}:3: CSS 'colour: red' is ignored" in result.stderr
    assert "did you mean 'color'?" in result.stderr
    assert f"{sheet}:5: CSS 'text-align: centre' is ignored: invalid value" in result.stderr
    assert "did you mean 'center'?" in result.stderr
    # Reported once for the build, with the first leaflet, not once per leaflet.
    assert len(warned) == 3, warned
    assert all(line.startswith(f"Warning: {TREATMENT}: ") for line in warned)


def test_strict_renderer_makes_ignored_css_an_error(tmp_path):
    sheet = tmp_path / "clinic.css"
    sheet.write_text("p { color: red }\np { colour: red }\n")
    with Renderer(strict=True) as strict, pytest.raises(RenderError) as info:
        strict.render(PAGE.format(""), base_url=tmp_path, roots=[tmp_path], stylesheets=[sheet])
    assert f"{sheet}:2: CSS 'colour: red' is ignored" in str(info.value)
    assert "--strict" in str(info.value)
    with Renderer() as lenient:
        pdf = lenient.render(
            PAGE.format(""), base_url=tmp_path, roots=[tmp_path], stylesheets=[sheet]
        )
    assert pdf.data.startswith(b"%PDF")
    assert [w for w in pdf.warnings if "colour" in w] == [
        f"{sheet}:2: CSS 'colour: red' is ignored: 'colour' is not a CSS property "
        "(did you mean 'color'?). Correct it or remove the line."
    ]


def test_css_in_a_template_style_element_is_a_warning(renderer, tmp_path):
    pdf = renderer.render(
        PAGE.format("<style>\n\np { colour: blue }</style>"), base_url=tmp_path, roots=[tmp_path]
    )
    assert any(
        w.startswith("line 3 of a <style> element in a template: CSS 'colour: blue'")
        for w in pdf.warnings
    ), pdf.warnings


def test_css_ignored_while_laying_out_names_its_stylesheet(renderer, tmp_path):
    """A var() that comes to nothing is only found at layout, when WeasyPrint no longer
    says which stylesheet the rule came from: the line it names is looked up."""
    sheet = tmp_path / "clinic.css"
    sheet.write_text("h1 { color: red }\n\np { padding: var(--missing) }\n")
    pdf = renderer.render(PAGE.format(""), base_url=tmp_path, roots=[tmp_path], stylesheets=[sheet])
    assert any(w.startswith(f"{sheet}:3: CSS 'padding: ' is ignored") for w in pdf.warnings), (
        pdf.warnings
    )


def _record(level: int, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("weasyprint", level, __file__, 1, msg, args, None)


def test_records_are_sorted_by_template_not_by_their_words():
    css = _record(logging.WARNING, "Ignored `%s:%s` at %d:%d, %s.", "slang", " 1", 4, 3, "x")
    assert (classify(css).fatal, classify(css).css) == (False, True)
    glyph = next(t for t in FATAL_TEMPLATES if "notdef" in t)
    assert classify(_record(logging.WARNING, glyph, "\U0001f9ea", 0x1F9EA)).fatal
    assert classify(_record(logging.ERROR, "Something new: %s", "x")).fatal
    plain = classify(_record(logging.WARNING, "Too many glyphs missing from %s", "Failed to load"))
    assert (plain.fatal, plain.css) == (False, False)


def _weasyprint_templates() -> set[str]:
    """Every message template WeasyPrint passes to its logger, read from its source."""
    import weasyprint

    found = set()
    for source in Path(weasyprint.__file__).parent.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        if "LOGGER" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_classified_template_is_in_weasyprint_and_every_css_one_is_classified():
    import weasyprint

    known = _weasyprint_templates()
    assert weasyprint.__version__.split(".")[0] == "70"
    assert sorted((FATAL_TEMPLATES | CSS_TEMPLATES) - known) == []
    # Every CSS message WeasyPrint gives with a line number is treated as ignored CSS.
    numbered = {t for t in known if re.search(r" at %d:%d", t) and "SVG" not in t}
    assert sorted(numbered - CSS_TEMPLATES) == []


# ------------------------------------------------------------------ costly logos


def _use_logo(clinic: Path, name: str, data: bytes) -> int:
    (clinic / "assets" / name).write_bytes(data)
    return replace_in(clinic / "clinic.yaml", "assets/logo.svg", f"assets/{name}")


def _png(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def _embedded(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_logo_sizes_match_the_built_in_styles():
    """LOGO_PRINT_MM is the largest a built-in style prints a logo; keep them in step."""
    heights, widths = [], []
    for sheet in styles_dir().glob("*.css"):
        for rule in re.findall(r"\.logo\s*\{([^}]*)\}", sheet.read_text()):
            heights += [float(mm) for mm in re.findall(r"(?<![-\w])height:\s*([\d.]+)mm", rule)]
            widths += [float(mm) for mm in re.findall(r"max-width:\s*([\d.]+)mm", rule)]
    assert heights and widths
    assert (max(widths), max(heights)) == LOGO_PRINT_MM
    assert LOGO_MAX_PIXELS == (1654, 473)  # 300 dpi at twice that size


def test_a_huge_logo_is_shrunk_once_kept_transparent_and_warned_about(clinic_copy, tmp_path):
    width, height = 2400, 800  # stored without compression: a file of about 7.7 MB
    shade = Image.linear_gradient("L").resize((width, height))
    alpha = Image.new("L", (width, height), 255)
    alpha.paste(0, (0, 0, width // 4, height))  # the left quarter is see-through
    logo = Image.merge("RGBA", (shade, shade.transpose(Image.Transpose.ROTATE_180), shade, alpha))
    data = _png(logo, compress_level=0)
    assert len(data) > clinic_module.LARGE_LOGO_BYTES
    line = _use_logo(clinic_copy, "logo.png", data)

    loaded = load_clinic(str(clinic_copy))
    embedded = _embedded(loaded.logo.uri)
    assert embedded.format == "PNG" and embedded.mode == "RGBA"
    assert embedded.size == (1419, 473)  # the aspect ratio kept, within LOGO_MAX_PIXELS
    assert embedded.getpixel((10, 200))[3] == 0 and embedded.getpixel((1400, 200))[3] == 255
    assert load_clinic(str(clinic_copy)).logo.uri == loaded.logo.uri  # same bytes every time
    [warning] = loaded.warnings
    assert (warning.line, warning.field) == (line, "logo.medium.path")
    megabytes = f"{len(data) / 1_000_000:.1f} MB"
    assert f"'assets/logo.png' is a {megabytes} file (2400 x 800 pixels)" in warning.message
    assert "at most 1654 x 473 pixels" in warning.message

    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    [pdf] = pdfs(tmp_path / "out")
    images = [image for page in pypdf.PdfReader(pdf).pages for image in page.images]
    assert {image.image.size for image in images} == {(1419, 473)}  # not 2400 x 800


def test_a_small_logo_is_embedded_as_it_is(clinic_copy):
    data = _png(Image.linear_gradient("L").resize((400, 100)))
    _use_logo(clinic_copy, "logo.png", data)
    loaded = load_clinic(str(clinic_copy))
    assert base64.b64decode(loaded.logo.uri.split(",", 1)[1]) == data
    assert loaded.warnings == ()


def test_a_turned_jpeg_logo_stays_a_jpeg_and_keeps_how_it_looks(clinic_copy):
    photo = Image.linear_gradient("L").resize((3000, 1000)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees to show": a phone photo taken sideways
    out = io.BytesIO()
    photo.save(out, "JPEG", exif=exif.tobytes())
    _use_logo(clinic_copy, "logo.jpg", out.getvalue())
    embedded = _embedded(load_clinic(str(clinic_copy)).logo.uri)
    assert embedded.format == "JPEG"
    assert embedded.size == (158, 473)  # shown upright: tall, not wide
    assert embedded.getexif().get(0x0112) is None


def _png_header(width: int, height: int) -> bytes:
    """A PNG file that claims `width` x `height` pixels (nothing is decoded to refuse it)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("size", "shown"),
    [((13000, 13000), "13000 x 13000 pixels, 169 megapixels"), ((20000, 20000), "400 megapixels")],
)
def test_a_logo_with_too_many_pixels_is_refused_plainly(clinic_copy, size, shown):
    line = _use_logo(clinic_copy, "logo.png", _png_header(*size))
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ContentError) as info:
        warnings.simplefilter("always")
        load_clinic(str(clinic_copy))
    assert [str(w.message) for w in caught] == []  # no DecompressionBombWarning
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (line, "logo.medium.path")
    assert f"'assets/logo.png' is too large an image ({shown})" in problem.message
    assert "at most 50 megapixels" in problem.message


def test_a_stylesheet_far_too_large_is_refused_before_it_is_parsed(clinic_copy, tmp_path):
    sheet = with_css(clinic_copy, "/* padding */\n" + ".x { color: red; }\n" * 60_000)
    result = build(TREATMENT, "--clinic", clinic_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{sheet}: the stylesheet is 1," in result.stderr
    assert "at most 1,000,000" in result.stderr
    assert pdfs(tmp_path / "out") == []
