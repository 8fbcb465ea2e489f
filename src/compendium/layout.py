"""Where the build puts everything: one place naming every path and step of ``build/``.

The Makefile reads these names through the rules file the rule generator writes
(:func:`make_variables`), and the command line, the run step and the paper and
site builders ask a :class:`Layout` for their paths, so a folder is renamed here
and nowhere else. Standard library only: make runs the rule generator before
the project's environment exists.

::

    BUILD/                      build/ for the shipped dataset, build/<name>/ for others
      .lock                     held by `make paper` so that two builds take turns
      validated.stamp           the validated dataset's sha256 (written after validation)
      commit.txt                the commit the paper is built from
      runs/<id>/                one notebook run: notebook.ipynb, figures, tables,
                                manifest.json (staged in runs/.<id>.staging/)
      paper/values.json         every value the paper may print
      paper/paper.assembled.md  the manuscript with values and displays in place
      paper/paper.{pdf,html,docx}, paper/.rendered (written last)
      paper/provenance.json
      paper/notebooks/          the executed notebooks as HTML, .rendered last
      paper/data.html           the dataset's documentation page for the site
      crate/                    the Workflow Run RO-Crate: ro-crate-metadata.json (written
                                last), ro-crate-preview.html, data, software, runs, paper
      crate.zip                 the crate as one deterministic zip (`make crate`)
      codecheck.yml             the CODECHECK manifest of outputs a checker compares
      site/                     the reviewer's site, index.html included
      diff/                     `compendium diff OLD NEW`: what changed since another build
                                (changes.md, changes.json, index.html, text.html,
                                paper-tracked.docx); staged in .diff.staging/
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The build folder of the shipped dataset; another dataset builds into BUILD_ROOT/<its name>.
BUILD_ROOT = "build"
#: The generated make rules (shared by every dataset's build).
RULES_DIR = ".rules"
RULES_FILE = "runs.mk"

LOCK = ".lock"
VALIDATED = "validated.stamp"
COMMIT = "commit.txt"
RUNS = "runs"
MANIFEST = "manifest.json"
EXECUTED_NOTEBOOK = "notebook.ipynb"
PAPER = "paper"
VALUES = "values.json"
ASSEMBLED = "paper.assembled.md"
FORMATS = ("pdf", "html", "docx")
RENDERED = ".rendered"
PROVENANCE = "provenance.json"
NOTEBOOK_PAGES = "notebooks"
DATA_PAGE = "data.html"
SITE = "site"
SITE_INDEX = "index.html"
ADHOC = "notebooks"
DIFF = "diff"
CRATE = "crate"
CRATE_METADATA = "ro-crate-metadata.json"
CRATE_PREVIEW = "ro-crate-preview.html"
CRATE_ZIP = "crate.zip"
CODECHECK = "codecheck.yml"

#: The steps of `compendium paper STEP`, in the order make runs them.
PAPER_STEPS = ("values", "assemble", "render", "provenance", "notebooks", "data-page", "crate",
               "codecheck", "site", "crate-zip")

#: The environment variable through which the run step tells a notebook's
#: kernel which dataset hash the build validated (see ``notebook.start_run``).
VALIDATED_HASH_ENV = "COMPENDIUM_VALIDATED_SHA256"


@dataclass(frozen=True)
class Layout:
    """The paths of one build folder."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def lock(self) -> Path:
        """make's lock file: two builds of one folder take turns on it."""
        return self.root / LOCK

    @property
    def validated(self) -> Path:
        """The stamp `compendium validate` writes: the validated dataset's sha256."""
        return self.root / VALIDATED

    @property
    def commit(self) -> Path:
        """The stamp holding the git commit the paper is built from."""
        return self.root / COMMIT

    @property
    def runs(self) -> Path:
        """The folder of every run's outputs (``runs/<id>/``)."""
        return self.root / RUNS

    def run(self, run_id: str) -> Path:
        """The folder of one finished run."""
        return self.runs / run_id

    def manifest(self, run_id: str) -> Path:
        """The manifest of one run: the run's make target."""
        return self.run(run_id) / MANIFEST

    def executed_notebook(self, run_id: str) -> Path:
        """The executed copy of the run's notebook."""
        return self.run(run_id) / EXECUTED_NOTEBOOK

    @property
    def paper(self) -> Path:
        """The folder of the paper in every format, its values and provenance."""
        return self.root / PAPER

    @property
    def values(self) -> Path:
        """Every value the runs recorded, collected for the manuscript (``values.json``)."""
        return self.paper / VALUES

    @property
    def assembled(self) -> Path:
        """The manuscript with values and displays filled in, before pandoc."""
        return self.paper / ASSEMBLED

    def rendered_paper(self, fmt: str) -> Path:
        """``paper.<fmt>`` for one output format."""
        return self.paper / f"paper.{fmt}"

    @property
    def rendered(self) -> Path:
        """Stamp written after all formats are in place."""
        return self.paper / RENDERED

    @property
    def provenance(self) -> Path:
        """``provenance.json``: the run, parameters and inputs of every display and value."""
        return self.paper / PROVENANCE

    @property
    def notebook_pages(self) -> Path:
        """The executed notebooks as HTML pages, linked from the paper's captions."""
        return self.paper / NOTEBOOK_PAGES

    @property
    def notebook_pages_stamp(self) -> Path:
        """The stamp written after every notebook page: make's target for them."""
        return self.notebook_pages / RENDERED

    @property
    def data_page(self) -> Path:
        """The dataset's documentation page for the site."""
        return self.paper / DATA_PAGE

    @property
    def site(self) -> Path:
        """The reviewer's static site."""
        return self.root / SITE

    @property
    def site_index(self) -> Path:
        """The site's front page: make's target for the site."""
        return self.site / SITE_INDEX

    @property
    def diff(self) -> Path:
        """Where ``compendium diff`` writes what changed since another build."""
        return self.root / DIFF

    @property
    def crate(self) -> Path:
        """The RO-Crate folder (replaced whole by one rename)."""
        return self.root / CRATE

    @property
    def crate_metadata(self) -> Path:
        """The crate's ``ro-crate-metadata.json``: make's target for the crate."""
        return self.crate / CRATE_METADATA

    @property
    def crate_zip(self) -> Path:
        """The crate as one deterministic zip (``make crate``)."""
        return self.root / CRATE_ZIP

    @property
    def codecheck(self) -> Path:
        """The CODECHECK manifest of the outputs a checker compares."""
        return self.root / CODECHECK

    @property
    def adhoc(self) -> Path:
        """Where `make notebook` puts a notebook run with other parameters."""
        return self.root / ADHOC


def make_variables() -> str:
    """The layout as make variables (relative to ``$(BUILD)``), for the generated rules."""
    b = "$(BUILD)"
    lines = {
        "BUILD_LOCK": f"{b}/{LOCK}",
        "VALIDATED_STAMP": f"{b}/{VALIDATED}",
        "COMMIT_STAMP": f"{b}/{COMMIT}",
        "PAPER_DIR": f"{b}/{PAPER}",
        "VALUES": f"{b}/{PAPER}/{VALUES}",
        "ASSEMBLED": f"{b}/{PAPER}/{ASSEMBLED}",
        "RENDERED": f"{b}/{PAPER}/{RENDERED}",
        "PAPER_FILES": " ".join(f"{b}/{PAPER}/paper.{fmt}" for fmt in FORMATS),
        "PROVENANCE": f"{b}/{PAPER}/{PROVENANCE}",
        "NOTEBOOK_PAGES": f"{b}/{PAPER}/{NOTEBOOK_PAGES}/{RENDERED}",
        "DATA_PAGE": f"{b}/{PAPER}/{DATA_PAGE}",
        "CRATE_METADATA": f"{b}/{CRATE}/{CRATE_METADATA}",
        "CRATE_ZIP": f"{b}/{CRATE_ZIP}",
        "CODECHECK_YML": f"{b}/{CODECHECK}",
        "SITE_INDEX": f"{b}/{SITE}/{SITE_INDEX}",
        # the crate's metadata and the site's index as the two targets of one
        # pattern rule, whose stem is the build folder: one recipe makes both
        "CRATE_AND_SITE": f"%/{CRATE}/{CRATE_METADATA} %/{SITE}/{SITE_INDEX}",
    }
    return "".join(f"{name} = {value}\n" for name, value in lines.items())


def run_target(run_id: str) -> str:
    """A run's manifest as a make target."""
    return f"$(BUILD)/{RUNS}/{run_id}/{MANIFEST}"
