"""``compendium agreement``: published example through the command line, formats, errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from compendium.cli import main
from compendium.dataset import write_dataset

from .analysis.text_agreement_helpers import K2004, K2004_LENGTH, K2004_OFFSET


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def canonical_dataset(folder: Path, spans: list[tuple[str, str, str, int, int]],
                      lengths: dict[str, int]) -> Path:
    """A valid dataset whose segments are the given (coder, participant, code, start, end) spans."""
    transcripts = {f"transcripts/{pid}.txt": "a" * n for pid, n in lengths.items()}
    participants = pd.DataFrame({"participant_id": sorted(lengths),
                                 "perspective": "entrepreneur", "organisation_type": "ict_sme"})
    codes = sorted({code for _, _, code, _, _ in spans})
    codebook = pd.DataFrame({"code_id": ["theme"] + codes, "theme": "theme",
                             "level": ["theme"] + ["code"] * len(codes),
                             "parent_id": [None] + ["theme"] * len(codes),
                             "name": ["Theme"] + [f"Code {c}" for c in codes],
                             "definition": "Applies to the worked example."})
    seg_rows, cod_rows = [], []
    for n, (coder, pid, code, start, end) in enumerate(spans, start=1):
        sid = f"{pid}-{n:03d}"
        seg_rows.append({"segment_id": sid, "participant_id": pid,
                         "source": f"transcripts/{pid}.txt", "start": start, "end": end,
                         "text": "a" * (end - start)})
        cod_rows.append({"segment_id": sid, "code_id": code, "coder": coder})
    return write_dataset(folder, participants=participants, codebook=codebook,
                         segments=pd.DataFrame(seg_rows), codings=pd.DataFrame(cod_rows),
                         transcripts=transcripts, name="worked-example", title="Worked example",
                         description="Krippendorff's worked example in the canonical format.",
                         synthetic=True, primary_coder=spans[0][0])


@pytest.fixture
def k2004(tmp_path: Path) -> Path:
    spans = [(coder, "P01", cat, b - K2004_OFFSET, b - K2004_OFFSET + n)
             for cat, by_coder in K2004.items() for coder, units in by_coder.items()
             for b, n in units]
    return canonical_dataset(tmp_path / "k2004", spans, {"P01": K2004_LENGTH})


def test_krippendorff_2004_example_through_the_command_line(k2004: Path):
    """Krippendorff (2004, p. 254): alpha_c = .7286 and alpha_k = 1 from a dataset folder."""
    code, out, err = run("agreement", str(k2004), "--measure", "unitized", "--format", "csv")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    per_code = table[table["coefficient"] == "u_alpha_c"].set_index("code_id")["value"]
    assert per_code["c"] == pytest.approx(0.7286, abs=5e-5)
    assert per_code["k"] == 1.0
    pooled = table[table["code_id"] == "overall"].set_index("coefficient")
    assert set(pooled.index) == {"u_alpha_c", "u_alpha", "|u_alpha", "cu_alpha"}
    # Krippendorff (2004, p. 255) over both categories: 1 - (.0144 + 0) / (.0532 + .0490),
    # .8591 as DKPro Statistics reproduces it (Krippendorff2004Test.testAgreement).
    assert pooled.loc["u_alpha_c", "value"] == pytest.approx(0.8591, abs=5e-4)
    # Each observer's c and k units overlap ([180, 240) and [220, 300) for j),
    # so the multi-valued coefficients are undefined, saying why.
    multi = pooled.drop(index="u_alpha_c")
    assert multi["value"].isna().all()
    assert multi["undefined"].str.contains("coders i and j gave some text more than one code").all()


def test_table_and_json_formats(k2004: Path):
    code, out, _ = run("agreement", str(k2004), "--measure", "character")
    assert code == 0
    assert "overall" in out and "nan" not in out.lower()
    code, out, _ = run("agreement", str(k2004), "--measure", "overlap", "--threshold", "0.5",
                       "--format", "json")
    rows = json.loads(out)
    assert rows[-1]["code_id"] == "overall"


def test_synthetic_unitized_csv_has_per_code_and_pooled_rows():
    code, out, err = run("agreement", "data/synthetic", "--measure", "unitized", "--format", "csv")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert (table["code_id"] == "overall").sum() == 4
    assert table["coefficient"].isin(["|u_alpha", "u_alpha_c"]).sum() >= 2


def test_errors_are_one_line_with_exit_1(tmp_path: Path, k2004: Path):
    single = canonical_dataset(tmp_path / "single", [("coder_a", "P01", "c", 0, 10)],
                               {"P01": 20})
    for argv, message in [
        ((str(single), "--measure", "unitized"), "agreement needs two coders"),
        ((str(k2004), "--coders", "i", "nobody"), "unknown coder 'nobody'"),
    ]:
        code, out, err = run("agreement", *argv)
        assert code == 1 and out == ""
        assert message in err and "Traceback" not in err and err.count("\n") == 1
    apart = canonical_dataset(tmp_path / "apart", [("coder_a", "P01", "c", 0, 10),
                                                    ("coder_b", "P02", "c", 0, 10)],
                              {"P01": 20, "P02": 20})
    code, _, err = run("agreement", str(apart), "--measure", "character")
    assert code == 1 and "share no source" in err


#: Krippendorff (2019), Content Analysis (4th ed.), Fig. 12.11, p. 340: three observers
#: unitize a continuum of 60 positions; as positions 1..60, inclusive, with each unit's value.
#: (Transcribed from the figure as the quallmer package's test suite records it; read, not
#: copied.) Krippendorff reports uα = .510 and |uα = .413 for it.
FIG_12_11 = {
    "alex": [(1, 7, "v1"), (8, 13, "v2"), (31, 32, "v5"), (33, 37, "v6"), (38, 44, "v6"),
             (45, 60, "v7")],
    "paul": [(1, 7, "v1"), (8, 13, "v3"), (14, 21, "v5"), (33, 44, "v6")],
    "suzan": [(1, 7, "v1"), (8, 13, "v4"), (14, 21, "v5"), (33, 37, "v6"), (38, 41, "v6"),
              (42, 44, "v6")],
}


def test_krippendorff_2019_fig_12_11_through_the_command_line(tmp_path: Path):
    """uα = .510 and |uα = .413 (Krippendorff 2019, Fig. 12.11) from a dataset folder."""
    spans = [(coder, "P01", value, first - 1, last)
             for coder, units in FIG_12_11.items() for first, last, value in units]
    dataset = canonical_dataset(tmp_path / "fig-12-11", spans, {"P01": 60})
    code, out, err = run("agreement", str(dataset), "--measure", "unitized", "--format", "csv")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    pooled = table[table["code_id"] == "overall"].set_index("coefficient")["value"]
    assert pooled["u_alpha"] == pytest.approx(0.510, abs=5e-4)
    # .4136 by the 2016 formulas, which Krippendorff prints as .413
    assert pooled["|u_alpha"] == pytest.approx(0.413, abs=1e-3)


def test_output_to_a_reader_that_stopped_ends_quietly():
    # `compendium agreement ... | head -1`: once head has gone, writing raises
    # BrokenPipeError, which is no internal error and prints nothing.
    import subprocess
    import sys

    from .conftest import DEMO

    command = Path(sys.executable).with_name("compendium")
    proc = subprocess.Popen([str(command), "agreement", str(DEMO)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait() == 1
    assert err == ""
