"""The anonymisation gate: planted identifiers of every kind are caught, the clean demo passes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.cli import main
from compendium.dataset import freeze_dataset, validate_dataset
from compendium.dataset.anonymity import check_anonymity
from compendium.dataset.identifiers import NO_IDENTIFIERS, parse_identifiers, read_identifiers
from compendium.dataset.patterns import find_identifiers
from compendium.errors import CompendiumError

from .anonymity_helpers import IDENTIFIERS as BASE_IDENTIFIERS
from .anonymity_helpers import digest, edit_cell, plant
from .conftest import DEMO, ROOT

# Real names the research team keeps out of version control (test fixture).
IDENTIFIERS = "# identifiers list\n" + BASE_IDENTIFIERS

# (segment row, planted text, expected (kind, matched text) hits)
PLANTS = [
    (3, "Email me at jane.doe@example.org today. ", [("email", "jane.doe@example.org")]),
    (4, "My number is 01524 123456 if you need it. ", [("phone", "01524 123456")]),
    (5, "Or my mobile, +44 (0)7700 900123, is best. ",
     [("phone", "+44 (0)7700 900123")]),
    (6, "Ring 020-7946-0000 or +441524123456 and ask. ",
     [("phone", "020-7946-0000"), ("phone", "+441524123456")]),
    (7, "The Paris office is on +33 1 23 45 67 89 now. ", [("phone", "+33 1 23 45 67 89")]),
    (8, "We moved to LA1 4YW, then near EC1A1BB. ",
     [("postcode", "LA1 4YW"), ("postcode", "EC1A1BB")]),
    (9, "See https://www.example.co.uk/about or www.acme-widgets.com and acme.org.uk. ",
     [("url", "https://www.example.co.uk/about"), ("url", "www.acme-widgets.com"),
      ("url", "acme.org.uk")]),
    (10, "I owe a lot to Mary Aldershaw's advice, and the Aldershaws' help. ",
     [("person", "Mary Aldershaw's"), ("person", "Aldershaws'")]),
    (11, "Quillfeather Systems' bid went to the Northern Digital Awards. ",
     [("firm", "Quillfeather Systems'"), ("event", "Northern Digital Awards")]),
    (12, "Everyone in THORNBECK knows the Fellgate Trust. ",
     [("place", "THORNBECK"), ("other", "Fellgate Trust")]),
]


@pytest.fixture(scope="module")
def identifiers_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "identifiers.txt"
    path.write_text(IDENTIFIERS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, list[str]]:
    """A frozen demo copy with every kind planted in segment and transcript, and the
    problem lines expected for it."""
    folder = tmp_path_factory.mktemp("planted") / "demo"
    shutil.copytree(DEMO, folder)
    expected = []
    for row, text, hits in PLANTS:
        rel, line = plant(folder, row, text)
        for kind, matched in hits:
            expected += [f"{rel}:{line}: text: {kind} '{matched}'"]
    # The second coder marks their own spans, so the planted text can also
    # fall inside their overlapping segments: every segment whose text holds
    # it must be reported, and the row planted in must be one of them.
    texts = pd.read_csv(folder / "segments.csv", dtype=str, keep_default_na=False)["text"]
    for row, _, hits in PLANTS:
        for kind, matched in hits:
            rows = [i + 2 for i, t in enumerate(texts) if matched in t]
            assert row in rows
            expected += [f"segments.csv:{r}: text: {kind} '{matched}'" for r in rows]
    edit_cell(folder / "participants.csv", 4, "role_in_cluster",
              "steering group member for Quillfeather Systems")
    edit_cell(folder / "codebook.csv", 5, "definition", "Contacts made at Thornbeck's meetings.")
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["title"] = "Cluster meetings in Thornbeck"
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    expected += ["participants.csv:4: role_in_cluster: firm 'Quillfeather Systems'",
                 "codebook.csv:5: definition: place 'Thornbeck's'",
                 "datapackage.json: title: place 'Thornbeck'"]
    freeze_dataset(folder)
    return folder, expected


def lines(problems) -> list[str]:
    return [str(p) for p in problems]


def test_clean_demo_passes_the_gate(identifiers_file: Path):
    assert check_anonymity(DEMO, identifiers_file) == []
    assert validate_dataset(DEMO, identifiers=identifiers_file) == []


def test_every_planted_kind_is_reported_where_it_is(planted, identifiers_file: Path):
    folder, expected = planted
    found = lines(check_anonymity(folder, identifiers_file))
    assert sorted(found) == sorted(expected)


def test_validate_runs_the_gate(planted, identifiers_file: Path):
    folder, expected = planted
    found = lines(validate_dataset(folder, identifiers=identifiers_file))
    assert sorted(found) == sorted(expected)  # hashes were frozen: only the hits remain
    # without the list, the pattern kinds are still caught
    found = lines(validate_dataset(folder, identifiers=NO_IDENTIFIERS))
    assert "segments.csv:3: text: email 'jane.doe@example.org'" in found
    assert not any("person" in line for line in found)


def test_identifiers_default_to_the_repository_root(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "identifiers.txt").write_text("place: Thornbeck\n", encoding="utf-8")
    folder = repo / "data" / "study"
    shutil.copytree(DEMO, folder)
    rel, line = plant(folder, 2, "It was Thornbeck. ")
    freeze_dataset(folder)
    assert lines(validate_dataset(folder)) == [
        "segments.csv:2: text: place 'Thornbeck'", f"{rel}:{line}: text: place 'Thornbeck'"]


def test_allowlist_suppresses_reviewed_false_positives(demo_copy: Path, identifiers_file: Path):
    plant(demo_copy, 2, "It was Thornbeck, see www.gov.uk for the rules. ")
    (demo_copy / "anonymity_allowlist.csv").write_text(
        "kind,text,reason\n"
        "place,thornbeck,\"A brand of biscuit here, not the village (reviewed by JL)\"\n"
        "url,www.gov.uk,Public government website; identifies no one\n", encoding="utf-8")
    freeze_dataset(demo_copy)
    assert validate_dataset(demo_copy, identifiers=identifiers_file) == []


def test_allowlist_row_without_reason_is_a_problem(demo_copy: Path, identifiers_file: Path):
    rel, line = plant(demo_copy, 2, "It was Thornbeck. ")
    (demo_copy / "anonymity_allowlist.csv").write_text(
        "kind,text,reason\nplace,Thornbeck,   \nfirm,,no text\nbeer,Ale,a kind\n",
        encoding="utf-8")
    freeze_dataset(demo_copy)
    found = lines(validate_dataset(demo_copy, identifiers=identifiers_file))
    assert found == [
        "segments.csv:2: text: place 'Thornbeck'",
        "anonymity_allowlist.csv:2: reason: a reason is required: say why this match is not "
        "an identifier",
        "anonymity_allowlist.csv:3: text: value is required",
        "anonymity_allowlist.csv:4: kind: 'beer' is not one of email, phone, postcode, url, "
        "person, firm, place, event, other",
        f"{rel}:{line}: text: place 'Thornbeck'",
    ]


def test_allowlist_missing_column(demo_copy: Path):
    (demo_copy / "anonymity_allowlist.csv").write_text("kind,text\nurl,www.gov.uk\n",
                                                       encoding="utf-8")
    assert lines(check_anonymity(demo_copy)) == [
        "anonymity_allowlist.csv: reason: required column is missing"]


@pytest.mark.parametrize("text, expected", [
    ("mail J_Smith+x@mail.lancs.ac.uk.", [("email", "J_Smith+x@mail.lancs.ac.uk")]),
    ("01524123456 and 07700 900 123", [("phone", "01524123456"), ("phone", "07700 900 123")]),
    ("(01524) 123456 or 0113 496 0000", [("phone", "(01524) 123456"), ("phone", "0113 496 0000")]),
    ("+44 20 7946 0000, 0044 1524 123456", [("phone", "+44 20 7946 0000"),
                                           ("phone", "0044 1524 123456")]),
    ("call +1 (212) 555-0100 or +49 30 1234567", [("phone", "+1 (212) 555-0100"),
                                                  ("phone", "+49 30 1234567")]),
    ("M1 1AE, la1 4yw, GIR 0AA", [("postcode", "M1 1AE"), ("postcode", "la1 4yw"),
                                  ("postcode", "GIR 0AA")]),
    ("(see http://example.com/a?b=1).", [("url", "http://example.com/a?b=1")]),
    ("Visit Example.COM or lancaster.ac.uk/staff", [("url", "Example.COM"),
                                                    ("url", "lancaster.ac.uk/staff")]),
])
def test_patterns_find(text: str, expected: list[tuple[str, str]]):
    hits = find_identifiers([text]).get(0, [])
    assert [(h.kind, h.text) for h in hits] == expected
    assert all(text[h.start:h.end] == h.text for h in hits)


@pytest.mark.parametrize("text", [
    "In 2010 about 1,000 firms came; 10:30 to 12:00; 09:30-10:30.",
    "UTC+01:00, +5 points, 5 + 10 + 20, 2010-2013, 01/02/2010, 01-02-2010, 0800.",
    "+10 000 people; segment E01-001 of 14; 3.5 hours; 100,000 pounds; 0.25 of them.",
    "ISBN 0-19-289240-5, doi 10.1177/0266242612345678, paper 2010/046.",
    "E01 1st, a4 2nd, the mp3 player, la14yw, b2b events.",
    "paper.md, E01.txt, compendium.synthetic, e.g. and i.e., datapackage.json, v1.2.3.",
    "Our office manager's 07-number and his 40th birthday.",
])
def test_patterns_ignore_look_alikes(text: str):
    assert find_identifiers([text]) == {}


def test_terms_whole_word_possessive_plural_case():
    ids = parse_identifiers("person: Smith\nfirm: Acme Ltd\nplace: Morecambe")
    text = ("Smith's, the Smiths' house, SMITHS, smithes, Smith\u2019s, blacksmith, Smithsonian, "
            "smith_x, Acme  Ltd's, acme\nltd, Morecambe, Morecambes")
    hits = find_identifiers([text], ids, patterns=False)[0]
    assert [(h.kind, h.text) for h in hits] == [
        ("person", "Smith's"), ("person", "Smiths'"), ("person", "SMITHS"), ("person", "smithes"),
        ("person", "Smith\u2019s"), ("firm", "Acme  Ltd's"), ("firm", "acme\nltd"),
        ("place", "Morecambe"), ("place", "Morecambes")]
    assert [text[h.start:h.core_end] for h in hits][:2] == ["Smith", "Smith"]


def test_identifiers_list_format(tmp_path: Path):
    ids = parse_identifiers("# comment\n\nperson: Ann Lee | Dr Lee\n  Firm : Acme\nOnly Term\n"
                            "event: Launch: the sequel\nperson: ann lee\n")
    assert [(t.kind, t.text, t.entity) for t in ids.terms] == [
        ("person", "Ann Lee", 0), ("person", "Dr Lee", 0), ("firm", "Acme", 1),
        ("other", "Only Term", 2), ("event", "Launch: the sequel", 3)]
    with pytest.raises(CompendiumError, match=r"list.txt:2: unknown kind 'persn'"):
        parse_identifiers("ok\npersn: Smith", "list.txt")
    with pytest.raises(CompendiumError, match="too short"):
        parse_identifiers("place: X")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 Rouge\n".encode("latin-1"))
    with pytest.raises(CompendiumError, match="not valid UTF-8"):
        read_identifiers(tmp_path / "latin.txt")
    (tmp_path / "bom.txt").write_bytes("\ufeffplace: Thornbeck\n".encode("utf-8"))
    assert read_identifiers(tmp_path / "bom.txt").terms[0].kind == "place"


def test_cli_check_anonymity_exit_codes(planted, identifiers_file: Path, capsys):
    folder, expected = planted
    before = digest(folder)
    assert main(["check-anonymity", str(folder), "--identifiers", str(identifiers_file)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert sorted(err[:-1]) == sorted(expected)
    assert err[-1].startswith(f"{folder}: {len(expected)} possible direct identifier(s);")
    assert main(["validate", str(folder), "--identifiers", str(identifiers_file)]) == 1
    assert "the dataset is not valid" in capsys.readouterr().err
    assert main(["check-anonymity", str(DEMO), "--identifiers", str(identifiers_file)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{DEMO}: no direct identifiers found") and "\n" not in out
    assert "6 listed term(s)" in out
    assert digest(folder) == before


def test_cli_check_anonymity_in_a_real_process(planted, tmp_path: Path):
    folder, _ = planted
    run = [sys.executable, "-m", "compendium.cli", "check-anonymity", str(folder)]
    result = subprocess.run(run + ["--identifiers", str(tmp_path / "missing.txt")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"compendium check-anonymity: {tmp_path / 'missing.txt'}: "
                                     "identifiers list not found")
    result = subprocess.run(run, capture_output=True, text=True)
    assert result.returncode == 1
    assert "segments.csv:3: text: email 'jane.doe@example.org'" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_refuses_a_dataset_with_identifiers(demo_copy: Path, tmp_path: Path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    plant(demo_copy, 2, "Write to jane@example.org please. ")
    freeze_dataset(demo_copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(["make", "--no-print-directory", "paper", f"DATA={demo_copy}",
                             f"BUILD={tmp_path / 'build'}"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "segments.csv:2: text: email 'jane@example.org'" in result.stderr
    assert not (tmp_path / "build" / "paper").exists()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("09ab zAZ.é’İ\u00a0\n𝄞")), max_size=60),
       st.integers(min_value=1, max_value=7))
def test_the_postcode_prefilter_finds_what_its_regular_expression_finds(text, chunk):
    # The numpy prefilter must find exactly the positions of [0-9][a-z]{2},
    # also across chunk boundaries and after characters of several bytes.
    from compendium.dataset import patterns

    expected = [m.start() for m in re.finditer("[0-9][a-z]{2}", text)]
    original = patterns._DIGIT_CHUNK
    try:
        patterns._DIGIT_CHUNK = chunk
        assert patterns._digit_letter_starts(text).tolist() == expected
    finally:
        patterns._DIGIT_CHUNK = original
    assert patterns._digit_letter_starts(text).tolist() == expected


_PIECES = ["01524 123456", "(01524) 123456", "+44 (0)20 7946 0000", "0044 20 7946 0000",
           "07700900123", "+1 555 123 4567", "E001-001", "S0001", "LA1 4YW", "la1 4yw", "m1 1ae",
           "gir 0aa", "www.example.org", "example.co.uk", "a.b@example.com", "2nd", "0", "00"]
_TEXTS = st.lists(st.sampled_from(_PIECES)
                  | st.text(alphabet=st.sampled_from(list("0147+()- .@/wxeLé_\n")), max_size=3),
                  max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TEXTS, min_size=1, max_size=6))
def test_the_prefilters_miss_no_pattern_hit(texts):
    # Every accepted match of the precise patterns, run on every text without
    # any prefilter, must be found by find_identifiers, which looks only at the
    # cells its prefilters pick.
    from compendium.dataset import patterns

    brute = {}
    for cell, text in enumerate(texts):
        for kind, precise in patterns._PRECISE.items():
            for m in precise.finditer(text):
                matched = patterns._trim_url(m.group()) if kind == "url" else m.group()
                if patterns._accept(kind, matched):
                    brute.setdefault(cell, set()).add((kind, m.start(), matched))
    found = {cell: {(h.kind, h.start, h.text) for h in hits}
             for cell, hits in patterns.find_identifiers(texts).items()}
    assert found == brute


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("09a+@:/w.zé’İ\u00a0 _-\n𝄞")), max_size=60),
       st.integers(min_value=1, max_value=7))
def test_the_lead_places_are_those_a_plain_scan_finds(text, chunk):
    # _lead_starts tests two ranges over a whole chunk and the rest where those
    # hold; it must find exactly the places that checking every position for every
    # lead finds, across chunk boundaries and after characters of several bytes.
    from compendium.dataset import patterns

    def plain(refused, ranges):
        return [p for p in range(len(text) - len(ranges) + 1)
                if all(lo <= text[p + k] <= hi for k, (lo, hi) in enumerate(ranges))
                and (p == 0 or text[p - 1] not in refused)]

    expected = {name: plain(*lead) for name, lead in patterns._LEADS.items()}
    original = patterns._DIGIT_CHUNK
    try:
        patterns._DIGIT_CHUNK = chunk
        found = patterns._lead_starts(text, patterns._LEADS)
    finally:
        patterns._DIGIT_CHUNK = original
    assert {name: hits.tolist() for name, hits in found.items()} == expected


_BATCH_PIECES = st.sampled_from(["Smith", "smiths'", "Acme Ltd", "acme\nltd", "a.b@example.com",
                                 "01524 123456", "LA1 4YW", "www.example.org", "İ", "x", " ",
                                 "-", ".", "0", "@", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_BATCH_PIECES, max_size=6).map("".join), min_size=1, max_size=8),
       st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=3))
def test_texts_scanned_in_batches_have_the_hits_of_one_scan(texts, batch, block):
    # find_identifiers joins about _BATCH characters of texts at a time, in whole
    # blocks of texts; each text's hits (patterns and listed terms) must be those
    # of one corpus of all.
    from compendium.dataset import patterns
    from compendium.dataset.identifiers import parse_identifiers

    ids = parse_identifiers("person: Smith\nfirm: Acme Ltd\nplace: Morecambe")
    whole = patterns.find_identifiers(texts, ids)
    original = patterns._BATCH, patterns._BLOCK
    try:
        patterns._BATCH, patterns._BLOCK = batch, block
        batched = patterns.find_identifiers(texts, ids)
    finally:
        patterns._BATCH, patterns._BLOCK = original
    assert batched == whole


def test_every_prefilter_is_found_from_its_lead():
    # The slice-aware gate skips a segment's text only because no pre-filter can
    # match where no lead place is; a pre-filter found by another route would
    # turn the skipping off (LEADS_HOLD_PREFILTERS), so say so here.
    from compendium.dataset import patterns

    assert patterns.LEADS_HOLD_PREFILTERS


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("09a+@:/w.zé’İK\u00a0 _-\n𝄞")), max_size=60),
       st.integers(min_value=1, max_value=7))
def test_lead_places_are_where_a_leads_characters_stand_whatever_comes_before(text, chunk):
    # A plain scan of every position for every lead's ranges, the characters
    # before left out, lower-cased as the gate's corpus is (K, the Kelvin sign,
    # lowers to an ASCII k; İ to two characters, of which the first is kept).
    from compendium.dataset import patterns

    low = "".join(c.lower()[0] for c in text)
    expected = sorted({p for _, ranges in patterns._LEADS.values()
                       for p in range(len(low) - len(ranges) + 1)
                       if all(lo <= low[p + k] <= hi for k, (lo, hi) in enumerate(ranges))})
    original = patterns._DIGIT_CHUNK
    try:
        patterns._DIGIT_CHUNK = chunk
        found = patterns.lead_places([text, "", text])
    finally:
        patterns._DIGIT_CHUNK = original
    assert [f.tolist() for f in found] == [expected, [], expected]


_SLICE_PIECES = st.sampled_from([
    "a.b@example.com", "01524 123456", "+44 7700 900123", "LA1 4YW", "la1 4yw", "www.example.org",
    "example.co.uk", "http://x.io/a", "Smith", "smiths'", "x", " ", ".", "0", "@", "é", "İ", "K",
    "\n", "ab", "w", "7th", "-", "/"])


def _slice_aware_and_plain(folder: Path, transcripts: list[str], cuts: list[tuple[int, int, int]],
                           edits: list[str], terms: bool) -> tuple[list, list, int]:
    """The gate's problems over segments cut from ``transcripts`` (transcript, start, end;
    an edit appended to the text where one is given), slice-aware and plain; and how
    many texts the slice-aware gate skipped."""
    import numpy as np

    from compendium.dataset.anonymity import gate_files, prepare_gate, scan_tables, text_names
    from compendium.dataset.validation import _check_offsets

    (folder / "transcripts").mkdir()
    for number, text in enumerate(transcripts):
        (folder / "transcripts" / f"P{number}.txt").write_bytes(text.encode("utf-8"))
    frame = pd.DataFrame({
        "segment_id": [f"S{i}" for i in range(len(cuts))],
        "participant_id": [f"P{t}" for t, _, _ in cuts],
        "start": [str(s) for _, s, _ in cuts], "end": [str(e) for _, _, e in cuts],
        "text": [transcripts[t][s:e] + edit for (t, s, e), edit in zip(cuts, edits, strict=True)],
    }, dtype="str")
    ids = parse_identifiers("person: Smith\nfirm: Example") if terms else NO_IDENTIFIERS
    gate = prepare_gate(folder, ids)
    places: dict = {}
    gate_files(gate, text_names(folder), places)
    free = np.zeros(len(frame), dtype=bool)
    _check_offsets(folder, frame, None, (gate, places, free))
    texts = {"segments.csv": frame[["text"]]}
    aware = scan_tables(texts, ids, gate.allow, {("segments.csv", "text"): free})
    return aware, scan_tables(texts, ids, gate.allow), int(free.sum())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_SLICE_PIECES, min_size=1, max_size=14).map("".join),
                min_size=1, max_size=3), st.data(), st.booleans())
def test_the_slice_aware_gate_finds_what_the_plain_gate_finds(tmp_path_factory, transcripts,
                                                               data, terms):
    # Segments cut anywhere from transcripts holding every kind of hit, so that
    # slices begin and end inside an address, a number or a name; some texts
    # differ from their slice. The gate that skips the texts whose slice holds no
    # lead place must report exactly what scanning every text reports.
    cuts, edits = [], []
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        t = data.draw(st.integers(min_value=0, max_value=len(transcripts) - 1))
        s = data.draw(st.integers(min_value=0, max_value=len(transcripts[t]) - 1))
        e = data.draw(st.integers(min_value=s + 1, max_value=len(transcripts[t])))
        cuts.append((t, s, e))
        edits.append(data.draw(st.sampled_from(["", "", "", "a.b@example.com", "Smith", "x"])))
    aware, plain, _ = _slice_aware_and_plain(tmp_path_factory.mktemp("slices"), transcripts,
                                             cuts, edits, terms)
    assert sorted(aware) == sorted(plain)


def test_the_slice_aware_gate_skips_only_slices_without_a_lead(tmp_path):
    # A transcript with a number and an address: of slices cut across it, those
    # clear of both (and equal to their text) are skipped, the rest scanned.
    text = "We met. Ring 01524 123456 or write to a.b@example.com, then we talk."
    at, then = text.index("a.b@"), text.index("then")
    cuts = [(0, 0, 7), (0, 8, 20), (0, 13, 25), (0, at - 3, at + 19), (0, then, len(text)),
            (0, 0, 7)]
    edits = ["", "", "", "", "", " at c@d.org"]
    aware, plain, skipped = _slice_aware_and_plain(tmp_path, [text], cuts, edits, False)
    assert sorted(aware) == sorted(plain)
    assert len(plain) == 3  # the number, the address, the edited text's address
    assert skipped == 2  # "We met." and "then we talk."


def test_a_transcript_changed_since_the_gate_saw_it_skips_nothing():
    # What the gate saw of a transcript is kept with its length and hash: a text of
    # the same length read again but changed (an address written in meanwhile)
    # must not have its slices skipped.
    import numpy as np

    from compendium.dataset.anonymity import TextPlaces, hit_free_slices, prepare_gate

    seen_text, now = "plain words here", "a@b.io words xyz"
    assert len(seen_text) == len(now)
    seen = TextPlaces(len(seen_text), hash(seen_text), np.empty(0, np.int64))
    gate = prepare_gate(ROOT / "data" / "synthetic", NO_IDENTIFIERS)
    starts, ends = np.array([0]), np.array([6])
    assert hit_free_slices(gate, seen, seen_text, starts, ends).tolist() == [True]
    assert hit_free_slices(gate, seen, now, starts, ends).tolist() == [False]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789", min_size=1, max_size=8),
                 st.text(alphabet="0123456789", max_size=6).map(lambda d: "00" + d),
                 st.text(alphabet="0123456789", max_size=7).map(lambda d: "0" + d)))
def test_plain_numbers_shorter_than_a_telephone_number_hold_no_hit(digits):
    # Validation leaves columns of plain numbers shorter than FEWEST_DIGITS_OF_A_HIT
    # out of the gate (with no listed terms); no such cell may hold a hit. The
    # leading zeros of national and international numbers are drawn on purpose.
    from compendium.dataset.patterns import FEWEST_DIGITS_OF_A_HIT

    assert len(digits) < FEWEST_DIGITS_OF_A_HIT
    assert find_identifiers([digits]) == {}


def test_a_telephone_number_of_digits_alone_is_as_short_as_the_rule_allows():
    # ...and the rule is tight: nine digits can be an international number.
    from compendium.dataset.patterns import FEWEST_DIGITS_OF_A_HIT

    assert [h.kind for h in find_identifiers(["0" * 2 + "1234567"])[0]] == ["phone"]
    assert len("001234567") == FEWEST_DIGITS_OF_A_HIT


def test_a_text_full_of_lead_places_keeps_none_and_has_no_slice_skipped():
    # A transcript of digits is a lead place at almost every character: the gate
    # does not keep (nor send back from a worker) such a list, and then skips none
    # of the text's slices.
    import numpy as np

    from compendium.dataset.anonymity import hit_free_slices, prepare_gate, scan_texts

    prose, digits = "A sentence of words. " * 100, "0" * 2000 + " 12ab"
    places: dict = {}
    scan_texts({"prose": prose, "digits": digits}, NO_IDENTIFIERS, places=places)
    assert places["prose"].places is not None and places["digits"].places is None
    gate = prepare_gate(ROOT / "data" / "synthetic", NO_IDENTIFIERS)
    starts, ends = np.array([0, 1990]), np.array([5, 2002])
    assert hit_free_slices(gate, places["prose"], prose, starts, ends).tolist() == [True, True]
    assert hit_free_slices(gate, places["digits"], digits, starts, ends).tolist() == [False, False]
