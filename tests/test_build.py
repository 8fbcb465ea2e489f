"""The build: run rules, value substitution, cross-references, and a whole paper build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compendium.errors import CompendiumError
from compendium.pipeline import paper as paper_build
from compendium.pipeline.envfile import environment_text, read_lock
from compendium.pipeline.pandoc import pandoc_path
from compendium.pipeline.rules import load_registry, rules_text
from compendium.pipeline.rules import main as rules_main

from .conftest import DEMO, ROOT, docx_table_styles, make

REGISTRY = ROOT / "notebooks" / "runs.toml"


# --------------------------------------------------------------------------- rules


def test_registry_lists_the_theme_notebook_three_times():
    runs = load_registry(REGISTRY)
    themes = [r["parameters"].get("theme") for r in runs
              if r["notebook"] == "02-theme-matrix.ipynb"]
    assert themes == ["motivations", "outcomes", "cluster_role"]
    ids = [a for r in runs for a in r["artefacts"]]
    assert len(ids) == len(set(ids))


def test_runs_that_draw_more_figures_are_started_first(tmp_path: Path):
    registry = tmp_path / "runs.toml"
    registry.write_text("".join(
        f'[[runs]]\nid = "{run}"\nnotebook = "n.ipynb"\nartefacts = {artefacts}\n'
        for run, artefacts in (("table", '["tbl-a"]'), ("one", '["tbl-b", "fig-b"]'),
                               ("two", '["fig-c", "fig-d"]'), ("also-one", '["fig-e"]'))),
        encoding="utf-8")
    text = rules_text(load_registry(registry), registry, tmp_path)
    manifests = next(line for line in text.splitlines() if line.startswith("RUN_MANIFESTS"))
    # make starts the prerequisites' jobs in this order; ties keep the registry's order
    assert manifests.split()[2:] == [f"$(BUILD)/runs/{run}/manifest.json"
                                     for run in ("two", "one", "also-one", "table")]


def test_rules_rewrite_parameters_only_when_they_change(tmp_path: Path):
    registry = tmp_path / "runs.toml"
    registry.write_text('[[runs]]\nid = "a"\nnotebook = "a.ipynb"\nparameters = {x = 1}\n'
                        'artefacts = ["fig-a"]\n', encoding="utf-8")
    out = tmp_path / "rules"
    rules_main(["rules.py", str(registry), str(out)])
    params = out / "params-a.json"
    before = params.stat().st_mtime_ns
    time.sleep(0.01)
    rules_main(["rules.py", str(registry), str(out)])
    assert params.stat().st_mtime_ns == before  # unchanged parameters: run stays current
    registry.write_text(registry.read_text().replace("x = 1", "x = 2"), encoding="utf-8")
    rules_main(["rules.py", str(registry), str(out)])
    assert json.loads(params.read_text())["parameters"] == {"x": 2}
    assert "$(BUILD)/runs/a/manifest.json: notebooks/a.ipynb" in (out / "runs.mk").read_text()


def test_the_rules_command_says_what_is_wrong_in_one_line(tmp_path: Path):
    """make runs it before the environment exists; a person may run it by hand."""
    command = [sys.executable, "-m", "compendium.pipeline.rules"]
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    registry = ROOT / "notebooks" / "runs.toml"
    for argv, code, message in (
            ([], 2, "usage: python -m compendium.pipeline.rules REGISTRY OUTDIR"),
            ([str(tmp_path / "none.toml"), str(tmp_path / "out")], 1,
             f"{tmp_path / 'none.toml'}: no such file"),
            ([str(registry), str(blocker / "rules")], 1, f"{blocker / 'rules'}: ")):
        result = subprocess.run([*command, *argv], capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(message), line
    assert not (tmp_path / "out").exists()  # nothing made for a registry it could not read


# --------------------------------------------------------------------------- values


VALUES = {"sample.n": {"text": "14"}, "gap": {"text": "A sentence."}}


def test_values_are_substituted():
    text = "We spoke to {{sample.n}} people. {{ gap }}\n"
    assert paper_build.substitute_values(text, VALUES, "p.md") == \
        "We spoke to 14 people. A sentence.\n"


def test_unknown_value_names_the_line_and_suggests():
    with pytest.raises(CompendiumError) as err:
        paper_build.substitute_values("ok\n{{sample.m}}\n", VALUES, "paper/paper.md")
    assert str(err.value) == "paper/paper.md:2: unknown value 'sample.m'; did you mean sample.n?"


def test_unknown_display_is_an_error(tmp_path: Path):
    with pytest.raises(CompendiumError) as err:
        paper_build.place_artefact("figure", "fig-nope", {}, tmp_path, "paper/paper.md", 7)
    assert str(err.value).startswith("paper/paper.md:7: no figure 'fig-nope'")


def test_a_figure_keeps_its_classes_and_a_table_takes_none(tmp_path: Path):
    manifest = {"run": {"id": "r", "parameters": {}, "notebook": "notebooks/r.ipynb"},
                "dataset": {"synthetic": True, "name": "d", "hash": "0" * 64}}
    index = {"fig-a": ({"id": "fig-a", "kind": "figure", "caption": "A.", "files": ["fig-a.svg"]},
                       manifest),
             "tbl-a": ({"id": "tbl-a", "kind": "table", "caption": "T."}, manifest)}
    line = "{{figure fig-a .float .wide}}"
    kind, ident, classes = paper_build.DIRECTIVE.match(line).groups()
    placed = paper_build.place_artefact(kind, ident, index, tmp_path, "p.md", 3, classes)
    assert placed.endswith("(../runs/r/fig-a.svg){#fig-a .float .wide}\n")
    with pytest.raises(CompendiumError) as err:
        paper_build.place_artefact("table", "tbl-a", index, tmp_path, "p.md", 4, " .float")
    assert str(err.value) == "p.md:4: a table takes no classes ('.float'); only figures do"


# --------------------------------------------------------------------------- pandoc filter


def run_pandoc(markdown: str, tmp_path: Path, fmt: str = "html5") -> subprocess.CompletedProcess:
    source = tmp_path / "doc.md"
    source.write_text(markdown, encoding="utf-8")
    return subprocess.run(
        [pandoc_path(), str(source), "--to", fmt, "--lua-filter",
         str(paper_build.assets() / "crossref.lua"), "--metadata", "synthetic=false",
         "--wrap=none"],
        capture_output=True, text=True)


def test_crossrefs_number_figures_and_tables_in_order(tmp_path: Path):
    result = run_pandoc(
        "See @tbl-b and @fig-a.\n\n![Alpha](a.svg){#fig-a}\n\n| x |\n|---|\n| 1 |\n\n"
        ": Beta {#tbl-b}\n\n::: if-synthetic\nHIDDEN\n:::\n\n::: if-real\nSHOWN\n:::\n",
        tmp_path)
    assert result.returncode == 0, result.stderr
    html = result.stdout
    nbsp = "\u00a0"  # "Figure" and its number never split across lines
    assert f'<a href="#tbl-b">Table{nbsp}1</a>' in html
    assert f'<a href="#fig-a">Figure{nbsp}1</a>' in html
    assert f"<strong>Figure{nbsp}1.</strong> Alpha" in html
    assert f"<strong>Table{nbsp}1.</strong> Beta" in html
    assert "SHOWN" in html and "HIDDEN" not in html


def test_unknown_crossref_stops_pandoc(tmp_path: Path):
    result = run_pandoc("See @fig-missing.\n", tmp_path)
    assert result.returncode != 0
    assert "unknown cross-reference @fig-missing" in result.stderr


def test_pandoc_is_the_locked_wheels_even_with_a_newer_one_on_the_path(tmp_path: Path):
    # pypandoc's own lookup takes the highest version it finds, the PATH's included: a
    # newer pandoc installed on the machine would have built other bytes than the lock's.
    fake = tmp_path / "pandoc"
    fake.write_text('#!/bin/sh\necho "pandoc 99.0"\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    asked = subprocess.run(
        [sys.executable, "-c", "from compendium.pipeline.pandoc import pandoc_path, "
         "pandoc_version; print(pandoc_path()); print(pandoc_version())"],
        env=env, capture_output=True, text=True, check=True).stdout.split()
    import pypandoc

    wheel = Path(pypandoc.__file__).parent / "files"
    assert Path(asked[0]).parent == wheel
    assert asked[1] != "99.0"
    assert asked[1] == subprocess.run([str(wheel / "pandoc"), "--version"], capture_output=True,
                                      text=True, check=True).stdout.split()[1]


def test_a_missing_wheel_pandoc_is_one_message_that_says_how_to_get_it(monkeypatch,
                                                                       tmp_path: Path):
    from compendium.pipeline import pandoc

    class Spec:  # an installed pypandoc without its files/pandoc
        submodule_search_locations = [str(tmp_path)]

    monkeypatch.setattr(pandoc.importlib.util, "find_spec", lambda name: Spec())
    pandoc.pandoc_path.cache_clear()
    try:
        with pytest.raises(CompendiumError, match=r"rm -rf \.venv && make env"):
            pandoc.pandoc_path()
    finally:
        pandoc.pandoc_path.cache_clear()


def test_docx_uses_png_figures(tmp_path: Path):
    result = run_pandoc("![A](a.svg){#fig-a}\n", tmp_path, fmt="native")
    assert 'a.svg' in result.stdout  # only DOCX swaps to PNG
    assert result.returncode == 0


# --------------------------------------------------------------------------- environment


def test_environment_yml_agrees_with_the_lock():
    pins = read_lock(ROOT / "requirements.lock")
    assert all("==" in pin for pin in pins), "every lock line is an exact pin"
    assert (ROOT / "environment.yml").read_text(encoding="utf-8") == environment_text(pins)


# --------------------------------------------------------------------------- whole build


def test_build_writes_the_three_papers_and_provenance(built: Path):
    for name in ("paper.pdf", "paper.html", "paper.docx", "provenance.json"):
        assert (built / "paper" / name).stat().st_size > 1000, name
    assert (built / "paper" / "paper.pdf").read_bytes().startswith(b"%PDF")
    html = (built / "paper" / "paper.html").read_text(encoding="utf-8")
    assert "{{" not in html
    assert "synthetic data synthetic-ict-clusters" in html  # every caption names its data


def test_the_papers_keep_no_path_of_the_machine_that_built_them(built: Path):
    # The bibliography is handed to pandoc by its absolute path; once the parse has
    # resolved the citations, the writers' filter drops it, or the DOCX would carry
    # the path in its document properties (and HTML in nothing a reader sees).
    import zipfile

    paths = (str(ROOT).encode(), str(built.resolve()).encode(), b"references.bib")
    docx = zipfile.ZipFile(built / "paper" / "paper.docx")
    parts = {name: docx.read(name) for name in docx.namelist()}
    parts["paper.html"] = (built / "paper" / "paper.html").read_bytes()
    found = [(name, path) for name, data in parts.items() for path in paths if path in data]
    assert found == []


def test_provenance_lists_every_display_with_its_run(built: Path):
    record = json.loads((built / "paper" / "provenance.json").read_text(encoding="utf-8"))
    runs = load_registry(REGISTRY)
    promised = {a for r in runs for a in r["artefacts"]}
    listed = {d["id"]: d for d in record["displays"]}
    assert set(listed) == promised
    theme_runs = {tuple(sorted(d["parameters"].items())) for d in record["displays"]
                  if d["notebook"] == "notebooks/02-theme-matrix.ipynb"}
    assert theme_runs == {(("theme", "motivations"),), (("theme", "outcomes"),),
                          (("theme", "cluster_role"),)}
    for display in record["displays"]:
        assert len(display["inputs"]["dataset_sha256"]) == 64
        for file in display["files"]:
            assert (built / file).exists(), file
    assert record["dataset"]["synthetic"] is True
    assert all(v["text"] for v in record["values"])


def test_second_build_is_a_no_op(built: Path):
    # Only the commit check runs (silently, rewriting nothing); no build step does.
    result = make("paper", f"BUILD={built}")
    assert result.returncode == 0
    steps = [line for line in result.stdout.splitlines() if "compendium" in line]
    assert steps == [], steps


def test_text_edit_re_renders_without_running_notebooks(built: Path, tmp_path: Path):
    paper_copy = tmp_path / "paper"
    shutil.copytree(ROOT / "paper", paper_copy)
    with open(paper_copy / "paper.md", "a", encoding="utf-8") as handle:
        handle.write("\nOne more sentence.\n")
    result = make("-n", "paper", f"BUILD={built}", f"PAPER={paper_copy}")
    assert result.returncode == 0
    assert "paper assemble render" in result.stdout
    assert "compendium run" not in result.stdout


def test_editing_one_notebook_reruns_only_its_runs(built: Path):
    # -W pretends the notebook was just edited without touching it: a touched file
    # would be seen as edited by the other tests that ask make what it would do.
    # -o keeps make from writing the rules again on its account.
    result = make("-n", "-o", "build/.rules/runs.mk", "-W", "notebooks/05-saturation.ipynb",
                  "paper-unlocked", f"BUILD={built}")
    runs = [line for line in result.stdout.splitlines() if " run " in line]
    assert len(runs) == 1 and "run saturation" in runs[0]


def test_other_dataset_builds_into_its_own_folder(tmp_path: Path):
    other = tmp_path / "my-study"
    shutil.copytree(DEMO, other)
    result = make("-n", "paper", f"DATA={other}")
    assert result.returncode == 0
    assert "--build build/my-study" in result.stdout
    assert f"--data {other}" in result.stdout


def test_build_stops_on_an_invalid_dataset(tmp_path: Path):
    broken = tmp_path / "broken"
    shutil.copytree(DEMO, broken)
    (broken / "participants.csv").write_text("participant_id\nE01\n", encoding="utf-8")
    result = make("paper", f"DATA={broken}", f"BUILD={tmp_path / 'build'}")
    assert result.returncode != 0
    assert "participants.csv: perspective: required column is missing" in result.stderr
    assert not (tmp_path / "build" / "paper").exists()


def test_a_runs_own_inputs_are_prerequisites_of_its_rule(tmp_path: Path):
    registry = tmp_path / "runs.toml"
    registry.write_text('[[runs]]\nid = "a"\nnotebook = "a.ipynb"\nartefacts = []\n'
                        'inputs = ["data/class"]\n', encoding="utf-8")
    text = rules_text(load_registry(registry), registry, tmp_path)
    rule = next(line for line in text.splitlines() if line.endswith("$(RUN_INPUTS)"))
    assert " $(FILES_IN_data/class) " in rule
    # The folder's files are found when make reads the rules (by the make you start,
    # which hands the list to the makes it re-enters), so a file added later counts.
    assert ("FILES_IN_data/class := $(call listed,FILES_IN_data/class,"
            "find data/class -type f -not -name '.*' 2>/dev/null)") in text.splitlines()
    assert "RUN_INPUT_LISTS := FILES_IN_data/class" in text.splitlines()
    registry.write_text('[[runs]]\nid = "a"\nnotebook = "a.ipynb"\nartefacts = []\n'
                        'inputs = "data/class"\n', encoding="utf-8")
    with pytest.raises(CompendiumError, match="'inputs' must be a list"):
        load_registry(registry)


def test_a_render_after_an_edit_gives_the_pdf_of_a_render_from_nothing(built: Path,
                                                                        tmp_path: Path):
    """The render compiles the last render's Typst source while pandoc parses, so that Typst
    has its fonts, figures and unchanged layout at hand (paper.render): the PDF of the
    edited paper is the same bytes as when no earlier source was there."""
    build = tmp_path / "build"
    for part in ("runs", "paper", "commit.txt"):
        copy = shutil.copytree if (built / part).is_dir() else shutil.copy2
        copy(built / part, build / part)
    assembled = build / "paper" / "paper.assembled.md"
    text = assembled.read_text(encoding="utf-8")
    assert "Introduction" in text
    assembled.write_text(text.replace("Introduction", "Introduction and aims", 1),
                         encoding="utf-8")
    render = [sys.executable, "-m", "compendium.cli", "paper", "render", "--data", str(DEMO),
              "--build", str(build), "--registry", str(REGISTRY), "--paper", str(ROOT / "paper")]
    pdfs = []
    for _ in range(2):
        # the first render finds the shared build's source, the second none
        assert (build / "paper" / ".paper.typ").exists() == (not pdfs)
        result = subprocess.run(render, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        pdfs.append((build / "paper" / "paper.pdf").read_bytes())
        (build / "paper" / ".paper.typ").unlink()
    assert pdfs[0] == pdfs[1]
    assert pdfs[0] != (built / "paper" / "paper.pdf").read_bytes()  # the edit is in it


# --------------------------------------------------------------------------- the DOCX's tables

def test_the_docx_sets_every_table_cell_in_the_pdfs_table_size(built: Path):
    """At the body's 12 pt a narrow column broke its words letter by letter in LibreOffice
    ("custom|ers"); every cell paragraph is now Table Text, 8.5 pt as the PDF's tables,
    and tight lists outside tables keep pandoc's Compact."""
    from compendium.pipeline.pandoc import TABLE_TEXT_HALF_POINTS, reference_docx_bytes

    inside, outside, table_text = docx_table_styles(built / "paper" / "paper.docx")
    assert set(inside) == {"TableText"} and inside["TableText"] > 1000
    assert "TableText" not in outside and outside["Compact"] > 0
    assert table_text == {"size": str(TABLE_TEXT_HALF_POINTS), "based_on": "Compact"}
    assert TABLE_TEXT_HALF_POINTS == 17  # paper.typ's `#show table: set text(size: 8.5pt)`
    assert "set text(size: 8.5pt)" in (ROOT / "src" / "compendium" / "build_assets" /
                                        "paper.typ").read_text(encoding="utf-8")
    # the reference document is the same bytes each time it is made
    reference_docx_bytes.cache_clear()
    first = reference_docx_bytes()
    reference_docx_bytes.cache_clear()
    assert reference_docx_bytes() == first
