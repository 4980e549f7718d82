"""Loading and validating content: every problem, with its file and line."""

from __future__ import annotations

import pytest

from handouts.content import Library
from handouts.errors import ContentError, NotFoundError
from handouts.models import TreatmentHandout
from handouts.paths import content_dir

from .conftest import TREATMENT, replace_in


def problems_for(content, treatment=TREATMENT, lang="en"):
    with pytest.raises(ContentError) as info:
        Library(content).handout(treatment, lang)
    return info.value.problems


def leaflet(content):
    return content / "treatments" / TREATMENT / "en.yaml"


def test_bundled_leaflet_loads_with_every_section():
    handout = Library(content_dir()).handout(TREATMENT, "en")
    assert isinstance(handout, TreatmentHandout)
    assert handout.title == "Steroid injections for raised scars"
    assert handout.purpose.startswith("This leaflet explains")
    assert handout.side_effects.common and handout.side_effects.rare_serious
    assert len(handout.aftercare) >= 3
    assert handout.review.next_review > handout.review.last_reviewed


def test_unknown_field_names_its_line_and_suggests_the_right_one(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "\nsubtitle:", "\nsubtitel:") + 1
    [problem] = problems_for(content_copy)
    assert (problem.path, problem.line, problem.field) == (path, line, "subtitel")
    assert "did you mean 'subtitle'" in problem.message
    assert str(problem).startswith(f"{path}:{line}: subtitel: ")


def test_wrong_type_is_reported_at_its_line(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "\nrecovery:\n", "\nrecovery: soon\nrecovery_old:\n") + 1
    problems = problems_for(content_copy)
    wrong = [p for p in problems if p.field == "recovery"]
    assert wrong and wrong[0].line == line
    assert "should be a list" in wrong[0].message


def test_missing_section_is_reported(content_copy):
    path = leaflet(content_copy)
    text = path.read_text()
    start = text.index("\nrecovery:")
    end = text.index("\nside_effects:")
    path.write_text(text[:start] + text[end:])
    [problem] = problems_for(content_copy)
    assert problem.field == "recovery"
    assert problem.message == "this is required but missing"
    assert problem.line is not None


def test_dangling_reference_key_is_reported_with_a_suggestion(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "refs: [RF, NHS]", "refs: [RF, NHZ]")
    [problem] = problems_for(content_copy)
    assert problem.line == line
    assert problem.field == "key_points (item 1).refs (item 2)"
    assert problem.message == "'NHZ' is not in references.yaml; did you mean 'NHS'?"


def test_every_problem_is_reported_at_once(content_copy):
    path = leaflet(content_copy)
    replace_in(path, "\nsubtitle:", "\nsubtitel:")
    replace_in(path, "refs: [RF, NHS]", "refs: [RF, NHZ]")
    replace_in(path, '  version: "1.1"', '  version: ""')
    problems = problems_for(content_copy)
    assert {p.field for p in problems} == {
        "subtitel",
        "key_points (item 1).refs (item 2)",
        "review.version",
    }
    lines = [p.line for p in problems]
    assert lines == sorted(lines)


def test_bad_date_is_explained(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "last_reviewed: 2026-11-23", "last_reviewed: 22/11/2026")
    [problem] = problems_for(content_copy)
    assert (problem.line, problem.field) == (line, "review.last_reviewed")
    assert "YYYY-MM-DD" in problem.message


def test_review_dates_must_be_in_order(content_copy):
    path = leaflet(content_copy)
    replace_in(path, "next_review: 2027-11-23", "next_review: 2025-01-01")
    [problem] = problems_for(content_copy)
    assert problem.field == "review"
    assert "next_review must be later than last_reviewed" in problem.message


def test_purpose_must_be_one_sentence(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "look after your skin.", "look after your skin. Read it all.")
    [problem] = problems_for(content_copy)
    assert (problem.line, problem.field) == (line, "purpose")


def test_yaml_syntax_error_gives_the_line(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "\nsubtitle: Triamcinolone injections", "\nsubtitle: [unclosed")
    [problem] = problems_for(content_copy)
    assert problem.path == path
    assert problem.line is not None and abs(problem.line - (line + 1)) <= 2
    assert "is not valid YAML" in problem.message


def test_duplicate_key_is_an_error(content_copy):
    path = leaflet(content_copy)
    replace_in(path, "\nsubtitle:", "\ntitle: Another title\nsubtitle:")
    [problem] = problems_for(content_copy)
    assert "is not valid YAML" in problem.message and "duplicate" in problem.message.lower()


def test_unknown_kind_is_reported(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "kind: treatment", "kind: brochure")
    [problem] = problems_for(content_copy)
    assert (problem.line, problem.field) == (line, "kind")


def test_labels_must_keep_their_placeholders(content_copy):
    ui = content_copy / "ui" / "en.yaml"
    line = replace_in(ui, 'page_of: "Page {page} of {pages}"', 'page_of: "Page {page} of {total}"')
    with pytest.raises(ContentError) as info:
        Library(content_copy).labels("en")
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (line, "page_of")
    assert "{pages}" in problem.message and "{total}" in problem.message


def test_translation_must_record_where_it_came_from(full_content_copy):
    folder = full_content_copy / "treatments" / TREATMENT
    text = (folder / "fr.yaml").read_text(encoding="utf-8")
    start = text.index("translation:\n")
    end = text.index("title:")
    (folder / "fr.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    [problem] = problems_for(full_content_copy, lang="fr")
    assert problem.field == "translation"
    assert problem.path == folder / "fr.yaml"


def test_a_translation_holds_only_the_words(full_content_copy):
    folder = full_content_copy / "treatments" / TREATMENT
    (folder / "fr.yaml").write_text(
        (folder / "fr.yaml").read_text(encoding="utf-8") + "references: [NHS]\n", encoding="utf-8"
    )
    [problem] = problems_for(full_content_copy, lang="fr")
    assert problem.field == "references"
    assert "taken from the English leaflet" in problem.message


def test_unknown_treatment_suggests_the_nearest(content_copy):
    with pytest.raises(NotFoundError) as info:
        Library(content_copy).handout("steroid-injection", "en")
    assert "Did you mean 'steroid-injections'?" in str(info.value)
    assert "Available:" in str(info.value)


def test_unknown_language_lists_what_exists(content_copy):
    with pytest.raises(NotFoundError) as info:
        Library(content_copy).handout(TREATMENT, "xx")
    assert "Available: en" in str(info.value)  # the copy has no translations


def test_all_problems_covers_every_file(content_copy):
    replace_in(leaflet(content_copy), "\nsubtitle:", "\nsubtitel:")
    replace_in(
        content_copy / "references.yaml",
        '    short: "NHS. Scars: treatment"',
        '    shrt: "NHS. Scars: treatment"',
    )
    (content_copy / "treatments" / "Bad_Name").mkdir()
    problems = Library(content_copy).all_problems()
    fields = {p.field for p in problems}
    assert "subtitel" in fields
    assert "references.NHS.shrt" in fields
    assert any(p.path.name == "Bad_Name" for p in problems)
