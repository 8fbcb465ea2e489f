"""`make lab` starts JupyterLab on the notebooks and answers on the address it prints."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from .conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_starts_and_answers():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={port}",
         "LAB_ARGS=--IdentityProvider.token=test-token"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/01-sample-and-codebook.ipynb?token=test-token"
                with urllib.request.urlopen(url, timeout=2) as response:
                    status = response.status
                    body = response.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.5)
        if status != 200:
            process.terminate()
            pytest.fail(f"JupyterLab did not answer on port {port}:\n"
                        f"{process.communicate(timeout=20)[0][-2000:]}")
        assert '"type": "notebook"' in body or '"type":"notebook"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token=test-token",
                                    timeout=5) as response:
            assert '"python3"' in response.read().decode("utf-8")
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # it already stopped; its output says why
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
    assert f"http://127.0.0.1:{port}/lab" in output
