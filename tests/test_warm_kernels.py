"""Warmed kernels (compendium.pipeline.warm): forked from a server with the libraries imported,
and giving exactly what a fresh kernel gives."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from compendium.pipeline.warm import SOCKET_ENV

from .conftest import DEMO, ROOT, copy_build, digest_tree

COMPENDIUM = Path(sys.executable).with_name("compendium")

#: Runs executed again in fresh kernels and compared with the shared build's warmed ones:
#: a table shown by pandas, a figure, the agreement measures' notebook and the class's.
COMPARED_RUNS = ("theme-motivations", "framework", "agreement-unitized", "class-agreement")

PROBE = """
import json, os, sys
import nbformat, papermill as pm
from compendium.pipeline.warm import warm_kernel_manager
managers = []
class Recording(warm_kernel_manager()):
    async def _async_launch_kernel(self, cmd, **kw):
        await super()._async_launch_kernel(cmd, **kw)
        managers.append(type(self.provisioner.process).__name__)
pm.execute_notebook(sys.argv[1], sys.argv[2], kernel_name="python3", progress_bar=False,
                    kernel_manager_class=Recording)
print(json.dumps(managers))
"""


def _probe_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os, sys\n"
        "print('pandas' in sys.modules, os.environ['PROBE'], os.getcwd())")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _run_probe(tmp_path: Path, warm: bool) -> tuple[str, str]:
    notebook = _probe_notebook(tmp_path / "probe.ipynb")
    out = tmp_path / f"probe-{warm}.ipynb"
    command = [sys.executable, "-c", PROBE, str(notebook), str(out)]
    if warm:
        command = [sys.executable, "-m", "compendium.pipeline.warm", "--", *command]
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    env["PROBE"] = f"run-{warm}"
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = nbformat.read(out, as_version=4).cells[0].outputs[0]["text"]
    return result.stdout.strip().splitlines()[-1], shown


def test_a_warm_kernel_is_forked_with_the_libraries_imported_and_the_runs_own_state(
        tmp_path: Path):
    """Under the server the kernel is a fork that has pandas already, yet it has the run's
    environment and working folder; without it, a fresh kernel as before."""
    kinds, shown = _run_probe(tmp_path, warm=True)
    assert kinds == '["ForkedKernel"]'
    assert shown == f"True run-True {tmp_path}\n"
    kinds, shown = _run_probe(tmp_path, warm=False)
    assert kinds == '["Popen"]'
    assert shown == f"False run-False {tmp_path}\n"


def test_the_server_leaves_nothing_behind_when_its_command_is_killed(tmp_path: Path):
    """SIGKILL the wrapper: the server notices its parent is gone, stops and removes its socket."""
    before = set(Path("/tmp").glob("compendium-warm-*"))
    wrapper = subprocess.Popen([sys.executable, "-m", "compendium.pipeline.warm", "--",
                                "sleep", "60"], start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not set(Path("/tmp").glob("compendium-warm-*")) - before:
        time.sleep(0.05)
    created = set(Path("/tmp").glob("compendium-warm-*")) - before
    assert created, "the wrapper made no socket folder"
    os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.wait()
    deadline = time.monotonic() + 120  # the server may still be importing under load
    while time.monotonic() < deadline and any(p.exists() for p in created):
        time.sleep(0.2)
    os.killpg(wrapper.pid, signal.SIGKILL)  # the `sleep` it started
    assert not any(p.exists() for p in created), "the server outlived its parent"


@pytest.mark.parametrize("run_id", COMPARED_RUNS)
def test_warm_runs_give_the_bytes_of_fresh_kernels(built: Path, tmp_path: Path, run_id: str):
    """The shared build ran every notebook in forked kernels (make paper starts the server);
    the same run in a fresh kernel gives the same executed notebook and outputs, byte for byte."""
    build = copy_build(built, tmp_path / "build")
    shutil.rmtree(build / "runs" / run_id)
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    result = subprocess.run([str(COMPENDIUM), "run", run_id, "--data", str(DEMO),
                             "--build", str(build)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert digest_tree(build / "runs" / run_id, build) == \
        digest_tree(built / "runs" / run_id, built)
