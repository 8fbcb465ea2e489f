"""How a notebook run saves its displays and computed values.

A notebook creates one :class:`RunOutputs`, saves every figure, table and
value through it, and closes it. The result is a folder of named artefacts and
a ``manifest.json`` that says what each artefact is, which files hold it and
which dataset it came from, so the paper build can place it and the
provenance record can trace it back to this run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..displays.tables import markdown_table, safe_csv
from ..errors import CompendiumError
from ..fileio import atomic_write
from ..layout import MANIFEST

#: The formats figures are saved in: each is used by an output of the build.
#: SVG goes into the HTML paper and, through Typst, into the PDF; DOCX cannot
#: show SVG and takes the PNG. A PDF copy of each figure took as long to write
#: as the other two together and nothing used it.
FIGURE_FORMATS = ("svg", "png")


@dataclass
class RunOutputs:
    """Collects the artefacts of one notebook run in ``directory``."""

    directory: Path
    dataset_name: str
    dataset_hash: str
    synthetic: bool
    artefacts: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def for_dataset(cls, directory: str | Path, dataset) -> RunOutputs:
        """Outputs in ``directory`` (created if needed) for a run on ``dataset``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory=directory, dataset_name=dataset.name,
                   dataset_hash=dataset.hash, synthetic=dataset.synthetic)

    def _claim(self, artefact_id: str) -> None:
        if any(a["id"] == artefact_id for a in self.artefacts):
            raise CompendiumError(f"artefact '{artefact_id}' saved twice in one run")

    def figure(self, artefact_id: str, fig, caption: str, alt: str | None = None) -> list[str]:
        """Save ``fig`` in :data:`FIGURE_FORMATS` (SVG and PNG), show it; return the file names.

        In a notebook the figure shown is the PNG file just saved, the one the DOCX
        paper takes, at the figure's own size (it is saved at twice the figure's
        resolution, as a high-resolution inline figure is), and ``fig`` is closed:
        left open, the inline backend would render it a third time when the cell
        ends, which took as long as saving it.
        """
        from ..displays.figures import save_figure

        self._claim(artefact_id)
        files = save_figure(fig, self.directory / artefact_id, FIGURE_FORMATS)
        self.artefacts.append({"id": artefact_id, "kind": "figure", "caption": caption,
                               "alt": alt or caption, "files": files})
        _show_saved(fig, self.directory / f"{artefact_id}.png")
        return files

    def table(self, artefact_id: str, frame: pd.DataFrame, caption: str,
              widths: list[float] | dict[str, float] | None = None,
              note: str | None = None) -> list[str]:
        """Save ``frame`` as CSV (spreadsheet-safe) and as a pandoc Markdown table."""
        self._claim(artefact_id)
        csv_name, md_name = f"{artefact_id}.csv", f"{artefact_id}.md"
        safe_csv(frame, self.directory / csv_name)
        (self.directory / md_name).write_text(markdown_table(frame, widths=widths),
                                              encoding="utf-8", newline="\n")
        self.artefacts.append({"id": artefact_id, "kind": "table", "caption": caption,
                               "note": note, "files": [csv_name, md_name]})
        return [csv_name, md_name]

    def value(self, key: str, value: Any, text: str | None = None) -> str:
        """Record a computed value for the paper; ``text`` is how the paper prints it."""
        if key in self.values:
            raise CompendiumError(f"value '{key}' recorded twice in one run")
        if isinstance(value, float) and not math.isfinite(value):
            printed = text if text is not None else "not defined"
        else:
            printed = text if text is not None else _format(value)
        self.values[key] = {"value": _jsonable(value), "text": printed}
        return printed

    def record(self, values: dict[str, tuple[Any, str | None]]) -> dict[str, str]:
        """Record several values at once (``{key: (value, text)}``); return the printed texts."""
        return {key: self.value(key, value, text) for key, (value, text) in values.items()}

    def close(self) -> Path:
        """Write the manifest; the build treats a run as done only once it exists."""
        manifest = {
            "dataset": {"name": self.dataset_name, "hash": self.dataset_hash,
                        "synthetic": self.synthetic},
            "artefacts": self.artefacts,
            "values": self.values,
        }
        return atomic_write(self.directory / MANIFEST,
                            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _show_saved(fig, png: Path) -> None:
    """In IPython, show the saved ``png`` in place of ``fig`` and close ``fig``."""
    from IPython import get_ipython

    if get_ipython() is None:
        return  # a script or a test: nothing shows figures, nothing to close
    import base64

    import matplotlib.pyplot as plt
    from IPython.display import display

    data = png.read_bytes()
    # The PNG header's width and height (IHDR), in pixels at savefig.dpi, scaled to
    # the figure's own resolution: shown at the size the inline backend shows it.
    scale = fig.dpi / plt.rcParams["savefig.dpi"]
    width, height = (int(int.from_bytes(data[i:i + 4], "big") * scale) for i in (16, 20))
    display({"image/png": base64.b64encode(data).decode("ascii"),
             "text/plain": f"<figure saved as {png.name} and {png.with_suffix('.svg').name}>"},
            raw=True, metadata={"image/png": {"width": width, "height": height}})
    plt.close(fig)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of a finished run in ``directory``; a CompendiumError if the run did not
    finish."""
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompendiumError(f"{path}: missing; the run did not finish") from None
