"""The coding widget forwards clicks to its session (no browser; see test_coding_browser)."""

from __future__ import annotations

import pytest

from compendium import classroom
from compendium.classroom import widget as coding_widget
from compendium.dataset import load_dataset

from .conftest import DEMO


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DEMO)


def test_widget_clicks_reach_the_saved_file(tmp_path, ds):
    segments = classroom.segments_to_code(ds, n_segments=8)
    themes = classroom.codebook_by_theme(ds.codebook)
    session = classroom.CodingSession.resume(segments, themes, "ana", tmp_path)
    widget = coding_widget.CodingWidget(session, ds, ds.primary_coder)
    assert "segment 1 of 8" in widget.progress.value
    assert widget.previous.disabled and not widget.next.disabled
    assert segments[0].text.split()[0] in widget.segment.value
    code = themes[0].codes[0]
    assert widget.boxes[code.code_id].tooltip == f"{code.code_id}: {code.definition}"

    widget.boxes[code.code_id].value = True
    assert (tmp_path / "ana.csv").read_text().splitlines()[1] == \
        f"{segments[0].segment_id},{code.code_id},ana"
    widget.next.click()
    assert "segment 2 of 8" in widget.progress.value
    assert widget.boxes[code.code_id].value is False  # the next segment has no codes yet
    widget.previous.click()
    assert widget.boxes[code.code_id].value is True
    assert "1 of 8 segments have a code" in widget.status.value

    widget.show_definitions.value = True
    assert all(d.layout.display == "block" for d in widget.definitions)
    widget.agreement_button.click()  # computes without error; the Output has no frontend here


def test_headless_show_displays_nothing(ds, capsys):
    segments = classroom.segments_to_code(ds, n_segments=2)
    session = classroom.CodingSession(segments, classroom.codebook_by_theme(ds.codebook))
    assert coding_widget.show(session, ds, ds.primary_coder, headless=True) is None
    assert "not shown" in capsys.readouterr().out


def test_class_heatmap_says_why_it_is_empty():
    import pandas as pd

    from compendium.displays import figures

    fig = figures.student_agreement_heatmap(pd.DataFrame(), synthetic=True,
                                            empty_message="no valid student files")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("no valid student files" in t for t in texts)
    assert any(figures.SYNTHETIC_NOTE in t for t in texts)
