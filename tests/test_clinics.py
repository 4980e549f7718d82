"""Clinics make the leaflets their own: brand file, overrides, init, explain, safety."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from typer.testing import CliRunner

from handouts.build import Selection, plan, run
from handouts.cli import app
from handouts.clinic import load_clinic
from handouts.content import Library
from handouts.errors import ContentError
from handouts.paths import clinics_dir, content_dir
from handouts.templating import Page, build_context, make_env, render_html

from .conftest import TREATMENT, build_one, decode_qr, replace_in

runner = CliRunner()
HARBOUR = "harbour-skin-clinic"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def html_context(clinic_spec, treatment=TREATMENT):
    library = Library(content_dir())
    clinic = load_clinic(str(clinic_spec))
    return build_context(
        library,
        treatment,
        library.resolve_locale(None, clinic.brand.defaults.language),
        clinic,
        Page(clinic.brand.defaults.paper, "standard"),
    )


def html_for(clinic_spec, treatment=TREATMENT):
    clinic = load_clinic(str(clinic_spec))
    return render_html(make_env(clinic), html_context(clinic_spec, treatment))


@pytest.fixture(scope="module")
def harbour(tmp_path_factory):
    return build_one(tmp_path_factory.mktemp("harbour"), clinic=HARBOUR)


@pytest.fixture
def harbour_copy(tmp_path):
    target = tmp_path / "harbour"
    shutil.copytree(clinics_dir() / HARBOUR, target)
    return target


# ------------------------------------------------------------------ brand in the PDF


def test_brand_values_appear_in_the_pdf(harbour):
    text = harbour.text()
    assert "Harbour Skin Clinic" in text
    assert "(206) 555-0142" in text and "(206) 555-0199" in text
    assert "call 911" in text
    assert "Patient information from Harbour Skin Clinic" in text  # the block override
    assert "Steroid injections for raised scars" in text  # ...and super() kept the title


def test_clinic_defaults_choose_letter_paper(harbour):
    box = harbour.reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert harbour.path.name == f"{TREATMENT}-standard-letter.pdf"


def test_heading_font_from_the_clinic_folder_is_embedded(harbour):
    names = {
        str(font.get_object()["/BaseFont"])
        for page in harbour.reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("NotoSerif-Bold" in n or "Noto-Serif-Bold" in n for n in names), names
    with pdfplumber.open(harbour.path) as pdf:
        title = [c for c in pdf.pages[0].chars if c["size"] > 20]
        assert title and all("Serif" in c["fontname"] for c in title)


def test_colours_reach_the_html():
    html = html_for(HARBOUR)
    assert "--primary: #5b2a6e;" in html and "--emergency: #b3261e;" in html
    assert 'class="masthead logo-right"' in html


def test_qr_code_scans_to_the_clinic_url(harbour, tmp_path):
    texts = harbour.page_texts()
    page = next(i for i, t in enumerate(texts) if "Scan with your phone camera" in t)
    assert decode_qr(harbour.path, page, tmp_path) == "https://harbourskin.example/aftercare"
    assert "https://harbourskin.example/aftercare" in texts[page]


def test_example_clinic_bytes_do_not_depend_on_location(tmp_path):
    outputs = []
    for place in ("a", "b/c"):
        clinic = tmp_path / place / "harbour"
        shutil.copytree(clinics_dir() / HARBOUR, clinic)
        outputs.append(build_one(tmp_path / place / "out", clinic=str(clinic)).data)
    assert outputs[0] == outputs[1]


def test_font_clinic_leaves_no_temporary_folders(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "handouts",
            "build",
            TREATMENT,
            "-c",
            HARBOUR,
            "-o",
            str(tmp_path / "out"),
        ],
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert list(temp.iterdir()) == []


@pytest.fixture(scope="module")
def harbour_all(tmp_path_factory):
    library = Library(content_dir())
    out = tmp_path_factory.mktemp("harbour-all")
    jobs = plan(library, Selection(library.treatments(), clinic=HARBOUR, out_dir=out))
    return {r.job.treatment: r for r in run(library, jobs)}


@pytest.mark.slow
@pytest.mark.parametrize("treatment", Library(content_dir()).treatments())
def test_second_example_clinic_renders_every_treatment(harbour_all, treatment):
    result = harbour_all[treatment]
    reader = pypdf.PdfReader(result.job.path)
    assert 2 <= len(reader.pages) == result.pages <= 6
    assert "Harbour Skin Clinic" in reader.pages[-1].extract_text()
    assert result.warnings == []


# ------------------------------------------------------------------ overrides


def write_template(clinic: Path, name: str, text: str) -> None:
    (clinic / "templates").mkdir(exist_ok=True)
    (clinic / "templates" / name).write_text(text)


def test_block_override_replaces_and_super_keeps(harbour_copy):
    write_template(
        harbour_copy,
        "handout.html",
        '{% extends "base:handout.html" %}'
        "{% block purpose %}<p>Our own purpose line.</p>{% endblock %}"
        "{% block questions %}{{ super() }}<p>Bring this leaflet.</p>{% endblock %}",
    )
    html = html_for(harbour_copy)
    assert "Our own purpose line." in html
    assert '<p class="purpose">' not in html
    assert "Questions you may want to ask" in html and "Bring this leaflet." in html


def test_base_prefix_reaches_the_built_in_template_under_an_override(harbour_copy):
    write_template(
        harbour_copy,
        "base.html",
        '{% extends "base:base.html" %}'
        "{% block footer %}{{ super() }}<p>Clinic base override</p>{% endblock %}",
    )
    html = html_for(harbour_copy)
    assert "Clinic base override" in html and "Page " in html


def test_templates_are_chosen_from_specific_to_general(harbour_copy):
    write_template(
        harbour_copy,
        f"{TREATMENT}.standard.html",
        '{% extends "handout.html" %}{% block related %}<p>Only for steroids</p>{% endblock %}',
    )
    assert "Only for steroids" in html_for(harbour_copy)
    assert "Only for steroids" not in html_for(harbour_copy, "laser")
    result = invoke("templates", "explain", TREATMENT, "--clinic", harbour_copy)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].startswith(f"USED  {TREATMENT}.standard.html")
    assert any(line.startswith("USED  handout.html") for line in lines)
    assert any(line.startswith("USED  base:handout.html") for line in lines)


def test_explain_lists_every_place_tried():
    result = invoke("templates", "explain", TREATMENT, "-c", "riverside-dermatology")
    assert result.exit_code == 0
    out = result.stdout
    assert f"tried {TREATMENT}.standard.html  (leaflet template, not there)" in out
    assert "USED  handout.html  (leaflet template)" in out
    assert "USED  partials/contact.html  (include, asked for by base.html)" in out
    assert "<- used" in out


def test_extra_css_is_applied(harbour_copy, tmp_path):
    (harbour_copy / "assets" / "clinic.css").write_text("h1 { font-size: 30pt; }")
    built = build_one(tmp_path / "out", clinic=str(harbour_copy))
    with pdfplumber.open(built.path) as pdf:
        sizes = {round(c["size"]) for c in pdf.pages[0].chars}
    assert 30 in sizes


# ------------------------------------------------------------------ validation


def problems(clinic):
    with pytest.raises(ContentError) as info:
        load_clinic(str(clinic))
    return info.value.problems


def test_unknown_key_in_brand_file(harbour_copy):
    line = replace_in(harbour_copy / "clinic.yaml", "\ncolor:", "\ncolour:") + 1
    [problem] = problems(harbour_copy)
    assert (problem.line, problem.field) == (line, "colour")
    assert "did you mean 'color'" in problem.message


def test_unknown_palette_name(harbour_copy):
    line = replace_in(harbour_copy / "clinic.yaml", "primary: plum", "primary: plump")
    [problem] = problems(harbour_copy)
    assert (problem.line, problem.field) == (line, "color.primary")
    assert "'plump' is not a colour in color.palette" in problem.message


def test_broken_font_file_and_unknown_family(harbour_copy):
    (harbour_copy / "assets" / "fonts" / "NotoSerif-Bold.ttf").write_bytes(b"not a font")
    found = problems(harbour_copy)
    assert any(
        "cannot be read as a font" in p.message
        and p.field == "typography.fonts (item 1).files (item 1).path"
        for p in found
    )
    replace_in(
        harbour_copy / "clinic.yaml",
        "    family: Harbour Serif\nextra",
        "    family: No Such Font Family\nextra",
    )
    assert any(
        "no font called 'No Such Font Family' is installed" in p.message
        for p in problems(harbour_copy)
    )


def test_bad_clinic_writes_no_pdf(harbour_copy, tmp_path):
    (harbour_copy / "assets" / "logo.svg").write_text("not svg at all")
    result = invoke("build", TREATMENT, "--clinic", harbour_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "logo.medium.path: 'assets/logo.svg' is not a readable SVG file" in result.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ hostile templates


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('{% include "../../../../../../etc/passwd" %}', "was not found"),
        ('{% include "/etc/passwd" %}', "was not found"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
        ("{{ handout.__class__.__init__.__globals__ }}", "not allowed"),
        ("{{ cycler.__init__.__globals__.os }}", "not allowed"),
        # Templates get plain records, not pydantic models: no methods to call.
        (
            '{{ handout.parse_file("assets/data.pkl", proto="pickle", allow_pickle=True) }}',
            "does not exist",
        ),
        ('{{ handout.parse_raw("{}") }}', "does not exist"),
        ('{{ handout.model_validate_json("{}") }}', "does not exist"),
        ("{{ handout.model_copy() }}", "does not exist"),
        ("{{ clinic.model_dump() }}", "does not exist"),
        ("{{ handout.__reduce__() }}", "not allowed"),
        ("{{ handout.__reduce_ex__(2) }}", "not allowed"),
        ("{{ page.__class__ }}", "not allowed"),
        # Dates are text: a call that would work on a date fails clearly, with its line.
        ("{{ handout.review.last_reviewed.replace(year=1) }}", "handout.html:1: a template failed"),
        ("{{ joiner.__init__.__globals__ }}", "not allowed"),
        ("{{ handout.key_points.append(1) }}", "not allowed"),
        ("{{ colors.update({'primary': '#ffffff'}) }}", "not allowed"),
        # Labels are filled slot by slot: no attribute walks and no giant padding.
        ("{{ '{x.__class__.__mro__}' | fill(x=handout) }}", "only plain slots"),
        ("{{ '{x:>2000000000}' | fill(x=1) }}", "only plain slots"),
        ("{{ '{x!r}' | fill(x=1) }}", "only plain slots"),
        ("{{ 'x' * 1000000000 }}", "at most 200,000"),
        ("{{ [1] * 1000000000 }}", "at most 200,000"),
        ("{{ 10 ** 100000000 }}", "at most 64"),
        ("{{ no_such_variable }}", "handout.html:1: a template uses something that does not exist"),
        ('<img src="file:///etc/hostname" alt="x">', "outside the folders a leaflet may use"),
        ('<img src="../../../../../../etc/hostname" alt="x">', "outside the folders"),
        ('<link rel="stylesheet" href="https://example.org/x.css">', "never load from a network"),
        ('<img src="http://127.0.0.1:9/x.png" alt="x">', "never load from a network"),
    ],
)
def test_hostile_template_fails_clearly_and_writes_nothing(
    harbour_copy, tmp_path, template, message
):
    write_template(
        harbour_copy,
        "handout.html",
        '{% extends "base:handout.html" %}{% block purpose %}' + template + "{% endblock %}",
    )
    result = invoke("build", TREATMENT, "--clinic", harbour_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.pdf"))


def test_a_linked_template_outside_the_folder_is_refused(harbour_copy, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text("TOP SECRET")
    write_template(
        harbour_copy,
        "handout.html",
        '{% extends "base:handout.html" %}{% block purpose %}'
        '{% include "evil.html" %}{% endblock %}',
    )
    (harbour_copy / "templates" / "evil.html").symlink_to(secret)
    result = invoke("build", TREATMENT, "--clinic", harbour_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "outside the clinic folder and the built-in templates" in result.stderr


def test_extra_css_cannot_fetch_outside_files(harbour_copy, tmp_path):
    (harbour_copy / "assets" / "clinic.css").write_text(
        'body { background: url("file:///etc/hostname"); }'
    )
    result = invoke("build", TREATMENT, "--clinic", harbour_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "outside the folders a leaflet may use" in result.stderr


# ------------------------------------------------------------------ clinic init


def test_clinic_init_makes_a_folder_that_builds_at_once(tmp_path):
    folder = tmp_path / "sunny-vale"
    result = invoke("clinic", "init", folder, "--name", "Sunny Vale Skin Centre")
    assert result.exit_code == 0, result.output
    for name in (
        "clinic.yaml",
        "README.md",
        "assets/logo.svg",
        "assets/clinic.css",
        "templates/handout.html",
    ):
        assert (folder / name).is_file(), name
    built = invoke("build", TREATMENT, "--clinic", folder, "-o", tmp_path / "out", "--json")
    assert built.exit_code == 0, built.output
    pdf = tmp_path / "out" / "sunny-vale" / "en-GB" / f"{TREATMENT}-standard-a4.pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    assert "Sunny Vale Skin Centre" in text
    assert "Ask your clinic to write its details here." in text  # no invented numbers
    assert invoke("check", "--clinic", folder).exit_code == 0


def test_clinic_init_edits_take_effect(tmp_path):
    folder = tmp_path / "mine"
    assert invoke("clinic", "init", folder).exit_code == 0
    replace_in(folder / "clinic.yaml", "  # phone: 01632 960 123", "  phone: 0800 000 0000")
    template = folder / "templates" / "handout.html"
    text = template.read_text()
    start = text.index("{#- Example")
    body = text[start:].split("\n", 2)[2].rsplit("-#}", 1)[0]
    template.write_text(text[:start] + body)
    html = html_for(folder)
    assert "0800 000 0000" in html
    assert '<p class="kicker">Patient information</p>' in html


def test_clinic_init_never_overwrites(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = invoke("clinic", "init", folder)
    assert result.exit_code == 1
    assert "not empty" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_template_cannot_unpickle_a_file_from_the_clinic_folder(harbour_copy, tmp_path):
    """The attack that worked when templates were given pydantic models: their parse_file
    method unpickled a file, which can run any code (here: create a file)."""
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (harbour_copy / "assets" / "data.pkl").write_bytes(pickle.dumps(Payload()))
    write_template(
        harbour_copy,
        "handout.html",
        '{% extends "base:handout.html" %}{% block purpose %}'
        '{{ handout.parse_file("assets/data.pkl", proto="pickle", allow_pickle=True) }}'
        "{% endblock %}",
    )
    result = invoke("build", TREATMENT, "--clinic", harbour_copy, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert not marker.exists()


def test_every_template_variable_is_documented(tmp_path):
    from handouts.templating import TEMPLATE_VARIABLES

    context = html_context(HARBOUR)
    assert set(context) == set(TEMPLATE_VARIABLES)
    listed = invoke("templates", "variables")
    assert listed.exit_code == 0
    guide = (Path(__file__).parent.parent / "docs" / "customising.md").read_text()
    for name, help_text in TEMPLATE_VARIABLES.items():
        assert f"{name}  " in listed.stdout and help_text[:30] in " ".join(listed.stdout.split())
        assert f"`{name}`" in guide, f"docs/customising.md does not list {name}"
