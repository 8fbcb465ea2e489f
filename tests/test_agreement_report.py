"""Notebook 06's decisions as tested functions: measure choice, displays, sentences."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from compendium.dataset import load_dataset
from compendium.displays import narrative
from compendium.displays.measures import REGISTRY
from compendium.pipeline.rules import load_registry
from compendium.steps.agreement import agreement_run

from .conftest import DEMO, ROOT
from .test_agreement_cli import canonical_dataset


@pytest.fixture(scope="module")
def demo():
    return load_dataset(DEMO)


@pytest.mark.parametrize("measure", list(REGISTRY))
def test_every_measure_on_the_demo(demo, measure):
    run = agreement_run(demo, demo.primary_coder, None, measure=measure)
    assert run.second_coder == "coder_b" and len(run.double_coded) >= 4
    assert run.table_id == REGISTRY[measure].artefact_id
    assert len(run.display) > 1 and run.display.iloc[-1]["Code"].startswith("All codes")
    assert len(run.display.columns) == len(run.widths)
    texts = [text if text is not None else str(value) for value, text in run.values.values()]
    assert not any(re.search(r"\bnan\b", t.lower()) for t in texts)


def test_demo_chooses_the_text_measures_and_says_why(demo):
    values = agreement_run(demo, "coder_a").values
    assert values["agreement.measure_used"][0] == "unitized"
    assert "marked their own spans" in values["agreement.choice_sentence"][0]


def test_registry_runs_every_measure_with_its_table():
    runs = [r for r in load_registry(ROOT / "notebooks" / "runs.toml")
            if r["notebook"] == "06-agreement.ipynb"]
    measures = {r["parameters"].get("measure", "segment"): r["artefacts"] for r in runs}
    assert measures == {m.id: [m.artefact_id] for m in REGISTRY.values()}


def test_single_coder_dataset_is_not_assessable(tmp_path: Path):
    ds = load_dataset(canonical_dataset(tmp_path / "one", [("coder_a", "P01", "c", 0, 10)],
                                        {"P01": 20}))
    for measure in REGISTRY:
        run = agreement_run(ds, "coder_a", None, measure=measure)
        assert run.second_coder is None and run.table is None
        assert "cannot be assessed" in run.message
        assert len(run.display.columns) == len(run.widths)  # the table can still be saved
    seg = agreement_run(ds, "coder_a").values
    assert seg["agreement.kappa"][1] == "not assessable"
    assert seg["agreement.choice_sentence"][0].startswith("No interview was coded by two")
    unitized = agreement_run(ds, "coder_a", measure="unitized").values
    assert unitized["agreement.unitized.alpha"][1] == "not assessable"
    assert "could not be assessed" in unitized["agreement.unitized.sentence"][0]


def test_aligned_spans_choose_segment_measure(tmp_path: Path):
    spans = [("coder_a", "P01", "c", 0, 10), ("coder_b", "P01", "c", 0, 10),
             ("coder_a", "P01", "k", 12, 18)]
    ds = load_dataset(canonical_dataset(tmp_path / "same", spans, {"P01": 30}))
    values = agreement_run(ds, "coder_a").values
    assert values["agreement.measure_used"][0] == "segment"
    assert "coincide" in values["agreement.choice_sentence"][0]


def test_sentences_for_undefined_values():
    row = {"cohen_kappa": np.nan, "percent_agreement": 100.0, "n_chars": 24,
           "undefined": "both coders coded every character"}
    assert narrative.character_sentence(row).endswith(
        "(Cohen's kappa is undefined: both coders coded every character)")
    overall = {"segments_a": 3, "segments_b": 2, "agree_a": 1, "agree_b": 1,
               "percent_agreement": 40.0, "bp_kappa": np.nan}
    sentence = narrative.overlap_sentence(overall, 0.9)
    assert "2 of the 5 coded segments (40.0%)" in sentence and "kappa" not in sentence
    assert narrative.statistic_text(np.nan, "{:.2f}") == "not assessable"
    assert narrative.statistic_text(0.5, "{:.2f}") == "0.50"
    table = pd.DataFrame([
        {"code_id": "x", "coefficient": "u_alpha_c", "value": np.nan, "undefined": "r"},
        {"code_id": "overall", "coefficient": "u_alpha_c", "value": np.nan,
         "undefined": "no code has an expected disagreement"},
        {"code_id": "overall", "coefficient": "u_alpha", "value": np.nan,
         "undefined": "coder a gave some text more than one code (spans overlap); only ..."},
    ])
    text = narrative.unitized_sentence(table)
    assert "undefined here (no code has an expected disagreement)" in text
    assert "coder a gave some text more than one code (spans overlap)" in text
