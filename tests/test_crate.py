"""The Workflow Run RO-Crate and the CODECHECK manifest (that a clone elsewhere builds the
same bytes is checked in tests/test_build_safety.py, beside the killed build it shares).

The crate is judged by roc-validator (crs4/rocrate-validator, PyPI ``roc-validator``),
run offline from its own environment (``make validator-env``: it needs rich<14,
which the project's lock does not allow). The validator fetches one JSON-LD
document, the RO-Crate 1.1 context; it is fed from the copy the ``rocrate`` 0.11.0
wheel ships, through the validator's own HTTP cache and ``--offline``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from compendium import layout
from compendium.fileio import sha256_file
from compendium.pipeline.codecheck import check_codecheck, orcid_checksum_ok, write_codecheck
from compendium.pipeline.crate import build_crate, zip_crate
from compendium.pipeline.crate_preview import preview_html

from .conftest import DEMO, ROOT, copy_build, make
from .html_checker import hostile_metadata

VALIDATOR = ROOT / ".venv-validator" / "bin"
CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
REGISTRY = ROOT / "notebooks" / "runs.toml"


def _graph(crate: Path) -> dict[str, dict]:
    metadata = json.loads((crate / layout.CRATE_METADATA).read_text(encoding="utf-8"))
    return {entity["@id"]: entity for entity in metadata["@graph"]}


def _ids(value) -> list[str]:
    return [v["@id"] for v in (value if isinstance(value, list) else [value])]


def _context_file() -> Path:
    """The RO-Crate 1.1 context file rocrate 0.11.0 ships, in the validators' environment."""
    return Path(subprocess.run(
        [str(VALIDATOR / "python"), "-c", "import os, rocrate; print(os.path.join("
         "os.path.dirname(rocrate.__file__), 'data', 'ro-crate.jsonld'))"],
        capture_output=True, text=True, check=True).stdout.strip())


@pytest.fixture(scope="module")
def validator_cache(tmp_path_factory) -> Path:
    """The validator's HTTP cache holding the RO-Crate 1.1 context from the rocrate wheel."""
    result = make("validator-env")
    assert result.returncode == 0, result.stderr[-2000:]
    context = _context_file()
    assert json.loads(context.read_text(encoding="utf-8"))["@id"] == CONTEXT_URL
    cache = tmp_path_factory.mktemp("validator") / "http-cache"
    subprocess.run([str(VALIDATOR / "python"), str(ROOT / "tests" / "validator_cache.py"),
                    str(cache), f"{CONTEXT_URL}={context}"], check=True)
    return cache


def validate(crate: Path, cache: Path, level: str, out: Path) -> dict:
    """roc-validator's JSON report on ``crate`` (workflow-run-crate profile), offline."""
    subprocess.run([str(VALIDATOR / "rocrate-validator"), "validate", str(crate), "--offline",
                    "--cache-path", str(cache), "--profile-identifier", "workflow-run-crate-0.5",
                    "--requirement-severity", level, "--no-paging", "--output-format", "json",
                    "--output-file", str(out)], capture_output=True, text=True)
    return json.loads(out.read_text(encoding="utf-8"))


def test_roc_validator_finds_no_required_issue(built: Path, validator_cache: Path,
                                               tmp_path: Path):
    report = validate(built / layout.CRATE, validator_cache, "REQUIRED", tmp_path / "r.json")
    issues = [f"{i['check']['name']}: {i['message']}" for i in report["issues"]]
    # skipped checks (a context it could not fetch, say) would make a pass meaningless
    assert report["skipped_checks"] == 0, report["skipped_check_details"]
    assert issues == [] and report["passed"]
    recommended = validate(built / layout.CRATE, validator_cache, "RECOMMENDED",
                           tmp_path / "s.json")
    names = sorted({i["check"]["name"] for i in recommended["issues"]})
    print(f"roc-validator RECOMMENDED: {len(recommended['issues'])} issues in "
          f"{len(names)} checks: {'; '.join(names)}")
    assert all(i["severity"] == "RECOMMENDED" for i in recommended["issues"])

    # The same validator fails a crate whose main workflow is gone: the check can fail.
    broken = shutil.copytree(built / layout.CRATE, tmp_path / "broken")
    metadata = json.loads((broken / layout.CRATE_METADATA).read_text(encoding="utf-8"))
    for entity in metadata["@graph"]:
        if entity["@id"] == "./":
            del entity["mainEntity"]
    (broken / layout.CRATE_METADATA).write_text(json.dumps(metadata), encoding="utf-8")
    report = validate(broken, validator_cache, "REQUIRED", tmp_path / "b.json")
    assert not report["passed"]
    assert any("mainEntity" in i["message"] for i in report["issues"])


def test_crate_lists_every_run_as_provenance_records_it(built: Path):
    graph = _graph(built / layout.CRATE)
    record = json.loads(layout.Layout(built).provenance.read_text(encoding="utf-8"))
    registry = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))["runs"]
    root = graph["./"]
    assert {"https://w3id.org/ro/wfrun/workflow/0.5", "https://w3id.org/ro/wfrun/process/0.5"} \
        <= set(_ids(root["conformsTo"]))
    assert set(_ids(root["license"])) == {"https://spdx.org/licenses/MIT",
                                          "https://creativecommons.org/licenses/by/4.0/"}
    assert graph["#author-1"]["name"] == "The compendium maintainers"  # from CITATION.cff
    for run in registry:
        action = graph[f"#run-{run['id']}"]
        assert action["@type"] == "CreateAction"
        assert _ids(action["instrument"]) == [f"notebooks/{run['notebook']}"]
        notebook = graph[f"notebooks/{run['notebook']}"]
        assert "ComputationalWorkflow" in notebook["@type"]
        objects = [graph[i] for i in _ids(action["object"])]
        values = {o["name"]: o["value"] for o in objects if o["@type"] == "PropertyValue"}
        assert values == {k: str(v) for k, v in run["parameters"].items()}
        for o in objects:
            if o["@type"] == "PropertyValue":
                parameter = graph[o["exampleOfWork"]["@id"]]
                assert parameter["@type"] == "FormalParameter"
                assert {"@id": parameter["@id"]} in _list(notebook["input"])
        assert "data/synthetic-ict-clusters/" in _ids(action["object"])
        results = set(_ids(action["result"]))
        displays = [d for d in record["displays"] if d["run"] == run["id"]]
        assert sorted(d["id"] for d in displays) == sorted(run["artefacts"])
        for display in displays:
            assert set(display["files"]) <= results
            assert display["executed_notebook"] in results
            params = [v["name"] for v in objects if v["@type"] == "PropertyValue"]
            assert sorted(params) == sorted(display["parameters"])
        assert f"runs/{run['id']}/manifest.json" in results  # the run's values
    # every file entity's checksum is the file's in the crate
    files = [e for e in graph.values() if "sha256" in e]
    assert len(files) > 50
    for entity in files:
        assert sha256_file(built / layout.CRATE / entity["@id"]) == entity["sha256"]
    render = graph["#render"]
    assert _ids(render["instrument"]) == [_ids(root["mainEntity"])[0]]
    assert set(_ids(render["result"])) == {"paper/paper.pdf", "paper/paper.html",
                                           "paper/paper.docx", "paper/provenance.json"} | {
        f"paper/notebooks/{run['id']}.html" for run in registry}
    # the synthetic dataset's transcripts are in; a real one's stay out
    assert "data/synthetic-ict-clusters/transcripts/E01.txt" in graph


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_a_real_datasets_transcripts_stay_out(built: Path, tmp_path: Path):
    build = copy_build(built, tmp_path / "build")
    data = shutil.copytree(DEMO, tmp_path / "real")
    descriptor = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["compendium"]["synthetic"] = False
    (data / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    build_crate(build, REGISTRY, data, ROOT / "paper")
    graph = _graph(build / layout.CRATE)
    assert not [i for i in graph if "/transcripts/" in i]
    assert not (build / layout.CRATE / "data" / "synthetic-ict-clusters" / "transcripts").exists()
    assert "data/synthetic-ict-clusters/codings.csv" in graph
    build_crate(build, REGISTRY, data, ROOT / "paper", transcripts=True)  # asked for: in
    assert "data/synthetic-ict-clusters/transcripts/E01.txt" in _graph(build / layout.CRATE)
    # make crate's zip holds the same files, the same bytes on every run
    first = zip_crate(build).read_bytes()
    assert zip_crate(build).read_bytes() == first
    names = zipfile.ZipFile(build / layout.CRATE_ZIP).namelist()
    assert layout.CRATE_METADATA in names and len(names) == len(
        [p for p in (build / layout.CRATE).rglob("*") if p.is_file()])


def test_orcid_check_digit_known_answers():
    # ORCID's documented example iD (Josiah Carberry) and the same with a wrong digit,
    # https://support.orcid.org/hc/en-us/articles/360006897674
    assert orcid_checksum_ok("0000-0002-1825-0097")
    assert not orcid_checksum_ok("0000-0002-1825-0098")
    assert orcid_checksum_ok("0000-0001-5109-3700")


def test_codecheck_manifest_follows_the_spec(built: Path, tmp_path: Path):
    path = built / layout.CODECHECK
    text = path.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert text.startswith("---\n")
    record = json.loads(layout.Layout(built).provenance.read_text(encoding="utf-8"))
    listed = {item["file"] for item in config["manifest"]}
    assert {f for d in record["displays"] for f in d["files"]} <= listed
    assert {"paper/paper.pdf", "paper/paper.html", "paper/paper.docx"} <= listed
    for item in config["manifest"]:
        assert (built / item["file"]).is_file() and item["comment"]
    # the checker's fields are there, empty, for the checker
    assert all(config[f] is None for f in ("codechecker", "summary", "report", "certificate"))
    # CITATION.cff names no ORCID and no reference for the compendium: the only gaps left
    rules = sorted({p.split(": ")[1] for p in check_codecheck(path)})
    assert rules == ["CC-CFG-020", "CC-CFG-021"]

    # With them in CITATION.cff the author's part passes every offline rule ...
    repo = tmp_path / "repo"
    repo.mkdir()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    citation["authors"] = [{"given-names": "Josiah", "family-names": "Carberry",
                            "orcid": "https://orcid.org/0000-0002-1825-0097"}]
    citation["doi"] = "10.5281/zenodo.1234567"
    (repo / "CITATION.cff").write_text(yaml.safe_dump(citation), encoding="utf-8")
    build = copy_build(built, tmp_path / "build")
    written = write_codecheck(build, repo)
    assert check_codecheck(written) == []
    assert yaml.safe_load(written.read_text())["paper"]["authors"][0]["ORCID"] \
        == "0000-0002-1825-0097"
    # ... and each rule fails when broken
    (build / "paper" / "paper.pdf").unlink()
    citation["authors"][0]["orcid"] = "0000-0002-1825-0098"
    citation["title"] = "FIXME"
    (repo / "CITATION.cff").write_text(yaml.safe_dump(citation), encoding="utf-8")
    rules = sorted({p.split(": ")[1] for p in check_codecheck(write_codecheck(build, repo))})
    assert rules == ["CC-BUN-001", "CC-CFG-023", "CC-MET-001"]


# --------------------------------------------------------------------------- the preview

class _Links(HTMLParser):
    """The ids, in-page links, other links and JSON-LD scripts of a page."""

    def __init__(self):
        super().__init__()
        self.ids, self.fragments, self.hrefs, self.scripts = [], [], [], []
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        href = attrs.get("href")
        if href is not None:
            (self.fragments if href.startswith("#") else self.hrefs).append(href)
        if tag == "script":
            self._in_script = attrs.get("type")
            self.scripts.append([attrs.get("type"), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self.scripts[-1][1] += data


def _read(page: str) -> _Links:
    links = _Links()
    links.feed(page)
    links.close()
    return links


def test_the_preview_carries_its_metadata_and_links_every_entity(built: Path):
    crate = built / layout.CRATE
    metadata = json.loads((crate / layout.CRATE_METADATA).read_text(encoding="utf-8"))
    page = (crate / layout.CRATE_PREVIEW).read_text(encoding="utf-8")
    # the page is a function of the metadata (why builds compare the metadata alone)
    assert page == preview_html(metadata, synthetic=True)
    read = _read(page)
    # RO-Crate 1.1 "RO-Crate Website": a copy of the JSON-LD in a script element of head
    head = page[:page.index("</head>")]
    assert '<script type="application/ld+json">' in head
    assert [json.loads(text) for kind, text in read.scripts] == [metadata]
    # every entity has its own section; every id is unique and not empty
    assert len(read.ids) == len(set(read.ids)) and "" not in read.ids
    assert len([i for i in read.ids if i.startswith("entity-")]) == len(metadata["@graph"])
    # every link inside the page lands on something, every link to a file finds it
    assert {f[1:] for f in read.fragments} <= set(read.ids)
    local = [h for h in read.hrefs if not h.startswith(("http://", "https://"))]
    assert len(local) > 100
    assert [h for h in local if not (crate / unquote(h)).exists()] == []
    # the study's synthetic data are named as such, and the crate can be cited
    assert "<strong>Synthetic data.</strong>" in page
    assert "<strong>Cite as:</strong> The compendium maintainers (" in page
    # each property links to its definition in the RO-Crate context
    assert '<a href="http://schema.org/license">license</a>' in page
    assert '<a href="http://schema.org/sha256">sha256</a>' in page  # the crate's own term
    assert "<strong>Synthetic data.</strong>" not in preview_html(metadata, synthetic=False)


def test_the_preview_shows_hostile_text_as_text(built: Path):
    metadata = hostile_metadata(built / layout.CRATE / layout.CRATE_METADATA)
    page = preview_html(metadata, synthetic=False)
    read = _read(page)
    assert [json.loads(text) for kind, text in read.scripts] == [metadata]
    # one script element, the JSON-LD: the hostile text's own tags are text, in it and out
    assert page.count("<script") == 1 and "<b>" not in page
    assert "R&amp;D &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;" in page
    assert len(read.ids) == len(set(read.ids)) and "" not in read.ids


@pytest.fixture(scope="module")
def context_1_1(validator_cache: Path) -> dict[str, str]:
    """RO-Crate 1.1's context, term -> URI, from the file rocrate 0.11.0 ships (the one
    roc-validator reads, in the validators' environment)."""
    document = json.loads(_context_file().read_text(encoding="utf-8"))
    assert document["@id"] == CONTEXT_URL
    return {k: v for k, v in document["@context"].items()
            if isinstance(v, str) and not k.startswith("@")}


def test_each_property_of_the_preview_links_its_rocrate_1_1_definition(built: Path,
                                                                      context_1_1):
    from rocrate.vocabs import RO_CRATE

    from compendium.pipeline.crate_preview import CONTEXT_1_1, TERMS_1_1

    assert CONTEXT_1_1 == CONTEXT_URL
    # the table holds exactly the 1.1 terms whose URI the shipped (1.3) context changed
    shipped = RO_CRATE["@context"]
    assert TERMS_1_1 == {k: v for k, v in context_1_1.items() if shipped.get(k) != v}
    # and every property and type this crate uses links to its 1.1 URI (or the crate's own)
    metadata = json.loads((built / layout.CRATE / layout.CRATE_METADATA).read_text("utf-8"))
    own = {k: v for part in metadata["@context"] if isinstance(part, dict)
           for k, v in part.items()}
    page = (built / layout.CRATE / layout.CRATE_PREVIEW).read_text(encoding="utf-8")
    used = {k for e in metadata["@graph"] for k in e if not k.startswith("@")} | {
        t for e in metadata["@graph"] for t in _list(e["@type"])}
    assert {"input", "ComputationalWorkflow", "FormalParameter", "sha256"} <= used
    for term in sorted(used):
        uri = own.get(term) or context_1_1[term]
        assert f'<a href="{uri}">{term}</a>' in page, term
