"""The synthetic demonstration dataset: built to the published design, and reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from compendium.analysis import choose_measure, coder_spans
from compendium.dataset import load_dataset, validate_dataset
from compendium.dataset.synthetic import _join_opener, generate_dataset, load_bank
from compendium.displays.measures import agreement_by_measure

from .conftest import DEMO


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_committed_dataset_is_regenerated_byte_for_byte(tmp_path: Path):
    generate_dataset(tmp_path / "again", seed=2010)
    assert files_of(tmp_path / "again") == files_of(DEMO)


def test_another_seed_gives_another_dataset(tmp_path: Path):
    generate_dataset(tmp_path / "other", seed=7)
    assert files_of(tmp_path / "other")["segments.csv"] != files_of(DEMO)["segments.csv"]


def test_demo_follows_the_published_design():
    ds = load_dataset(DEMO)
    participants = ds.participants
    assert len(participants) == 14
    assert set(participants["perspective"]) == {"entrepreneur", "intermediary"}
    intermediaries = participants[participants["perspective"] == "intermediary"]
    assert set(intermediaries["organisation_type"]) == {"agency", "hei"}
    assert len(ds.segments) >= 300
    themes = ds.codebook.loc[ds.codebook["level"] == "theme", "code_id"].tolist()
    assert themes == ["motivations", "outcomes", "cluster_role"]
    # a transcript for every interview, with the interviewer's questions in it
    assert sorted(ds.transcripts) == sorted(f"transcripts/{p}.txt"
                                            for p in participants["participant_id"])
    assert all("INTERVIEWER:" in text for text in ds.transcripts.values())
    # a second coder on at least four interviews, marking their own spans
    second = ds.codings[ds.codings["coder"] == "coder_b"]
    double = ds.segments[ds.segments["segment_id"].isin(second["segment_id"])]
    assert double["participant_id"].nunique() >= 4


def test_second_coder_marks_own_spans_as_real_coders_do():
    """Drift, splits, missed passages and extra codes; the text measures see through them."""
    ds = load_dataset(DEMO)
    spans = coder_spans(ds.segments, ds.codings)
    a = spans[spans["coder"] == "coder_a"].drop_duplicates(["source", "start", "end"])
    b = spans[spans["coder"] == "coder_b"].drop_duplicates(["source", "start", "end"])
    b_sources = set(b["source"])
    a = a[a["source"].isin(b_sources)]
    inside = a.merge(b, on="source", suffixes=("_a", "_b"))
    overlapping = inside[(inside["start_b"] < inside["end_a"])
                         & (inside["end_b"] > inside["start_a"])]
    same = (overlapping["start_a"] == overlapping["start_b"]) & (
        overlapping["end_a"] == overlapping["end_b"])
    per_a = overlapping.groupby(["source", "start_a"]).size()
    assert same.sum() > 0 and (~same).sum() > 0  # coinciding and drifting spans
    assert (per_a >= 2).any()  # a segment the second coder split in two
    missed = set(zip(a["source"], a["start"], strict=True)) - set(zip(overlapping["source"],
                                                         overlapping["start_a"], strict=True))
    assert missed  # passages the first coder coded and the second missed
    assert ds.segments["segment_id"].str.contains("-B").any()
    assert choose_measure(spans)["measure"] == "unitized"
    segment = agreement_by_measure(ds.segments, ds.codings, "segment").iloc[-1]
    character = agreement_by_measure(ds.segments, ds.codings, "character").iloc[-1]
    # Boundary differences count as disagreements per segment, not per character.
    assert segment["cohen_kappa"] < character["cohen_kappa"] - 0.2


def test_aligned_coders_option_keeps_the_first_coders_segments(tmp_path: Path):
    path = generate_dataset(tmp_path / "aligned", seed=2010, aligned_coders=True)
    ds = load_dataset(path)
    assert not ds.segments["segment_id"].str.contains("-B").any()
    assert choose_measure(coder_spans(ds.segments, ds.codings))["measure"] == "segment"
    assert ds.descriptor["compendium"]["generator"]["aligned_coders"] is True


def test_demo_says_it_is_synthetic_everywhere():
    ds = load_dataset(DEMO)
    assert ds.descriptor["compendium"]["synthetic"] is True
    assert ds.descriptor["description"].startswith("SYNTHETIC")
    assert all(text.splitlines()[0].startswith("Synthetic interview transcript")
               for text in ds.transcripts.values())
    assert "synthetic" in ds.interview_guide.lower()


def test_statement_bank_covers_every_code_and_perspective():
    bank = load_bank()
    for code in bank.codes:
        for perspective in ("entrepreneur", "intermediary"):
            texts = bank.statements[(code["id"], perspective)]
            assert len(texts) >= 6 and len(set(texts)) == len(texts)


def test_scale_option_without_transcripts(tmp_path: Path):
    path = generate_dataset(tmp_path / "big", seed=1, interviews=40, segments_per_interview=60,
                            transcripts=False)
    assert validate_dataset(path) == []
    ds = load_dataset(path)
    assert len(ds.participants) == 40
    assert 40 * 40 < len(ds.segments) < 40 * 90
    assert ds.segments["start"].isna().all()


@pytest.mark.parametrize("opener, text, joined", [
    ("Well, ", "The meetings helped.", "Well, the meetings helped."),
    ("Well, ", "I think so.", "Well, I think so."),
    ("Well, ", "ICT firms go.", "Well, ICT firms go."),
    ("Honestly, ", "Honestly, it was fine.", "Honestly, it was fine."),
])
def test_openers_join_naturally(opener: str, text: str, joined: str):
    assert _join_opener(opener, text) == joined


@pytest.mark.parametrize("command, args, expected", [
    ("synthetic", ["--seed", "-5"], "--seed must be 0 or more, got -5"),
    ("synthetic", ["--interviews", "1"], "--interviews must be at least 2"),
    ("synthetic", ["--segments-per-interview", "0"], "--segments-per-interview must be at least 1"),
    ("synthetic-class", ["--seed", "-1"], "the seed must be 0 or more, got -1"),
    ("synthetic-class", ["--students", "1"], "a class needs at least two students, got 1"),
])
def test_generators_refuse_bad_arguments_in_one_line_writing_nothing(command, args, expected,
                                                                     tmp_path: Path, capsys):
    """A negative seed reached numpy as an internal error; each bad argument is now one line."""
    from compendium.cli import main

    extra = ["--data", str(DEMO)] if command == "synthetic-class" else []
    assert main([command, "--to", str(tmp_path / "out"), *extra, *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"compendium {command}: {expected}"
    assert list(tmp_path.iterdir()) == []
