"""The build's steps as make calls them: ``compendium paper STEP``.

Each step reads what earlier steps made and writes its own output through a
staging name and one atomic rename (see :mod:`compendium.fileio`), so a step
killed at any point leaves the previous output or nothing, and make redoes it.
The steps and their paths are named in :mod:`compendium.layout`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CompendiumError
from ..fileio import atomic_write
from ..layout import PAPER_STEPS, Layout


def _read_values(paths: Layout) -> dict:
    try:
        return json.loads(paths.values.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        raise CompendiumError(f"{paths.values}: missing or unreadable; run `make paper`") from None


def build_paper_steps(steps: list[str], *, data: Path, build: Path, registry: Path,
                      paper_dir: Path) -> list[Path]:
    """Run several steps in one process, in the order given; return their targets.

    Each is finished (renamed into place) before the next starts, as if make had
    run them one by one, and the process starts once: make assembles and renders
    the paper so, one interpreter start less on the way to the PDF.
    """
    unknown = [step for step in steps if step not in PAPER_STEPS]
    if unknown:  # before any step runs: a typo should not leave half the steps done
        raise CompendiumError(f"unknown build step '{unknown[0]}'; the steps are "
                              f"{', '.join(PAPER_STEPS)}")
    return [build_paper_step(step, data=data, build=build, registry=registry,
                             paper_dir=paper_dir) for step in steps]


def build_paper_step(step: str, *, data: Path, build: Path, registry: Path,
                     paper_dir: Path) -> Path:
    """Run one step of the paper build (one of ``layout.PAPER_STEPS``); return its target."""
    if step not in PAPER_STEPS:
        raise CompendiumError(f"unknown build step '{step}'; the steps are "
                              f"{', '.join(PAPER_STEPS)}")
    paths = Layout(build)
    paths.paper.mkdir(parents=True, exist_ok=True)
    if step == "values":
        from .paper import collect_values

        values = collect_values(build, registry, data)
        return atomic_write(paths.values, json.dumps(values, indent=2, ensure_ascii=False,
                                                     sort_keys=True) + "\n")
    if step == "notebooks":  # needs only the runs: make may run it beside the values step
        from .site import render_notebooks

        render_notebooks(build, registry)
        return paths.notebook_pages_stamp
    if step == "data-page":
        from .site import write_data_page

        return write_data_page(build, data)
    if step == "crate":
        from .crate import build_crate

        return build_crate(build, registry, data, paper_dir)
    if step == "crate-zip":
        from .crate import zip_crate

        return zip_crate(build)
    if step == "codecheck":
        from .codecheck import write_codecheck

        return write_codecheck(build, registry.parent.parent)
    if step == "site":
        from .site import build_site

        return build_site(build, registry, data)
    from . import paper
    from .runs import load_runs

    values = _read_values(paths)
    if step == "assemble":
        text = paper.assemble(paper_dir / "paper.md", values, load_runs(build, registry), build,
                              data)
        return atomic_write(paths.assembled, text)
    if step == "provenance":
        record = paper.provenance(build, registry, paper_dir, values)
        return atomic_write(paths.provenance,
                            json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    from ..dataset.datapackage import is_synthetic, read_descriptor

    synthetic, study, true_values = paper.conditions(values, is_synthetic(read_descriptor(data)))
    paper.render(build, paper_dir, synthetic, study=study, true_values=true_values)
    return paths.rendered
