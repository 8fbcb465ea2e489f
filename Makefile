# Reproducible research compendium: build the paper and test everything.
#
#   make paper                  build build/paper/paper.{pdf,html,docx} and provenance.json
#                               (on all cores; two at once in one clone take turns)
#   make paper DATA=dir         the same from another dataset, into build/<dir name>/
#   make crate                  zip build/crate/ (Workflow Run RO-Crate) into build/crate.zip
#   make test                   run every test, the notebooks under nbval included
#   make lint                   check the code, tests and notebooks with ruff
#   make notebooks              refresh the committed notebooks' outputs
#   make fuzz                   5,000 mutated exports, datasets, classes and arguments: no crash, hang or loss
#   make class COURSE=dir       an nbgrader course for the class exercise (DATA= as for paper)
#   make bench                  time and measure the analysis on 1,000 synthetic interviews
#   make bench-build            time the build itself (cold, no-op, edits, each run)
#   make diff BASE=rev          what changed since revision rev, and why (BUILD/diff/)
#   make help                   list all targets
#
# The environment (.venv) is created from requirements.lock whenever it is
# missing or the lock changed. Nothing here needs conda, LaTeX or Quarto.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := paper
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COMPENDIUM := $(BIN)/compendium
VENV_STAMP := $(VENV)/.installed
PROJECT_STAMP := $(VENV)/.project

DEFAULT_DATA := data/synthetic
DATA ?= $(DEFAULT_DATA)
ifeq ($(abspath $(DATA)),$(abspath $(DEFAULT_DATA)))
BUILD ?= build
else
BUILD ?= build/$(notdir $(abspath $(DATA)))
endif

# make splits a list of files at white space and reads ':', ';', '|', '%' and '$' as its
# own syntax; a recipe's shell reads '&', quotes, brackets and the rest as its own. A
# path make builds from or into (DATA, BUILD, COURSE) may hold none of them, and a file
# in the dataset none of make's: say so at once, instead of make's "No rule to make
# target" or "multiple target patterns", or a shell's "command not found" (or a folder
# made at the space).
hash := \#
lparen := (
rparen := )
UNSAFE_IN_PATHS := : ; | % & < > * ? [ ] { } ' " ` \ $(hash) $(lparen) $(rparen)
unmakeable = $(or $(filter-out 0 1,$(words $(1))),$(strip \
    $(foreach c,$(UNSAFE_IN_PATHS),$(findstring $(c),$(1)))))
NO_UNMAKEABLE = holds a space or one of $(UNSAFE_IN_PATHS), which make or its shell \
    cannot build with; give a path without them (a symbolic link to the folder will do)
$(foreach v,DATA BUILD NB,$(if $(call unmakeable,$($(v))),$(error $(v)='$($(v))' $(NO_UNMAKEABLE))))

REGISTRY := notebooks/runs.toml
PAPER ?= paper
# The generated rules also define the build's layout (BUILD_LOCK, PAPER_DIR,
# VALUES, ...), named once in src/compendium/layout.py.
RULES := build/.rules
ASSETS := $(wildcard src/compendium/build_assets/*)
# Found on first use and then kept (each $(shell) starts a shell): only the make you
# start uses them, not the makes it re-enters under the lock.
NPROC = $(eval NPROC := $$(shell nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null \
	|| echo 1))$(NPROC)
# util-linux's flock serialises builds of one folder; where it is missing (macOS)
# builds still stage every step, but two at once are not made to take turns.
FLOCK = $(eval FLOCK := $$(shell command -v flock 2>/dev/null))$(FLOCK)

# $(call listed,VAR,COMMAND): what COMMAND prints, found by the make you start and
# handed to the makes it re-enters under the lock on their command line (HANDED),
# where the assignment is then ignored and COMMAND not run: each is a shell started,
# and a no-op build is mostly such starts.
listed = $(if $(filter command line,$(origin $(1))),,$(shell $(2)))
HANDED = DATA_FILES PACKAGE_FILES $(RUN_INPUT_LISTS)
# Each handed variable as one shell word (a quote in a file name included). A list
# of more than 300 files is found again instead: one word of a command line, and
# MAKEFLAGS, which carries them all, may not pass 128 KiB.
HAND_DOWN = $(foreach v,$(HANDED),$(if $(word 301,$($(v))),,'$(v)=$(subst ','\'',$($(v)))'))

# Everything a notebook run depends on besides its notebook, its parameters and the
# package modules its notebook imports (each run's own list, in the generated rules):
# the validated dataset and the environment.
# A file whose path in DATA holds one of the characters make cannot build with is
# listed as UNMAKEABLE (one find either way): the build then refuses the dataset,
# naming the files to rename.
DATA_FILES := $(call listed,DATA_FILES,find $(DATA) -type f -not -name '.*' \( \
	-path '*[[:space:]:;|%$$]*' -printf 'UNMAKEABLE\n' -o -print \) 2>/dev/null)
ifneq ($(filter UNMAKEABLE,$(DATA_FILES)),)
$(error $(DATA): make cannot build from a file whose name holds a space, ':', ';', '|', \
    '%' or '$$'; rename these, and the dataset's references to them, then run compendium \
    freeze: $(shell find $(DATA) -type f -not -name '.*' -path '*[[:space:]:;|%$$]*' \
    -printf "'%p' " 2>/dev/null | head -c 600))
endif
# Package versions (the lock) count; re-installing the project itself does not.
RUN_INPUTS = $(VALIDATED_STAMP) $(VENV_STAMP) | $(PROJECT_STAMP)
# VALIDATION_CODE (the modules validation reaches) comes with the generated rules.
# The research team's list of real names for the anonymisation gate (git-ignored);
# IDENTIFIERS=path/to/list points the gate at another one.
IDENTIFIERS ?= $(wildcard identifiers.txt)
# Every module and notebook: an edited import changes which runs a module feeds,
# so the rules are written again (in well under a second) whenever one changes.
PACKAGE_FILES := $(call listed,PACKAGE_FILES,find src/compendium -name '*.py' \
	-not -path '*/__pycache__/*')
NOTEBOOK_FILES := $(wildcard notebooks/*.ipynb)

-include $(RULES)/runs.mk

# --- environment ------------------------------------------------------------

$(VENV_STAMP): requirements.lock
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip check
	touch $@

$(PROJECT_STAMP): $(VENV_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

.PHONY: env
env: $(PROJECT_STAMP) ## create or update the environment (.venv) from requirements.lock

# roc-validator, which the crate tests run, needs rich<14 while the project pins
# rich 15: it lives in its own environment, from its own exact pins.
VALIDATOR_VENV := .venv-validator
VALIDATOR_STAMP := $(VALIDATOR_VENV)/.installed

$(VALIDATOR_STAMP): requirements-validator.lock
	rm -rf $(VALIDATOR_VENV)
	$(PYTHON) -m venv $(VALIDATOR_VENV)
	$(VALIDATOR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-validator.lock
	$(VALIDATOR_VENV)/bin/python -m pip check
	touch $@

.PHONY: validator-env
validator-env: $(VALIDATOR_STAMP) ## create the RO-Crate validator's environment (.venv-validator)

# --- the run rules, generated from the registry --------------------------------

$(RULES)/runs.mk: $(REGISTRY) $(PACKAGE_FILES) $(NOTEBOOK_FILES) $(wildcard src/compendium)
	PYTHONPATH=src $(PYTHON) -m compendium.pipeline.rules $(REGISTRY) $(RULES)

# --- data ---------------------------------------------------------------------

$(VALIDATED_STAMP): $(DATA_FILES) $(VALIDATION_CODE) $(IDENTIFIERS) $(VENV_STAMP) | $(PROJECT_STAMP)
	@test -f $(DATA)/datapackage.json || { echo "$(DATA): no datapackage.json; not a dataset folder" >&2; exit 1; }
	@mkdir -p $(BUILD)
	$(COMPENDIUM) validate $(DATA) --stamp $@ $(if $(IDENTIFIERS),--identifiers $(IDENTIFIERS))

# The commit the paper is built from; rewritten (atomically) only when it
# changes, so a no-op build stays a no-op. `make paper` checks it under the lock
# before it asks make whether anything is out of date, and tells the make it
# re-enters so (COMMIT_CHECKED); a make started otherwise checks it as a step.
COMMIT_CHECK = { [ -d $(BUILD) ] || mkdir -p $(BUILD); } && c=$$(git describe --always --dirty --abbrev=40 2>/dev/null \
	|| echo unknown) && if [ ! -f $(COMMIT_STAMP) ] || [ "$$(< $(COMMIT_STAMP))" != "$$c" ]; then \
	echo "$$c" > $(COMMIT_STAMP).tmp && mv -f $(COMMIT_STAMP).tmp $(COMMIT_STAMP); fi
$(COMMIT_STAMP): $(if $(COMMIT_CHECKED),,FORCE)
	@$(COMMIT_CHECK)

.PHONY: FORCE
FORCE:

# --- the paper ----------------------------------------------------------------
#
# Every step writes through a staging name and one atomic rename, its target
# last, so a build killed at any point (SIGKILL included) leaves nothing make
# would take as current; `compendium paper` reports any other inconsistency
# in one line that says what to run.

PAPER_STEP = $(COMPENDIUM) paper $(1) --data $(DATA) --build $(BUILD) --registry $(REGISTRY) --paper $(PAPER)

$(VALUES): $(RUN_MANIFESTS) $(COMMIT_STAMP) src/compendium/pipeline/paper.py $(DATA)/datapackage.json
	$(call PAPER_STEP,values)

# PDF, HTML and DOCX from one pandoc parse; the stamp is written after all three.
# The manuscript is assembled ($(ASSEMBLED), values and displays in place) in the
# same process just before, one interpreter start less on the way to the PDF:
# each step renames its own output into place, the render's stamp last, so a
# build killed between the two redoes both.
$(RENDERED): $(VALUES) $(PAPER)/paper.md $(wildcard $(DATA)/interview_guide.md) \
		$(PAPER)/references.bib $(ASSETS)
	$(call PAPER_STEP,assemble render)

$(PROVENANCE): $(VALUES) $(PAPER)/paper.md $(PAPER)/references.bib
	$(call PAPER_STEP,provenance)

# The executed notebooks as HTML, linked from every figure and table of the HTML paper.
$(NOTEBOOK_PAGES): $(RUN_MANIFESTS) src/compendium/pipeline/site.py
	$(call PAPER_STEP,notebooks)

# The dataset's documentation page, made beside the paper rather than after it.
$(DATA_PAGE): $(VALIDATED_STAMP) data/README.md $(DATA)/datapackage.json src/compendium/pipeline/site.py
	$(call PAPER_STEP,data-page)

# The Workflow Run RO-Crate of the whole build (its metadata file written last),
# then the reviewer's site: paper, notebooks, data documentation, provenance and
# a copy of the crate's metadata, relative links only. Both come after the render,
# one after the other, so one process makes them: an interpreter start less on
# every edit of the paper. A pattern rule with two targets (its stem is the build
# folder) is, in every make, one recipe that makes both; each step renames its
# own output into place, the site's index last, so a build killed between the
# two redoes both.
$(CRATE_AND_SITE): $(RENDERED) $(PROVENANCE) $(NOTEBOOK_PAGES) $(DATA_PAGE) $(RUN_MANIFESTS) \
		$(COMMIT_STAMP) CITATION.cff $(PAPER)/paper.md $(PAPER)/references.bib \
		LICENSE LICENSE-data-text.md requirements.lock Makefile $(REGISTRY) $(DATA_FILES) \
		$(wildcard src/compendium/*.py src/compendium/*/*.py) $(ASSETS)
	$(call PAPER_STEP,crate site)

# The CODECHECK manifest: every output a checker compares, and the paper's metadata.
$(CODECHECK_YML): $(PROVENANCE) CITATION.cff src/compendium/pipeline/codecheck.py
	$(call PAPER_STEP,codecheck)

PAPER_OUTPUTS = $(RENDERED) $(PROVENANCE) $(NOTEBOOK_PAGES) $(CRATE_METADATA) $(CODECHECK_YML) $(SITE_INDEX)

# `make paper`, `make site` and `make runs` re-enter make under a lock on the
# build folder, on every core unless -j was given: two builds started at once
# in one clone take turns, and the second finds the first's work current.
# The environment is made first (the targets below depend on it), since the
# fork server runs in it.
# Under the lock, the commit stamp is checked first; then `make -q` asks whether
# anything is out of date at all, and a no-op build ends there (one make read
# instead of two). Otherwise, when a run is out of date, the runs get their
# kernels from a fork server that has imported the libraries once
# (src/compendium/pipeline/warm.py), instead of each kernel importing them again.
# With -n nothing is checked or written: the re-entered make shows every step.
# The lock is taken on a descriptor of the recipe's shell, which make and the fork
# servers inherit, and let go when the last of them ends.
DRY_RUN = $(findstring n,$(firstword -$(MAKEFLAGS)))
REENTER = $(MAKE) --no-print-directory $(if $(DRY_RUN),,COMMIT_CHECKED=1) $(HAND_DOWN)
WARM = $$($(REENTER) -q runs-unlocked >/dev/null 2>&1 || \
	echo "$(BIN)/python -m compendium.pipeline.warm --")
LOCKED_MAKE = { [ -d $(BUILD) ] || mkdir -p $(BUILD); } && $(if $(FLOCK),exec 9>>$(BUILD_LOCK) && $(FLOCK) 9 &&) \
	$(if $(DRY_RUN),,$(COMMIT_CHECK) && { $(REENTER) -q $(1) >/dev/null 2>&1 ||) \
	$(WARM) $(REENTER) $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) $(1)$(if $(DRY_RUN),,; })

.PHONY: paper paper-unlocked
paper: $(RULES)/runs.mk $(PROJECT_STAMP) ## build the paper (PDF, HTML, DOCX) and its provenance from DATA
	+@$(call LOCKED_MAKE,paper-unlocked)
	@echo "paper: $(PAPER_DIR)/paper.pdf, paper.html, paper.docx and provenance.json are up to date"; \
	echo "site:  $(BUILD)/site/index.html (open it in a browser, or publish the folder as it is)"; \
	echo "crate: $(BUILD)/crate/ (Workflow Run RO-Crate; make crate zips it) and $(BUILD)/codecheck.yml"

# The data page (needing only the validated dataset) is named first, so that make
# starts it among the runs, not beside the values at the end, where it would keep
# the render, the longest step from there to the site, waiting for a core.
paper-unlocked: $(DATA_PAGE) $(PAPER_OUTPUTS)

.PHONY: crate crate-unlocked
crate: $(RULES)/runs.mk $(PROJECT_STAMP) ## zip build/crate/ (the Workflow Run RO-Crate) into build/crate.zip
	+@$(call LOCKED_MAKE,crate-unlocked)
	@echo "crate: $(CRATE_ZIP)"

crate-unlocked: $(CRATE_ZIP)

$(CRATE_ZIP): $(CRATE_METADATA)
	$(COMPENDIUM) paper crate-zip --data $(DATA) --build $(BUILD) --registry $(REGISTRY) --paper $(PAPER)

.PHONY: site site-unlocked
site: $(RULES)/runs.mk $(PROJECT_STAMP) ## the static site for reviewers (also made by make paper)
	+@$(call LOCKED_MAKE,site-unlocked)

site-unlocked: $(SITE_INDEX)

.PHONY: runs runs-unlocked
runs: $(RULES)/runs.mk $(PROJECT_STAMP) ## execute every notebook run (figures, tables, values) without the paper
	+@$(call LOCKED_MAKE,runs-unlocked)

runs-unlocked: $(RUN_MANIFESTS)

# --- what changed since another revision ---------------------------------------

# The base revision is built in a temporary git worktree (its own environment
# unless its lock is identical), then both builds are compared into $(BUILD)/diff/,
# and the site is rebuilt to carry the diff's page. BASE reaches the shell quoted: a
# branch name may hold ';', '&' or a quote.
.PHONY: diff
diff: paper ## what changed since revision BASE, and why: make diff BASE=main (writes BUILD/diff/)
	@test -n '$(subst ','\'',$(BASE))' || { echo 'say which revision to compare with: make diff BASE=main' >&2; exit 1; }
	$(COMPENDIUM) diff --base '$(subst ','\'',$(BASE))' $(BUILD) --data $(DATA)
	$(call PAPER_STEP,site)
	@echo "diff:  $(BUILD)/diff/changes.md, index.html (also in the site), text.html, paper-tracked.docx"

# --- notebooks, tests, benchmarks ----------------------------------------------

.PHONY: notebooks
notebooks: $(VALIDATED_STAMP) ## re-execute the committed notebooks to refresh their outputs
	$(COMPENDIUM) refresh-notebooks --registry $(REGISTRY)

.PHONY: notebook
notebook: $(VALIDATED_STAMP) ## run one notebook with other parameters: make notebook NB=notebooks/02-theme-matrix.ipynb PARAMS="theme=outcomes"
	@test -n "$(NB)" || { echo 'say which notebook: make notebook NB=notebooks/02-theme-matrix.ipynb PARAMS="theme=outcomes"' >&2; exit 1; }
	$(COMPENDIUM) notebook $(NB) $(PARAMS) --data $(DATA) --build $(BUILD)

COURSE ?= build/class-course
$(if $(call unmakeable,$(COURSE)),$(error COURSE='$(COURSE)' $(NO_UNMAKEABLE)))
.PHONY: class
class: $(VALIDATED_STAMP) ## create an nbgrader course for the class exercise in COURSE (default build/class-course) from DATA
	$(COMPENDIUM) class init $(COURSE) --data $(DATA) $(CLASS_ARGS)

LAB_PORT ?= 8888
.PHONY: lab
lab: $(PROJECT_STAMP) ## start JupyterLab on the notebooks with the project's kernel (LAB_PORT=8888)
	@echo "JupyterLab: http://127.0.0.1:$(LAB_PORT)/lab (the address with its token is printed below)"
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.port_retries=0 \
	  --ServerApp.root_dir=notebooks --ServerApp.default_url=/lab/tree/01-sample-and-codebook.ipynb \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

.PHONY: nbdime
nbdime: $(PROJECT_STAMP) ## make git show notebook diffs and merges with nbdime (this repository only)
	$(BIN)/nbdime config-git --enable
	@echo "git diff on notebooks now uses nbdime; undo with: $(BIN)/nbdime config-git --disable"

# On every core (pytest-xdist); each file's tests stay on one worker, so a
# notebook's nbval cells run in order in one kernel, and the tests that build
# the paper share one build (tests/conftest.py). Files go to the workers in the
# order tests/conftest.py gives them, the slowest first, so that the long builds
# run side by side at the start rather than one after the other at the end.
# pytest rewrites the asserts of every module of a package that ships a pytest plugin
# (all of hypothesis and anyio, which the notebooks' libraries import), and where
# PYTHONDONTWRITEBYTECODE is set it cannot cache them, so each worker rewrote them again
# while collecting; the plugins the suite uses are named instead of loaded by entry point.
PYTEST_PLUGINS = -p xdist.plugin -p nbval.plugin -p _hypothesis_pytestplugin
# The suite starts some hundreds of Python processes (builds' commands, servers,
# `python -c` probes); with PYTHONDONTWRITEBYTECODE set none of them can cache the
# project's compiled modules, so each compiled them again. Compiled once here, they
# are read by all (a stale one is never used: Python checks each against its source).

.PHONY: test
test: $(PROJECT_STAMP) $(VALIDATOR_STAMP) $(RULES)/runs.mk ## run the whole test suite (unit, property, build and nbval tests)
	$(BIN)/python -m compileall -q src tests
	PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 $(BIN)/python -m pytest $(PYTEST_PLUGINS) tests --nbval notebooks -p no:cacheprovider -n $(NPROC) --dist loadfile --no-loadscope-reorder

.PHONY: lint
lint: $(PROJECT_STAMP) ## ruff on the code, tests and notebooks, then mypy on src/ (both configured in pyproject.toml)
	$(BIN)/ruff check src tests notebooks
	$(BIN)/mypy

FUZZ_CASES ?= 5000
FUZZ_SEED ?= 1
.PHONY: fuzz
fuzz: $(PROJECT_STAMP) ## mutate real exports, a dataset, a class and the commands' arguments (FUZZ_CASES=5000, FUZZ_SEED=1); print the outcomes, exit 1 on any defect
	$(BIN)/python -m compendium.fuzz --cases $(FUZZ_CASES) --seed $(FUZZ_SEED)

.PHONY: bench
bench: $(PROJECT_STAMP) ## time loading, validation and each analysis step on 1,000 synthetic interviews
	$(BIN)/python -m compendium.bench --interviews 1000 --segments-per-interview 1000

.PHONY: bench-build
bench-build: $(PROJECT_STAMP) ## time the build in a fresh copy: cold (and its CPU seconds), no-op, paper edit, notebook edit, each run against the kernel floor (median of 3; BENCH_BUILD_ARGS=--cold-only)
	$(BIN)/python -m compendium.pipeline.benchbuild $(BENCH_BUILD_ARGS)

.PHONY: lock
lock: ## re-resolve the dependencies and rewrite requirements.lock and environment.yml
	rm -rf build/.lockenv
	$(PYTHON) -m venv build/.lockenv
	build/.lockenv/bin/python -m pip install --quiet --disable-pip-version-check ".[test,lab]" setuptools wheel
	# rfc3987-syntax (and lark, its only use) arrive through an optional extra of
	# jsonschema; importing it compiles grammars for 2.5 s in every process that
	# imports jsonschema, and nothing here needs IRI format checks.
	build/.lockenv/bin/python -m pip freeze --all --exclude-editable | \
	  grep -v -E '^(compendium|pip|rfc3987-syntax|lark)[= ]' > requirements.lock.new
	mv requirements.lock.new requirements.lock
	$(PYTHON) src/compendium/pipeline/envfile.py requirements.lock environment.yml
	rm -rf build/.lockenv

.PHONY: clean
clean: ## remove all build outputs (keeps .venv)
	rm -rf build

.PHONY: distclean
distclean: clean ## remove build outputs and the environment
	rm -rf $(VENV) src/*.egg-info

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
