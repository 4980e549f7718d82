# The two commands in the README:
#   make examples   install everything and build the example leaflets into output/
#   make test       install everything and run the tests (CI runs this too)
PYTHON ?= python3
PIP = PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 $(PYTHON) -m pip install -q
HANDOUTS = $(PYTHON) -m handouts

.PHONY: examples test quick install install-test lint format docs bench schemas clean

# Every leaflet in every language, for each example clinic.
LANGS = --lang en --lang es --lang fr --lang pt --lang zh-Hans --lang ar --lang vi
examples: install
	$(HANDOUTS) build --all $(LANGS)
	$(HANDOUTS) build --all $(LANGS) --clinic riverside-dermatology
	$(HANDOUTS) build --all $(LANGS) --clinic harbour-skin-clinic

test: install-test
	$(PYTHON) -m pytest -n 2 --dist loadfile
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

# While you work: everything but the slow end-to-end matrices (make test runs them all).
quick:
	$(PYTHON) -m pytest -n 2 --dist loadfile -m "not slow"

install:
	bash scripts/install-system-deps.sh
	$(PIP) -e .

# The tests also read QR codes back with zbarimg (zbar-tools).
install-test:
	bash scripts/install-system-deps.sh zbar-tools
	$(PIP) -e ".[test]"

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

# The page pictures in docs/ (needs pdftoppm from poppler-utils).
DOCS_PDF = build/docs
docs: install
	bash scripts/install-system-deps.sh poppler-utils
	rm -rf $(DOCS_PDF)
	$(HANDOUTS) build steroid-injections -o $(DOCS_PDF)
	$(HANDOUTS) build steroid-injections -c riverside-dermatology -o $(DOCS_PDF)
	$(HANDOUTS) build steroid-injections -c harbour-skin-clinic -o $(DOCS_PDF)
	pdftoppm -r 60 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/riverside-dermatology/en-GB/steroid-injections-standard-a4.pdf docs/images/steroid-injections-riverside-page1
	pdftoppm -r 60 -png -singlefile -f 3 -l 3 $(DOCS_PDF)/neutral/en-GB/steroid-injections-standard-a4.pdf docs/images/steroid-injections-neutral-page3
	pdftoppm -r 60 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/neutral/en-GB/steroid-injections-standard-a4.pdf docs/images/customising-1-neutral
	pdftoppm -r 60 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/riverside-dermatology/en-GB/steroid-injections-standard-a4.pdf docs/images/customising-2-brand-file
	pdftoppm -r 60 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/harbour-skin-clinic/en-US/steroid-injections-standard-letter.pdf docs/images/customising-3-override
	pdftoppm -r 60 -png -singlefile -f 4 -l 4 $(DOCS_PDF)/harbour-skin-clinic/en-US/steroid-injections-standard-letter.pdf docs/images/customising-4-contact-qr
	for style in large-print summary trifold; do \
	  $(HANDOUTS) build steroid-injections -s $$style -c riverside-dermatology -o $(DOCS_PDF); done
	pdftoppm -r 60 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/riverside-dermatology/en-GB/steroid-injections-standard-a4.pdf docs/images/style-standard
	pdftoppm -r 60 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/riverside-dermatology/en-GB/steroid-injections-large-print-a4.pdf docs/images/style-large-print
	pdftoppm -r 60 -png -singlefile $(DOCS_PDF)/riverside-dermatology/en-GB/steroid-injections-summary-a4.pdf docs/images/style-summary
	pdftoppm -r 45 -png -f 1 -l 2 $(DOCS_PDF)/riverside-dermatology/en-GB/steroid-injections-trifold-a4.pdf docs/images/style-trifold
	$(HANDOUTS) build steroid-injections -c riverside-dermatology -l ar -l zh-Hans -l vi -o $(DOCS_PDF)
	for lang in ar zh-Hans vi; do \
	  pdftoppm -r 45 -png -singlefile -f 1 -l 1 $(DOCS_PDF)/riverside-dermatology/$$lang/steroid-injections-standard-a4.pdf $(DOCS_PDF)/page1-$$lang; done
	$(PYTHON) scripts/side-by-side.py docs/images/languages-page1.png $(DOCS_PDF)/page1-ar.png $(DOCS_PDF)/page1-zh-Hans.png $(DOCS_PDF)/page1-vi.png

# Editor schemas in schemas/ (a test fails when they are out of date).
schemas:
	for kind in leaflet clinic labels references locale; do \
	  $(HANDOUTS) schema $$kind -o schemas/$$kind.schema.json; done

bench: install-test
	$(PYTHON) benchmarks/bench_build.py

clean:
	rm -rf output build dist .pytest_cache
