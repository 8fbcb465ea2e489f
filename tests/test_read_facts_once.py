"""Facts are read once: one descriptor reader, one hash check, file names spelled once, and
the data's synthetic flag handed on as a value, never worked out from printed text."""

from __future__ import annotations

import ast
import codecs
import json
import shutil
from pathlib import Path

import pytest

from compendium.dataset import load_dataset, validate_dataset
from compendium.dataset.datapackage import (
    DESCRIPTOR,
    INTERVIEW_GUIDE,
    file_matches_hash,
    read_descriptor,
    resource_hashes,
)
from compendium.errors import CompendiumError
from compendium.pipeline import diff_builds as diff
from compendium.pipeline import paper, runs, site
from compendium.steps.notebook import changed_files

from .conftest import DEMO, ROOT

PACKAGE = ROOT / "src" / "compendium"
#: The one module that opens the descriptor.
READER = PACKAGE / "dataset" / "datapackage.py"


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> tuple[Path, Path]:
    """The demo dataset twice: as shipped, and with a UTF-8 byte-order mark on its descriptor
    (and on its interview guide), as Windows editors save them."""
    base = tmp_path_factory.mktemp("twins")
    plain, bom = base / "plain", base / "bom"
    shutil.copytree(DEMO, plain)
    shutil.copytree(DEMO, bom)
    descriptor = bom / DESCRIPTOR
    descriptor.write_bytes(codecs.BOM_UTF8 + descriptor.read_bytes())
    return plain, bom


def test_a_descriptor_with_a_bom_is_read_alike_everywhere(twins, tmp_path):
    plain, bom = twins
    assert (bom / DESCRIPTOR).read_bytes().startswith(codecs.BOM_UTF8)
    assert read_descriptor(bom) == read_descriptor(plain)
    # validation and the notebooks' loading
    assert validate_dataset(bom, anonymity=False) == []
    assert load_dataset(bom, validate=False).descriptor == load_dataset(plain,
                                                                        validate=False).descriptor
    # the site's data page (it refused a BOM before it read through the one reader)
    assert site.data_page(bom) == site.data_page(plain)
    # what a run records of its inputs
    notebook = ROOT / "notebooks" / "01-sample-and-codebook.ipynb"
    run = {"id": "r", "inputs": []}
    recorded = [runs.run_inputs(run, notebook, folder, "h", "c")["dataset_files"]
                for folder in (plain, bom)]
    assert recorded[0] == recorded[1] == resource_hashes(read_descriptor(plain))
    # the build's own values (an empty registry: no runs, only the build's values)
    registry = tmp_path / "runs.toml"
    registry.write_text("", encoding="utf-8")
    values = [paper.collect_values(tmp_path / f"build-{f.name}", registry, f)
              for f in (plain, bom)]
    assert {k: v for k, v in values[0].items() if k.startswith("dataset.")} == \
        {k: v for k, v in values[1].items() if k.startswith("dataset.")}
    # the diff's reading of a build's dataset
    digest = values[0]["dataset.hash"]["value"]
    build = diff.Build(tmp_path, ROOT, {"runs": {"r": {"inputs": {"dataset_sha256": digest}}}},
                       {}, "")
    assert diff.dataset_files(build, bom) == diff.dataset_files(build, plain) != {}


def test_only_the_reader_opens_the_descriptor():
    """No module but datapackage.py reads ``datapackage.json`` itself (by name or constant)."""
    def names_descriptor(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Constant) and n.value == DESCRIPTOR
                   or isinstance(n, ast.Name) and n.id == "DESCRIPTOR" for n in ast.walk(node))

    readers = ("read_text", "read_bytes", "open", "load", "loads", "parse_json")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == READER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            if name in readers and (names_descriptor(node.func) or
                                    any(names_descriptor(a) for a in node.args)):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == [], "read the descriptor with datapackage.read_descriptor: " + ", ".join(found)


def test_the_reader_refuses_in_one_line(tmp_path):
    (tmp_path / DESCRIPTOR).mkdir()
    with pytest.raises(CompendiumError, match="is a folder, not a file"):
        read_descriptor(tmp_path)
    with pytest.raises(CompendiumError, match="no such directory"):
        read_descriptor(tmp_path / "absent")


def test_one_hash_check_for_validation_and_the_notebooks(demo_copy):
    dataset = load_dataset(demo_copy, validate=False)
    assert changed_files(dataset) == []
    resource = next(r for r in dataset.descriptor["resources"] if r["path"] == "codings.csv")
    assert file_matches_hash(demo_copy / "codings.csv", resource)
    with open(demo_copy / "codings.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert not file_matches_hash(demo_copy / "codings.csv", resource)
    assert changed_files(dataset) == ["codings.csv"]
    problems = [p for p in validate_dataset(demo_copy, anonymity=False)
                if p.file == "codings.csv" and "sha256 differs" in p.message]
    assert len(problems) == 1


def test_the_dataset_file_names_are_spelled_once():
    literals = {DESCRIPTOR: [], INTERVIEW_GUIDE: []}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == READER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in literals:
                literals[node.value].append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert literals == {DESCRIPTOR: [], INTERVIEW_GUIDE: []}
    # The Makefile keeps the guide's name as a literal (its rules are written by hand, and
    # the rule generator runs before pandas, which the dataset package imports, is there);
    # it must be the dataset floor's name.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"$(wildcard $(DATA)/{INTERVIEW_GUIDE})" in makefile


def test_the_synthetic_flag_is_a_value_not_a_text():
    # The printed kind of data may be worded in any way; the filter follows the flag.
    values = {"dataset.kind": {"value": "synthetic", "text": "Synthetic (generated)"},
              "design.study": {"value": "s", "text": "s"}}
    assert paper.conditions(values, True)[0] is True
    assert paper.conditions(values, False)[0] is False
    build = diff.Build(Path("."), ROOT, {"dataset": {"synthetic": True}}, values, "")
    assert build.synthetic
    assert not diff.Build(Path("."), ROOT, {}, values, "").synthetic


def test_the_shipped_descriptor_says_synthetic_as_the_paper_does():
    assert read_descriptor(DEMO)["compendium"]["synthetic"] is True
    assert json.loads((DEMO / DESCRIPTOR).read_text(encoding="utf-8"))["compendium"][
        "synthetic"] is True
