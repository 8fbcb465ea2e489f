"""Text-based agreement on imported QDA exports: a hand-made two-coder project and real exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from compendium.analysis import (
    AgreementDataError,
    coder_spans,
    self_overlaps,
    source_lengths,
)
from compendium.dataset import load_dataset
from compendium.displays.measures import agreement_by_measure
from compendium.qda.importer import import_dataset

from .qda_helpers import (
    code,
    codebook,
    project_xml,
    refi_fixture,
    selection,
    text_source,
    write_attributes,
    write_qdpx,
)

TEXT = "abcdefghij" * 6  # 60 characters: offsets are easy to check by eye
ANN, BOB = 900, 901
X, Y = 1, 2


@pytest.fixture(scope="module")
def two_coders(tmp_path_factory) -> Path:
    """A REFI-QDA project in which ann and bob each marked their own spans.

    ann: X on [0, 20), Y on [30, 40).  bob: X on [5, 20) and [50, 60), Y on [30, 40).
    """
    tmp = tmp_path_factory.mktemp("refi")
    users = (f'<Users><User guid="{_guid(ANN)}" name="ann"/>'
             f'<User guid="{_guid(BOB)}" name="bob"/></Users>')
    source = text_source(
        10, "interview1", "internal://interview1.txt",
        selection(100, 0, 20, (X, ANN)), selection(101, 30, 40, (Y, ANN)),
        selection(102, 5, 20, (X, BOB)), selection(103, 30, 40, (Y, BOB)),
        selection(104, 50, 60, (X, BOB)))
    qde = project_xml(codebook(code(X, "X"), code(Y, "Y")) + f"<Sources>{source}</Sources>",
                      users=users)
    archive = write_qdpx(tmp / "two.qdpx", qde, {"sources/interview1.txt": TEXT})
    attrs = write_attributes(tmp / "attrs.csv", {"interview1": ("entrepreneur", "ict_sme")})
    import_dataset(archive, tmp / "ds", participants_csv=attrs)
    return tmp / "ds"


def _guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _tables(folder: Path):
    ds = load_dataset(folder, validate=False)
    spans = coder_spans(ds.segments, ds.codings)
    return ds, spans, source_lengths(spans, ds.transcripts)


def test_hand_made_two_coder_export_character(two_coders: Path):
    """Worked by hand.

    X: ann codes 20 characters, bob 25; they share [5, 20) = 15, so only ann 5,
    only bob 10, neither 60 - 30 = 30: agreement (15 + 30) / 60 = 75 %.
    Chance: (20 * 25 + 40 * 35) / 60^2 = 1900/3600, observed 2700/3600,
    kappa = (2700 - 1900) / (3600 - 1900) = 8/17.
    Y: both code [30, 40): 100 %, kappa 1.
    """
    ds, _, lengths = _tables(two_coders)
    assert lengths == {"transcripts/interview1.txt": 60}
    table = agreement_by_measure(ds.segments, ds.codings, "character", transcripts=ds.transcripts)
    rows = table.set_index("code_id")
    assert rows.loc["X", ["both", "only_a", "only_b", "neither"]].tolist() == [15, 5, 10, 30]
    assert rows.loc["X", "percent_agreement"] == pytest.approx(75.0)
    assert rows.loc["X", "cohen_kappa"] == pytest.approx(8 / 17)
    assert rows.loc["Y", "cohen_kappa"] == 1.0


def test_hand_made_two_coder_export_unitized(two_coders: Path):
    """Krippendorff (2004) for X, worked by hand (L = 60, m = 2).

    Do: ann [0,20) and bob [5,20) overlap: 5^2 + 0^2 = 25, in both orders 50;
    bob's [50,60) lies in ann's gap [20,60): 10^2, in both orders 200.
    Do = 250 / (2 * 60^2).
    De: units 20, 15, 10 (N = 3): (N-1)/3 * sum(2l^3 - 3l^2 + l)
    = 2/3 * (14820 + 6090 + 1710) = 15080; gaps 40 (ann), 5 and 30 (bob)
    take a unit of 20 in 21 + 11 places, of 15 in 26 + 16, of 10 in 31 + 21:
    400*32 + 225*42 + 100*52 = 27450; denominator 120*119 - (380 + 210 + 90)
    = 13600; De = (2/60) * 42530 / 13600.
    Y: identical units, alpha 1.
    """
    ds, spans, lengths = _tables(two_coders)
    table = agreement_by_measure(ds.segments, ds.codings, "unitized", transcripts=ds.transcripts)
    per_code = table[table["coefficient"] == "u_alpha_c"].set_index("code_id")
    do, de = 250 / (2 * 60**2), (2 / 60) * 42530 / 13600
    assert per_code.loc["X", "observed"] == pytest.approx(do)
    assert per_code.loc["X", "expected"] == pytest.approx(de)
    assert per_code.loc["X", "value"] == pytest.approx(1 - do / de)
    assert per_code.loc["Y", "value"] == 1.0
    # No coder gives one character two codes here, so the multi-valued family is defined.
    pooled = table[table["code_id"] == "overall"].set_index("coefficient")
    assert pooled.loc[["u_alpha", "|u_alpha", "cu_alpha"], "value"].notna().all()
    assert self_overlaps(spans).empty


def test_hand_made_two_coder_export_overlap(two_coders: Path):
    """ann's X [0,20) and bob's X [5,20) share 15 of 20 characters (75 % < 90 %);
    bob's [50,60) has no counterpart; Y matches. Agreement 2 of 5 segments,
    two codes: kappa_n = (0.4 - 0.5) / 0.5 = -0.2. At a 70 % threshold X matches too."""
    ds, _, _ = _tables(two_coders)
    at90 = agreement_by_measure(ds.segments, ds.codings, "overlap").set_index("code_id")
    assert at90.loc["overall", "percent_agreement"] == pytest.approx(40.0)
    assert at90.loc["overall", "bp_kappa"] == pytest.approx(-0.2)
    at70 = agreement_by_measure(ds.segments, ds.codings, "overlap", threshold=0.7)
    assert at70.set_index("code_id").loc["overall", "percent_agreement"] == pytest.approx(80.0)


@pytest.mark.parametrize("fixture, participants", [
    ("nvivo-win-oltas.qdpx", ["videos_selection"]),
    ("qc-demo.qdpx", ["board_2017", "admin-1"]),
])
def test_real_exports(tmp_path: Path, fixture: str, participants: list[str]):
    """The shared real exports each have one coder: agreement says so.

    Their spans, compared with an identical second coding, agree perfectly under
    every text measure, whatever the offsets' quirks (UTF-16 counting, CRLF,
    repeated selections, overlapping codes of one coder).
    """
    source = refi_fixture(fixture)
    attrs = write_attributes(tmp_path / "attrs.csv", {p: ("intermediary", "agency")
                                                      for p in participants})
    import_dataset(source, tmp_path / "ds", participants_csv=attrs)
    ds, spans, lengths = _tables(tmp_path / "ds")
    # (The command line would first stop at the anonymisation gate: these public
    # exports quote web addresses. The analysis gives the agreement message.)
    with pytest.raises(AgreementDataError, match="agreement needs two coders; the dataset has one"):
        agreement_by_measure(ds.segments, ds.codings, "unitized", transcripts=ds.transcripts)
    twin = pd.concat([ds.codings, ds.codings.assign(coder="twin")], ignore_index=True)
    character = agreement_by_measure(ds.segments, twin, "character", transcripts=ds.transcripts)
    assert (character["percent_agreement"] == 100).all()
    assert ((character["cohen_kappa"] == 1) | (character["undefined"] != "")).all()
    unitized = agreement_by_measure(ds.segments, twin, "unitized", transcripts=ds.transcripts)
    per_code = unitized[unitized["code_id"] != "overall"]
    assert np.allclose(per_code["value"], 1.0)
    overlap = agreement_by_measure(ds.segments, twin, "overlap")
    assert (overlap["percent_agreement"] == 100).all()
