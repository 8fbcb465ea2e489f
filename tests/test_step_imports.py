"""What a paper step imports: the steps a paper-only edit re-runs start as bare processes.

Without the run server (a paper-only edit starts none), each `compendium paper STEP`
is a fresh interpreter, and importing numpy or pandas there cost more than the step's
own work (issue 23: the paper-only edit). The steps read the dataset's descriptor,
the runs' manifests and the interview guide, never a table.
"""

from __future__ import annotations

import subprocess
import sys

from .conftest import DEMO, ROOT

#: Every module a paper step imports, those imported inside its functions included,
#: and the reads the steps make of the dataset.
PROBE = """
import sys
from pathlib import Path
import compendium.cli
from compendium.pipeline import codecheck, crate, paper, site, steps
from compendium.dataset.datapackage import is_synthetic, read_descriptor
from compendium.dataset.tableio import read_transcript_text
import rocrate.rocrate, typst, yaml
descriptor = read_descriptor(Path(sys.argv[1]))
is_synthetic(descriptor)
read_transcript_text(Path(sys.argv[1]) / "interview_guide.md")
print(" ".join(sorted(m for m in ("numpy", "pandas", "matplotlib", "scipy") if m in sys.modules)))
"""


def test_the_paper_steps_import_no_numerical_library():
    result = subprocess.run([sys.executable, "-c", PROBE, str(DEMO)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == []
