"""Validate one or more handout files and print their reading level.

Usage: python tools/score_handout.py content/treatments/*/en.yaml
"""

import sys
from pathlib import Path

import textstat

from handouts.content import Library
from handouts.errors import ContentError

lib = Library(Path("content"))
for name in sys.argv[1:]:
    try:
        path = Path(name)
        h = lib.handout(path.parent.name, path.stem)
    except ContentError as exc:
        print(exc)
        continue
    sentences = [h.purpose] + [p.text for p in h.all_points()]
    text = " ".join(s if s.rstrip()[-1:] in ".?!:" else s + "." for s in sentences)
    fk = textstat.flesch_kincaid_grade(text)
    smog = textstat.smog_index(text)
    words = textstat.lexicon_count(text)
    print(f"{name}: words={words} FK={fk:.1f} SMOG={smog:.1f}")
    hardest = sorted(sentences, key=lambda s: -textstat.flesch_kincaid_grade(s))[:5]
    for s in hardest:
        print(f"   {textstat.flesch_kincaid_grade(s):5.1f}  {s}")
