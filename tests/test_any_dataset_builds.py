"""A whole paper from a dataset changed as real projects change it (issue 18's end-to-end checks).

One build, from a copy of the demonstration dataset (the data stay synthetic and
say so) with three things real projects bring, each checked in the paper:

- transcripts holding web addresses and an e-mail address: the gate refuses the
  dataset, ``compendium pseudonymise`` replaces them with placeholders and
  recomputes the offsets, and the result passes the gate and builds;
- a single coder: agreement is not assessable, and the paper says so;
- an interview nobody has coded yet, listed first: every run, the class exercise
  included, must cope, and the class exercise, whose shipped class belongs to the
  demo data, says it has no class.

The three share one build because each is a property of the dataset that the
others leave alone (a whole build costs a tenth of the test run). Kept apart from
tests/test_build.py so that the test run spreads the long builds over its workers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from compendium.dataset import freeze_dataset, validate_dataset

from .anonymity_helpers import plant
from .conftest import DEMO, make, paper_text


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False)
            for t in ("participants", "segments", "codings")}


def _write(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    for table, frame in tables.items():
        frame.to_csv(folder / f"{table}.csv", index=False, lineterminator="\n")


def _pseudonymised_study(tmp_path: Path) -> Path:
    """The demo data with web addresses planted, refused by the gate, then pseudonymised."""
    raw = Path(shutil.copytree(DEMO, tmp_path / "raw"))
    plant(raw, 2, "My profile is at https://www.linkedin.com/in/jane-doe-4711 if you need it. ")
    plant(raw, 5, "Write to jane.doe@example.org or see www.janedoe-studio.co.uk for more. ")
    plant(raw, 9, "That was on https://www.linkedin.com/in/jane-doe-4711 as well. ")
    freeze_dataset(raw)
    refused = [p.message for p in validate_dataset(raw)]
    assert "url 'https://www.linkedin.com/in/jane-doe-4711'" in refused, refused
    study, key = tmp_path / "study", tmp_path / "secure" / "key.csv"
    key.parent.mkdir()
    done = subprocess.run([sys.executable, "-m", "compendium.cli", "pseudonymise", str(raw),
                           "--to", str(study), "--key", str(key)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "remain" not in done.stderr, done.stderr
    checked = subprocess.run([sys.executable, "-m", "compendium.cli", "validate", str(study)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr  # the gate passes, offsets hold
    segments = _tables(study)["segments"]
    assert segments["text"].str.contains(r"\[Web address 1\]", regex=True).sum() == 2
    return study


def _single_coder_with_an_uncoded_interview(data: Path) -> None:
    """Keep one coder's codings (and their segments) and add an uncoded interview, listed first."""
    tables = _tables(data)
    codings = tables["codings"][tables["codings"]["coder"] == "coder_a"]
    tables["codings"] = codings
    tables["segments"] = tables["segments"][tables["segments"]["segment_id"]
                                            .isin(codings["segment_id"])]
    first = tables["participants"].iloc[[0]].assign(participant_id="A00")
    tables["participants"] = pd.concat([first, tables["participants"]])  # listed first
    (data / "transcripts" / "A00.txt").write_text(
        "Interviewer: Nobody has coded this interview yet.\n", encoding="utf-8")
    _write(data, tables)
    freeze_dataset(data)
    assert validate_dataset(data) == []


def test_paper_builds_from_a_pseudonymised_single_coder_study_with_an_uncoded_interview(
        tmp_path: Path):
    study = _pseudonymised_study(tmp_path)
    _single_coder_with_an_uncoded_interview(study)
    build = tmp_path / "build"
    result = make("paper", f"DATA={study}", f"BUILD={build}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    values = json.loads((build / "paper" / "values.json").read_text(encoding="utf-8"))
    text = {k: v["text"] for k, v in values.items()}
    assert text["agreement.kappa"] == "not assessable"  # one coder: nothing to compare
    texts = paper_text(build)
    assert any("A00" in body for body in texts.values())  # the profile lists it
    assert ">nan<" not in texts["html"]  # an undefined share is written n/a
    shown = (build / "runs" / "class-agreement" / "notebook.ipynb").read_text(encoding="utf-8")
    assert "No class to pool:** no class has coded this dataset" in shown
    for fmt, body in texts.items():
        assert "linkedin" not in body and "janedoe" not in body, fmt  # pseudonymised
        # the paper says there is no class, and leaves the class's table out
        words = " ".join(body.split())  # lines wrapped anywhere in HTML and PDF
        assert "has no class to pool for this dataset: no class has coded this dataset" in words
        assert not re.search(r"Agreement of \d+ students on", words)  # no class table
