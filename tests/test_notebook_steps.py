"""The steps modules of notebooks 5, 7 and 8 with other parameters than nbval's defaults.

Notebooks 1 to 4 have theirs tested in tests/test_design.py (other labels, empty themes,
filters); the statistics themselves are tested against worked examples under
tests/analysis/. Here: that a step passes its parameters through (seed, orders, share,
mode, the class folder) and decides what the notebook would otherwise decide in a cell.
"""

from __future__ import annotations

import pandas as pd
import pytest

from compendium.classroom import HEADLESS_VARIABLE
from compendium.dataset import load_dataset
from compendium.steps import class_agreement, code_it_yourself, saturation

from .conftest import DEMO, ROOT


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DEMO)


def test_saturation_is_seeded_and_its_values_say_how(ds):
    coder = ds.primary_coder
    first = saturation.saturation(ds, coder, seed=7, n_orders=30, fraction=0.5)
    again = saturation.saturation(ds, coder, seed=7, n_orders=30, fraction=0.5)
    pd.testing.assert_frame_equal(first.reach, again.reach)
    values = saturation.saturation_values(first)
    # A second count of the codes: every code the coder applied, read from the codings.
    coded = ds.codings.loc[ds.codings["coder"] == coder, "code_id"].nunique()
    assert values["saturation.total_codes"][0] == coded
    assert values["saturation.fraction_percent"] == (50, None)
    assert values["saturation.n_orders"] == (30, None)
    assert values["saturation.seed"] == (7, "7")
    n = len(first.observed)
    assert 1 <= values["saturation.reach_max"][0] <= n
    assert first.reach["fraction"].iloc[0] == 0.5
    assert "30 random orders (seed 7)" in saturation.saturation_caption(first)
    # the values are recorded in the order the notebook recorded them before the move
    assert list(values)[:3] == ["saturation.total_codes", "saturation.sentence",
                                "saturation.fraction_percent"]


def test_code_it_yourself_uses_the_worked_example_when_nobody_watches(ds, tmp_path,
                                                                     monkeypatch):
    coder = ds.primary_coder
    segments = code_it_yourself.segments_to_code(ds, None, 4, coder)
    themes = code_it_yourself.codebook_by_theme(ds.codebook, None)
    monkeypatch.setenv(HEADLESS_VARIABLE, "1")
    session, where = code_it_yourself.coding_session(ds, segments, themes, student="ana",
                                                     folder=tmp_path, typed=None, coder=coder)
    assert where.startswith("Worked example") and session.n_coded > 0
    assert not any(tmp_path.iterdir())  # the worked example is saved nowhere
    assert code_it_yourself.show_coding(session, ds, coder, "segments") is None
    with pytest.raises(ValueError, match="unknown mode"):
        code_it_yourself.show_spans(session, "passages")
    monkeypatch.setenv(HEADLESS_VARIABLE, "0")
    session, where = code_it_yourself.coding_session(ds, segments, themes, student="ana",
                                                     folder=tmp_path, typed=None, coder=coder)
    assert session.n_coded == 0 and str(tmp_path / "ana.csv") in where


def test_class_agreement_values_say_whether_the_class_was_pooled(ds, tmp_path):
    coder = ds.primary_coder
    segments = class_agreement.segments_to_code(ds, None, 8, coder)
    themes = class_agreement.codebook_by_theme(ds.codebook, None)
    shipped = ROOT / "data" / "synthetic-class"
    for folder, pooled in ((shipped, True), (tmp_path, False)):
        info = class_agreement.class_metadata(folder)
        view = class_agreement.class_view(ds, folder, segments, themes, coder, info)
        table = class_agreement.class_agreement(view.decisions)
        values = class_agreement.class_values(ds, view, table, info)
        assert values["class.pooled"] == (pooled, None)
        sentence = values["class.sentence"][0]
        assert ("synthetic class of" in sentence) if pooled else ("no class to pool" in sentence)
        caption = class_agreement.agreement_caption(view)
        assert caption.startswith(f"Agreement of {len(view.students)} students on 8 segments")
