"""``compendium diff OLD NEW``: what changed between two builds, and why.

The base of every comparison is the session's build of the demo data
(``built``); each variant is a copy of it in which only what changed is made
again: one coding (the whole build, since every run reads the dataset), one
run's parameter (that run and the paper's steps), or one sentence of the
manuscript (the paper's steps). What the diff lists is checked against what an
independent comparison of the two build folders finds, and the tracked-changes
DOCX is read as Word stores it (``word/document.xml``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from compendium.cli import main
from compendium.pipeline.diff_builds import row_changes, table_cells
from compendium.pipeline.diff_text import word_diff

from .conftest import DEMO, ROOT, copy_build, docx_table_styles, make

COMPENDIUM = str(ROOT / ".venv" / "bin" / "compendium")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def compendium(*args: str, cwd: Path = ROOT) -> None:
    result = subprocess.run([COMPENDIUM, *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def paper_steps(build: Path, *steps: str, registry: Path = ROOT / "notebooks" / "runs.toml",
                paper: Path = ROOT / "paper") -> None:
    """Re-run only the paper's steps a diff reads (values, text, provenance), not the render."""
    for step in steps:
        compendium("paper", step, "--data", str(DEMO), "--build", str(build),
                   "--registry", str(registry), "--paper", str(paper))


def run_diff(old: Path, new: Path, out: Path, capsys) -> dict:
    assert main(["diff", str(old), str(new), "--to", str(out), "--repository", str(ROOT)]) == 0
    report = json.loads((out / "changes.json").read_text(encoding="utf-8"))
    report["stdout"] = capsys.readouterr().out
    return report


def tracked(docx: Path) -> dict[str, list[str]]:
    """The text of every ``w:ins`` and ``w:del`` in a DOCX, as Word stores them."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(zipfile.ZipFile(docx).read("word/document.xml"))
    found: dict[str, list[str]] = {"ins": [], "del": []}
    for kind in found:
        for element in root.iter(f"{W}{kind}"):
            found[kind].append("".join(t.text or "" for t in element.iter()
                                       if t.tag in (f"{W}t", f"{W}delText")))
    return found


def content_differs(old: Path, new: Path) -> set[str]:
    """An independent list: displays whose CSV or SVG bytes differ, values whose text does."""
    def digests(build: Path) -> dict[str, str]:
        out = {}
        for manifest in sorted((build / "runs").glob("*/manifest.json")):
            for artefact in json.loads(manifest.read_text())["artefacts"]:
                for name in artefact["files"]:
                    if name.endswith((".csv", ".svg")):
                        data = (manifest.parent / name).read_bytes()
                        out[artefact["id"]] = hashlib.sha256(data).hexdigest()
        values = json.loads((build / "paper" / "values.json").read_text())
        out.update({key: entry["text"] for key, entry in values.items()})
        return out

    a, b = digests(old), digests(new)
    return {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)} - {"build.commit"}


# --------------------------------------------------------------------------
# Pieces, on small known inputs


def test_word_diff_marks_words_and_leaves_structure_alone():
    old = "# Head\n\nThe quick fox.\n\n| a | b |\n|---|---|\n| 1 | 0.45 |\n\nGone.\n\nEnd @fig-a.\n"
    new = "# Head\n\nThe slow fox jumps.\n\n| a | b |\n|---|---|\n| 1 | 0.52 |\n\nEnd @fig-b.\n"
    marked, counts = word_diff(old, new, "2010-01-01T00:00:00Z")
    spans = re.findall(r"\[([^\]]*)\]\{\.(insertion|deletion)", marked)
    assert spans == [("quick", "deletion"), ("slow", "insertion"), ("jumps", "insertion"),
                     ("0\\.45", "deletion"), ("0.52", "insertion"), ("Gone\\.", "deletion")]
    assert "| 1 | [0\\.45]" in marked and "End @fig-b." in marked  # table row and reference kept
    assert counts == {"inserted_words": 3, "deleted_words": 3}
    assert word_diff(old, old, "d") == (old, {"inserted_words": 0, "deleted_words": 0})


def test_word_diff_never_marks_attributes_link_targets_or_table_rules():
    """A span inside ``{...}``, a link's ``(...)`` or a table's rule line breaks the syntax
    (an older build's figure without ``.float`` left its label undefined); the new text is
    kept as it is there, and words beside it are still marked."""
    old = ("![Cap](a.svg){#fig-a}\n\n| a | bb |\n|---|---|\n| 1 | 2 |\n\n"
           "See the [notebook](old/page.html) now.\n\n---\n")
    new = ("![Cap](a.svg){#fig-a .float}\n\n| a | bb |\n|----|---|\n| 1 | 2 |\n\n"
           "See the [first notebook](new/page.html) now.\n\n----\n")
    marked, counts = word_diff(old, new, "2010-01-01T00:00:00Z")
    assert "{#fig-a .float}" in marked and "\n|----|---|\n" in marked
    assert "](new/page.html)" in marked and marked.endswith("\n----\n")
    spans = re.findall(r"\[([^\[\]]*)\]\{\.(insertion|deletion)", marked)
    assert spans == [("first", "insertion")]
    assert counts == {"inserted_words": 1, "deleted_words": 0}


def test_row_changes_pair_a_moved_coding_by_row(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(DEMO, old)
    shutil.copytree(DEMO, new)
    lines = (new / "codings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("MOT-PARTNERS", "OUT-SALES")
    del lines[5]
    (new / "codings.csv").write_text("".join(lines), encoding="utf-8")
    changes = row_changes("codings.csv", old, new)
    assert [(c["row"], c["change"]) for c in changes] == [(2, "changed"), (6, "removed")]
    assert changes[0]["columns"] == {"code_id": ["MOT-PARTNERS", "OUT-SALES"]}


def test_table_cells_name_row_and_column(tmp_path):
    (tmp_path / "a.csv").write_text("code,E,I\nX,1,2\nY,3,4\n")
    (tmp_path / "b.csv").write_text("code,E,I\nX,1,5\nZ,3,4\n")
    assert table_cells(tmp_path / "a.csv", tmp_path / "b.csv") == [
        {"row": "X", "column": "I", "old": "2", "new": "5"},
        {"row": "Z", "column": None, "old": None, "new": "Z, 3, 4"},
        {"row": "Y", "column": None, "old": "Y, 3, 4", "new": None}]


# --------------------------------------------------------------------------
# Builds of the demo data


def test_identical_builds_say_no_changes(built, tmp_path, capsys):
    report = run_diff(built, copy_build(built, tmp_path / "same"), tmp_path / "diff", capsys)
    assert report["changes"] == [] and report["inputs"] == []
    assert not report["text"]["changed"]
    assert report["stdout"].strip().endswith("no changes")
    assert "No changes" in (tmp_path / "diff" / "changes.md").read_text(encoding="utf-8")
    assert tracked(tmp_path / "diff" / "paper-tracked.docx") == {"ins": [], "del": []}


def test_paper_edit_lists_no_values_and_tracks_exactly_the_edit(built, tmp_path, capsys):
    paper = tmp_path / "paper"
    shutil.copytree(ROOT / "paper", paper)
    text = (paper / "paper.md").read_text(encoding="utf-8")
    assert text.count("a favoured instrument") == 1
    (paper / "paper.md").write_text(text.replace("a favoured instrument", "a popular instrument"),
                                    encoding="utf-8")
    new = copy_build(built, tmp_path / "edited")
    paper_steps(new, "assemble", "provenance", paper=paper)
    report = run_diff(built, new, tmp_path / "diff", capsys)
    assert report["changes"] == []
    assert report["text"]["inserted_words"] == 1 and report["text"]["deleted_words"] == 1
    assert tracked(tmp_path / "diff" / "paper-tracked.docx") == {"ins": ["popular"],
                                                                 "del": ["favoured"]}
    page = (tmp_path / "diff" / "text.html").read_text(encoding="utf-8")
    assert re.findall(r"<(ins|del)>([^<]*)</\1>", page) == [("del", "favoured"),
                                                            ("ins", "popular")]
    # the tracked DOCX sets its tables as the paper's DOCX does, and keeps no reference file
    inside, _, _ = docx_table_styles(tmp_path / "diff" / "paper-tracked.docx")
    assert set(inside) == {"TableText"}
    assert sorted(p.name for p in (tmp_path / "diff").iterdir()) == [
        "changes.json", "changes.md", "index.html", "paper-tracked.docx", "text.html", "text.md"]


def test_text_of_another_version_with_other_figure_and_table_syntax_is_tracked(
        built, tmp_path, capsys):
    """An older build's text (figures without ``.float``, tables of other widths, other
    link targets) is compared with the new: the tracked text renders, its figures and
    tables keep their labels, and the edited words are the only spans."""
    older = copy_build(built, tmp_path / "older")
    assembled = older / "paper" / "paper.assembled.md"
    text = assembled.read_text(encoding="utf-8")
    edited = re.sub(r"\{(#fig-[\w-]+) \.float\}", r"{\1}", text)
    edited = re.sub(r"^\|:-", "|:--", edited, flags=re.M)  # every table's rule one dash wider
    edited = edited.replace("](notebooks/", "](pages/")
    assert edited.count("{#fig-") == text.count("{#fig-") > 0 and edited != text
    assembled.write_text(edited.replace("set out the", "lay out the", 1), encoding="utf-8")
    report = run_diff(older, built, tmp_path / "diff", capsys)
    assert report["text"]["changed"]
    assert (report["text"]["inserted_words"], report["text"]["deleted_words"]) == (1, 1)
    html = (tmp_path / "diff" / "text.html").read_text(encoding="utf-8")
    paper = (built / "paper" / "paper.html").read_text(encoding="utf-8")
    for tag in ("<table", "<figure", 'href="#fig-', 'href="#tbl-'):
        assert html.count(tag) == paper.count(tag), tag


def test_one_coding_changes_only_what_depends_on_codings(built, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    with open(data / "codings.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1] == ["E01-001", "MOT-PARTNERS", "coder_a"]
    rows[1][1] = "OUT-SALES"  # the first coding moves from a motivation to an outcome
    with open(data / "codings.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    compendium("freeze", str(data))
    new = copy_build(built, tmp_path / "build")
    result = make("paper", f"DATA={data}", f"BUILD={new}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    report = run_diff(built, new, tmp_path / "diff", capsys)
    listed = {c["id"] for c in report["changes"]}
    assert listed == content_differs(built, new)
    assert "tbl-matrix-outcomes" in listed  # E01 now has an outcome coded
    # the interviewees' profile and the codebook table do not count codings
    assert not listed & {"tbl-profile", "tbl-codebook"}
    expected_row = {"file": "codings.csv", "row": 2, "change": "changed",
                    "key": {"segment_id": "E01-001", "code_id": "OUT-SALES", "coder": "coder_a"},
                    "columns": {"code_id": ["MOT-PARTNERS", "OUT-SALES"]}}
    for change in report["changes"]:
        assert [c["file"] for c in change["causes"]] == ["codings.csv"], change["id"]
        assert change["causes"][0]["rows"] == [expected_row], change["id"]
    matrix = next(c for c in report["changes"] if c["id"] == "tbl-matrix-outcomes")
    assert matrix["cells"], "a changed table names its changed cells"
    markdown = (tmp_path / "diff" / "changes.md").read_text(encoding="utf-8")
    assert "codings.csv:2 changed (E01-001, OUT-SALES, coder_a; code_id MOT-PARTNERS → OUT-SALES)" \
        in markdown


def test_one_parameter_changes_only_its_run(built, tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    registry = notebooks / "runs.toml"
    text = registry.read_text(encoding="utf-8")
    assert text.count("n_orders = 1000") == 1
    registry.write_text(text.replace("n_orders = 1000", "n_orders = 200"), encoding="utf-8")
    new = copy_build(built, tmp_path / "build")
    compendium("run", "saturation", "--data", str(DEMO), "--build", str(new),
               "--registry", str(registry))
    paper_steps(new, "values", "assemble", "provenance", registry=registry)

    report = run_diff(built, new, tmp_path / "diff", capsys)
    assert {c["id"] for c in report["changes"]} == content_differs(built, new)
    assert "fig-saturation" in {c["id"] for c in report["changes"]}
    for change in report["changes"]:
        assert change["run"] == "saturation", change["id"]
        assert change["causes"] == [{"input": "parameter", "name": "n_orders", "old": 1000,
                                     "new": 200}], change["id"]
    page = (tmp_path / "diff" / "index.html").read_text(encoding="utf-8")
    assert 'src="figures/old-fig-saturation.svg"' in page
    assert (tmp_path / "diff" / "figures" / "new-fig-saturation.svg").exists()

    # A base built before runs recorded their full inputs (no `runs`, no `paper_dir`) gives
    # the same causes, and no input that only one side recorded is taken for a change.
    older = copy_build(built, tmp_path / "older")
    record = json.loads((older / "paper" / "provenance.json").read_text(encoding="utf-8"))
    del record["runs"], record["paper_dir"]
    (older / "paper" / "provenance.json").write_text(json.dumps(record), encoding="utf-8")
    again = run_diff(older, new, tmp_path / "diff-older", capsys)
    assert [(c["id"], c["causes"]) for c in again["changes"]] == \
        [(c["id"], c["causes"]) for c in report["changes"]]


def test_diff_errors_are_one_line(built, tmp_path, capsys):
    assert main(["diff", str(built), str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a finished build" in err
    assert not (tmp_path / "nothing" / "diff").exists()
    assert main(["diff", "--base", "no-such-revision-xyz", str(built)]) == 1
    assert "not a revision" in capsys.readouterr().err


def test_with_a_base_revision_unusable_arguments_are_refused_before_it_is_built(
        built, tmp_path, capsys, monkeypatch):
    """Building the base takes minutes: an output folder that cannot be written, a NEW that
    is not a build and a dataset folder that is not there are each refused first."""
    import compendium.pipeline.diff as diff

    def no_build(*args, **kwargs):
        raise AssertionError("the base revision was built before the arguments were checked")

    monkeypatch.setattr(diff, "base_build", no_build)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    cases = [([str(built), "--to", str(blocker / "deeper" / "diff")],
              f"{blocker / 'deeper' / 'diff'}: the report cannot be written there"),
             ([str(tmp_path / "nothing")], "not a finished build"),
             ([str(built), "--data", str(tmp_path / "no-data")],
              f"{tmp_path / 'no-data'}: not a dataset folder (no such directory)")]
    for arguments, expected in cases:
        assert main(["diff", "--base", "HEAD", *arguments]) == 1, arguments
        out, err = capsys.readouterr()
        assert "building" not in out
        assert len(err.strip().splitlines()) == 1 and expected in err, err
        assert "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing made, nothing left
    # A usable output folder in folders not yet there: checked, and nothing left behind.
    monkeypatch.setattr(diff, "base_build", lambda *a, **k: (_ for _ in ()).throw(
        diff.CompendiumError("stop here")))
    assert main(["diff", "--base", "HEAD", str(built), "--to",
                 str(tmp_path / "new" / "folders" / "diff")]) == 1
    assert "stop here" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("option, expected", [
    ("--repository", "--repository {x}: no such folder"),
    ("--old-repository", "--old-repository {x}: no such folder"),
    ("--old-data", "--old-data {x}: not a dataset folder (no such directory)"),
    ("--new-data", "--new-data {x}: not a dataset folder (no such directory)"),
])
def test_a_folder_option_that_is_not_there_is_refused(option, expected, built, tmp_path,
                                                     capsys):
    """Each was accepted without a word when the comparison did not read it (found by
    `make fuzz`'s command-line target): a mistyped folder is now said at once."""
    absent = tmp_path / "absent"
    assert main(["diff", str(built), str(built), "--to", str(tmp_path / "d"), option,
                 str(absent)]) == 1
    assert capsys.readouterr().err == f"compendium diff: {expected.format(x=absent)}\n"
    assert not (tmp_path / "d").exists()


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(edit(data)), encoding="utf-8")


def _set(data: dict, keys: tuple, value) -> dict:
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


# (damage done to a copy of the shared build, the start of the one line the diff prints)
DAMAGED = [
    ("values.json", lambda p: p.write_text('{"a":', encoding="utf-8"),
     "values.json: not valid JSON"),
    ("values.json", lambda p: p.write_text("[]", encoding="utf-8"),
     "values.json: must be a JSON object, not a list"),
    ("provenance.json", lambda p: (p.unlink(), p.mkdir()), "provenance.json: is a folder"),
    ("provenance.json", lambda p: _edit_json(p, lambda d: _set(d, ("displays", 0), {"x": 1})),
     "provenance.json: displays[0]: 'id' is a required property"),
    ("provenance.json", lambda p: _edit_json(p, lambda d: _set(
        d, ("displays", 1, "files"), ["../../outside.svg"])),
     "provenance.json: displays[1].files[0]: '../../outside.svg' is not a path inside the "
     "build folder"),
    ("provenance.json", lambda p: _edit_json(p, lambda d: _set(
        d, ("runs", "sample", "inputs", "dataset_files"), [1])),
     "provenance.json: runs.sample.inputs.dataset_files: must be a JSON object, not a list"),
    ("provenance.json", lambda p: _edit_json(p, lambda d: _set(d, ("values", 0, "text"), None)),
     "provenance.json: values[0].text: must be a text, not null"),
    ("paper.assembled.md", lambda p: p.write_bytes(b"\xff\xfe\x00"),
     "paper.assembled.md: not valid UTF-16 text"),
]


@pytest.mark.parametrize("name, damage, expected", DAMAGED,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(DAMAGED)])
def test_a_damaged_build_record_is_one_line_naming_file_and_field(built, tmp_path, capsys,
                                                                  name, damage, expected):
    """A build folder given to the diff may be damaged, hand-edited or another version's:
    each such record is refused in one line naming the file and the field, nothing written."""
    damaged = copy_build(built, tmp_path / "damaged")
    damage(damaged / "paper" / name)
    out = tmp_path / "diff"
    assert main(["diff", str(built), str(damaged), "--to", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err, err
    assert err.startswith(f"compendium diff: {damaged / 'paper' / expected}"), err
    assert not out.exists()


def test_a_figure_whose_file_is_gone_is_listed_without_its_pictures(built, tmp_path, capsys):
    """One version's SVG missing: the figure is listed as changed, with no picture to show."""
    changed = copy_build(built, tmp_path / "changed")
    provenance = json.loads((built / "paper" / "provenance.json").read_text(encoding="utf-8"))
    figure = next(d for d in provenance["displays"] if d["kind"] == "figure")
    (changed / next(f for f in figure["files"] if f.endswith(".svg"))).unlink()
    report = run_diff(built, changed, tmp_path / "diff", capsys)
    entry = next(c for c in report["changes"] if c["id"] == figure["id"])
    assert entry["change"] == "changed" and "old_file" not in entry
    assert not (tmp_path / "diff" / "figures").exists()


def test_diff_writes_nothing_half_done(built, tmp_path, monkeypatch):
    """A failure while writing leaves no diff folder and no staging folder behind."""
    from compendium.pipeline import diff

    def broken(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(diff, "render_text", broken)
    out = tmp_path / "diff"
    with pytest.raises(RuntimeError):
        diff.write_diff(built, built, out, old_repository=ROOT, new_repository=ROOT)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_site_links_the_diff_page_only_when_there_is_one():
    from compendium.pipeline.site import index_page

    record = {"commit": "abc", "dataset": {"name": "demo", "hash": "0" * 64, "synthetic": True}}
    assert 'href="diff/index.html"' in index_page(record, [], diff=True)
    assert "diff/" not in index_page(record, [])
