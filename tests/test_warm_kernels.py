"""Warmed kernels and runs (compendium.pipeline.warm): forked from servers with the libraries
imported, and giving exactly what a fresh kernel and a fresh process give."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from compendium.pipeline.warm import RUN_SOCKET_ENV, SOCKET_ENV

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
    # Warm, the wrapper finds the test run's servers (tests/conftest.py) and uses them, as
    # a build inside a build does; without, no server is named and none is started.
    env = {k: v for k, v in os.environ.items()
           if warm or k not in (SOCKET_ENV, RUN_SOCKET_ENV)}
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


def test_the_kernel_servers_imports_say_nothing_on_stderr():
    """The server imports the kernel's debugger (debugpy), which warns on import about
    frozen modules; the server's stderr is the build's, so the warning would show in every
    `make paper`. ipykernel's kernelspec silences it the same way
    (PYDEVD_DISABLE_FILE_VALIDATION)."""
    env = {k: v for k, v in os.environ.items() if k != "PYDEVD_DISABLE_FILE_VALIDATION"}
    result = subprocess.run([sys.executable, "-c", "from compendium.pipeline.warm import "
                             "_preload; _preload(); import pydevd_file_utils"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""


def _running(process: psutil.Process) -> bool:
    """Whether ``process`` has not ended (a zombie has ended)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


#: Run by the wrapper: name the socket folder, and for "serving" first have a command run
#: in a child of the run server, which answers only once its imports are done.
KILLED_COMMAND = {
    "importing": f'echo "${SOCKET_ENV}"; exec sleep 60',
    "serving": (f'echo "${SOCKET_ENV}"; "{sys.executable}" -c "import sys; from '
                "compendium.pipeline.warm import run_forked; "
                "code = run_forked('compendium.cli', ['--help']); "
                "sys.exit(99 if code is None else code)\" >/dev/null; "
                'echo "served $?"; exec sleep 60'),
}


@pytest.mark.parametrize(("group", "when"), [(False, "importing"), (True, "serving")],
                         ids=["wrapper-while-importing", "process-group-while-serving"])
def test_the_server_leaves_nothing_behind_when_its_command_is_killed(tmp_path: Path,
                                                                     group: bool, when: str):
    """SIGKILL the wrapper, or its whole process group as a CI timeout or a killed build
    does, while the servers still import or once they serve: both servers stop (Linux tells
    them at once), kill their children and remove their sockets' folder."""
    env = {k: v for k, v in os.environ.items() if k not in (SOCKET_ENV, RUN_SOCKET_ENV)}
    # The command names the wrapper's own socket folder (other builds may make theirs
    # meanwhile), then waits.
    wrapper = subprocess.Popen([sys.executable, "-m", "compendium.pipeline.warm", "--", "sh",
                                "-c", KILLED_COMMAND[when]], env=env,
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert wrapper.stdout is not None
    created = {Path(wrapper.stdout.readline().strip()).parent}
    assert all(p.name.startswith("compendium-warm-") and p.is_dir() for p in created), created
    if when == "serving":
        # The command's status, so that a failure says how the child of the server ended
        # (0: it served; 99: no server answered; 137: it was killed; no line at all: the
        # wrapper's process group is gone).
        assert wrapper.stdout.readline() == "served 0\n"
    # the two servers are forks of the wrapper, with its command line; its command is not
    parent = psutil.Process(wrapper.pid)
    servers = [child for child in parent.children() if child.cmdline() == parent.cmdline()]
    assert len(servers) == 2, servers
    if group:
        os.killpg(wrapper.pid, signal.SIGKILL)
    else:
        os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.wait()
    deadline = time.monotonic() + 120  # under load
    while time.monotonic() < deadline and (any(p.exists() for p in created)
                                           or any(map(_running, servers))):
        time.sleep(0.05)
    if not group:
        os.killpg(wrapper.pid, signal.SIGKILL)  # the `sleep` it started
    assert not any(p.exists() for p in created), "the servers' folder outlived their parent"
    assert not [p.pid for p in servers if _running(p)], "a server outlived its parent"


def test_ctrl_c_before_the_run_server_answers_says_interrupted(tmp_path: Path, monkeypatch,
                                                               capsys):
    """Ctrl-C in a build's first seconds reaches `compendium validate` while it waits for the
    run server, which answers once its imports are done: one line and status 130, as
    everywhere else, not a traceback."""
    from compendium import cli

    path = tmp_path / "runs.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)  # takes the connection and never answers, as a server still importing
    monkeypatch.setenv(RUN_SOCKET_ENV, str(path))
    monkeypatch.setattr(sys, "argv", ["compendium", "validate", str(DEMO)])
    # Ctrl-C raises KeyboardInterrupt through Python's own handler, which a process started
    # with SIGINT ignored (a background job of a script, as CI may run this) does not have.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    ctrl_c = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    # Should the interrupt be lost, the unanswered connection is refused after a while
    # (the listener closes), so that the test fails rather than waits for ever.
    give_up = threading.Timer(60, listener.close)
    ctrl_c.start()
    give_up.start()
    try:
        status = cli.main()
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C while waiting for the run server escaped compendium's main")
    finally:
        ctrl_c.cancel()
        give_up.cancel()
        listener.close()
        signal.signal(signal.SIGINT, handler)
    assert status == 130
    assert capsys.readouterr().err == "compendium: interrupted\n"


def test_a_wrapper_inside_a_wrapper_uses_the_servers_it_finds(tmp_path: Path):
    """A build inside a build (or inside this test run, whose conftest started one pair of
    servers) starts no second pair: its command is given the sockets it found."""
    assert os.environ.get(SOCKET_ENV) and os.environ.get(RUN_SOCKET_ENV)
    show = f"import os; print(os.environ['{SOCKET_ENV}'], os.environ['{RUN_SOCKET_ENV}'])"
    before = set(Path("/tmp").glob("compendium-warm-*"))
    result = subprocess.run([sys.executable, "-m", "compendium.pipeline.warm", "--",
                             sys.executable, "-c", show], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [os.environ[SOCKET_ENV], os.environ[RUN_SOCKET_ENV]]
    assert set(Path("/tmp").glob("compendium-warm-*")) <= before


def test_only_sockets_that_answer_are_servers_in_reach(tmp_path: Path, monkeypatch):
    from compendium.pipeline import warm

    live, dead = tmp_path / "live.sock", tmp_path / "dead.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(live))
    listener.listen(4)
    gone = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    gone.bind(str(dead))  # a server killed before it removed its socket: the file stays
    gone.close()
    try:
        for kernels, runs, expected in ((live, live, True), (live, dead, False),
                                        (dead, live, False), (live, tmp_path / "none", False)):
            monkeypatch.setenv(SOCKET_ENV, str(kernels))
            monkeypatch.setenv(RUN_SOCKET_ENV, str(runs))
            assert warm._servers_in_reach() is expected, (kernels.name, runs.name)
        monkeypatch.delenv(RUN_SOCKET_ENV)
        assert warm._servers_in_reach() is False
    finally:
        listener.close()


@pytest.mark.parametrize("run_id", COMPARED_RUNS)
def test_warm_runs_give_the_bytes_of_fresh_kernels(built: Path, tmp_path: Path, run_id: str):
    """The shared build ran every notebook in forked kernels (make paper starts the server);
    the same run in a fresh kernel gives the same executed notebook and outputs, byte for byte."""
    build = copy_build(built, tmp_path / "build")
    shutil.rmtree(build / "runs" / run_id)
    env = {k: v for k, v in os.environ.items() if k not in (SOCKET_ENV, RUN_SOCKET_ENV)}
    result = subprocess.run([str(COMPENDIUM), "run", run_id, "--data", str(DEMO),
                             "--build", str(build)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert digest_tree(build / "runs" / run_id, build) == \
        digest_tree(built / "runs" / run_id, built)


#: Under the wrapper: `compendium run` for a run the registry lacks, through run_forked;
#: exit status 99 says no run server answered.
FORKED_PROBE = """
import sys
from compendium.pipeline.warm import run_forked
code = run_forked("compendium.cli", ["run", "no-such-run", "--registry", sys.argv[1]])
sys.exit(99 if code is None else code)
"""


def test_a_command_runs_in_a_child_of_the_run_server_with_its_status_and_message(
        tmp_path: Path):
    """`compendium run` under the wrapper goes on in a process forked from the run server: its
    one-line error reaches the caller's stderr and its exit status is the caller's; without
    the server nothing is forked and the caller runs the command itself."""
    registry = ROOT / "notebooks" / "runs.toml"
    env = {k: v for k, v in os.environ.items() if k not in (SOCKET_ENV, RUN_SOCKET_ENV)}
    probe = [sys.executable, "-c", FORKED_PROBE, str(registry)]
    # the wrapper finds the test run's servers and uses them (a build inside a build)
    result = subprocess.run([sys.executable, "-m", "compendium.pipeline.warm", "--", *probe],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == \
        f"compendium run: {registry}: no run with id 'no-such-run'"
    alone = subprocess.run(probe, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert alone.returncode == 99, alone.stderr[-3000:]


#: `compendium validate` as make runs it (its own command line), noting in a file
#: whether the command went on in a fork of the run server.
VALIDATE_PROBE = """
import sys
from pathlib import Path
from compendium import cli
forked = []
run_forked = cli.run_forked
def noted(entry, args):
    code = run_forked(entry, args)
    forked.append(code is not None)
    return code
cli.run_forked = noted
note, sys.argv = Path(sys.argv[1]), ["compendium", "validate", *sys.argv[2:]]
code = cli.main()
note.write_text(str(forked))
sys.exit(code)
"""


def test_validate_under_the_wrapper_runs_in_a_fork_and_says_what_it_says_alone(
        demo_copy: Path, tmp_path: Path):
    """make's `compendium validate` goes on in a child of the run server (validation and
    frictionless imported there); its report, messages and exit status are those of the
    command run alone."""
    from .anonymity_helpers import edit_cell

    edit_cell(demo_copy / "codings.csv", 3, "coder", " ")
    edit_cell(demo_copy / "segments.csv", 4, "start", "x")
    note = tmp_path / "forked.txt"
    under = subprocess.run([sys.executable, "-m", "compendium.pipeline.warm", "--",
                            sys.executable, "-c", VALIDATE_PROBE, str(note), str(demo_copy)],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert note.read_text() == "[True]", under.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in (SOCKET_ENV, RUN_SOCKET_ENV)}
    alone = subprocess.run([str(COMPENDIUM), "validate", str(demo_copy)], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=300)
    assert alone.returncode == under.returncode == 1
    assert "segments.csv:4: start:" in alone.stdout + alone.stderr
    assert (under.stdout, under.stderr) == (alone.stdout, alone.stderr)


@pytest.mark.parametrize("run_id", ("framework", "class-agreement"))
def test_pages_from_the_warmed_step_are_those_of_a_fresh_process(built: Path, run_id: str):
    """make paper renders the notebooks' pages in a process forked from the run server, with
    one nbconvert exporter that has rendered a page there and the registry's earlier pages
    here; a fresh process, whose exporter renders this page first, renders the same bytes."""
    page = built / "paper" / "notebooks" / f"{run_id}.html"
    fresh = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from compendium.pipeline.site import render_notebook; "
         "sys.stdout.buffer.write(render_notebook(Path(sys.argv[1])).encode())",
         str(built / "runs" / run_id / "notebook.ipynb")],
        cwd=ROOT, capture_output=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert fresh.stdout == page.read_bytes()


def test_a_warmed_kernel_that_dies_starting_is_replaced_by_a_fresh_one(tmp_path: Path,
                                                                       monkeypatch, capsys):
    # jupyter_client's words when a kernel ends before its first reply; the run starts
    # again in a fresh kernel and gives the notebook's outputs, saying so on stderr.
    from jupyter_client.manager import AsyncKernelManager

    from compendium.pipeline import runs

    class DiesStarting(AsyncKernelManager):
        async def start_kernel(self, **kw):
            raise RuntimeError(runs.KERNEL_DIED_AT_START)

    notebook = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, notebook)
    monkeypatch.setenv(SOCKET_ENV, str(tmp_path / "no-server.sock"))
    monkeypatch.setattr(runs, "warm_kernel_manager", lambda: DiesStarting)
    out = tmp_path / "out.ipynb"
    runs._execute(notebook, out, {}, tmp_path)
    cell = nbformat.read(out, as_version=4).cells[0]
    assert cell.outputs[0]["text"] == "42\n"
    assert "died while starting; running it again in a fresh kernel" in capsys.readouterr().err

    # Any other error is not retried.
    class Fails(AsyncKernelManager):
        async def start_kernel(self, **kw):
            raise RuntimeError("something else")

    monkeypatch.setattr(runs, "warm_kernel_manager", lambda: Fails)
    with pytest.raises(RuntimeError, match="something else"):
        runs._execute(notebook, tmp_path / "again.ipynb", {}, tmp_path)


# ----------------------------------------------------------------- the warmed kernels' client


class _Channel:
    """A kernel channel that hands out the messages it is given, then has none."""

    def __init__(self, messages: list[dict]):
        self.messages = messages

    async def get_msg(self, timeout: float | None = None) -> dict:
        from queue import Empty

        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _status(state: str, parent: str) -> dict:
    return {"msg_type": "status", "content": {"execution_state": state},
            "parent_header": {"msg_id": parent}}


def _scripted_client(shell: list[list[dict]], iopub: list[list[dict]], alive: bool = True):
    """The warmed kernels' client over scripted channels: each kernel_info request
    (named k1, k2, ...) brings the next lists of shell and IOPub messages."""
    from compendium.pipeline.warm import _client_class

    class Scripted(_client_class()):
        shell_channel = property(lambda self: self._shell)
        iopub_channel = property(lambda self: self._iopub)

        def kernel_info(self) -> str:
            self.asked += 1
            self._shell.messages += shell.pop(0) if shell else []
            self._iopub.messages += iopub.pop(0) if iopub else []
            return f"k{self.asked}"

        async def is_alive(self) -> bool:
            return alive

        def _handle_kernel_info_reply(self, msg: dict) -> None:
            self.handled = msg

    client = Scripted()
    client.asked, client._shell, client._iopub = 0, _Channel([]), _Channel([])
    return client


REPLY = {"msg_type": "kernel_info_reply", "content": {"protocol_version": "5.3"},
         "parent_header": {}}


def test_the_warm_client_stops_reading_iopub_at_the_idle_of_its_last_request():
    """jupyter_client's client reads IOPub until it has been silent for 0.2 s; the warmed
    kernels' client stops at the idle status that follows its request, leaving later
    messages (which nbclient would not take: their parent is no cell) unread."""
    import asyncio

    later = {"msg_type": "stream", "content": {"text": "late\n"}, "parent_header": {}}
    client = _scripted_client(
        shell=[[REPLY]],
        iopub=[[_status("busy", "k1"), _status("idle", "k0"), _status("idle", "k1"), later]])
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.asked == 1 and client.handled is REPLY
    assert client._iopub.messages == [later]


def test_the_warm_client_asks_again_until_iopub_is_connected():
    """A reply on the shell channel with nothing on IOPub means IOPub is not connected
    yet (a subscriber joins late): the client asks again, as jupyter_client's does."""
    import asyncio

    client = _scripted_client(shell=[[REPLY], [REPLY]],
                              iopub=[[], [_status("busy", "k2"), _status("idle", "k2")]])
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.asked == 2 and client._iopub.messages == []


def test_the_warm_client_says_what_jupyter_client_says_of_a_kernel_that_died():
    """The run starts again in a fresh kernel on jupyter_client's words (runs._execute);
    the warmed kernels' client uses them."""
    import asyncio

    from compendium.pipeline import runs

    client = _scripted_client(shell=[], iopub=[], alive=False)
    with pytest.raises(RuntimeError) as raised:
        asyncio.run(client.wait_for_ready(timeout=5))
    assert runs.KERNEL_DIED_AT_START in str(raised.value)


def test_a_forked_kernel_is_ready_for_its_first_cell_through_the_warm_client():
    """With a real kernel from the test run's server: the manager gives the warmed
    kernels' client, and once it is ready the first cell's output arrives on IOPub;
    its connection file lives in the servers' folder."""
    import asyncio

    from compendium.pipeline.warm import _client_class, warm_kernel_manager

    where: list[Path] = []

    async def session() -> tuple[type, str, str]:
        manager = warm_kernel_manager()(kernel_name="python3")
        await manager.start_kernel()
        where.append(Path(manager.connection_file))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            cell = client.execute("print(6 * 7)")
            text = ""
            while True:
                message = await client.iopub_channel.get_msg(timeout=60)
                if message["parent_header"].get("msg_id") != cell:
                    continue
                if message["msg_type"] == "stream":
                    text += message["content"]["text"]
                if message["msg_type"] == "status" and \
                        message["content"]["execution_state"] == "idle":
                    return type(client), type(manager.provisioner.process).__name__, text
        finally:
            client.stop_channels()
            await manager.shutdown_kernel()

    kind, process, text = asyncio.run(session())
    assert kind is _client_class()
    assert process == "ForkedKernel"
    assert text == "42\n"
    # Its connection file was in the servers' folder, which they remove however their
    # build ends (a run killed with SIGKILL left one in /tmp for good), and is gone.
    assert where[0].parent == Path(os.environ[SOCKET_ENV]).parent
    assert where[0].name.startswith("kernel-") and not where[0].exists()


def test_a_kernel_that_does_not_end_after_its_shutdown_request_is_terminated_early(
        tmp_path: Path, monkeypatch):
    """ipykernel 7 sometimes hangs in its own close after answering the shutdown request;
    jupyter_client sends SIGTERM after half the manager's shutdown_wait_time (5 s by
    default). The warmed kernels' manager waits 1 s in all. A kernel that never ends by
    itself (here a process that ignores every message, and the SIGINT jupyter_client
    sends first) is ended by that SIGTERM."""
    import asyncio
    import json

    from compendium.pipeline.warm import warm_kernel_manager

    spec = tmp_path / "kernels" / "ignores-everything"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import pathlib, signal, sys, time; "
                 "signal.signal(signal.SIGINT, signal.SIG_IGN); "
                 "pathlib.Path(sys.argv[1]).touch(); time.sleep(600)",
                 str(tmp_path / "ignoring"), "{connection_file}"],
        "display_name": "ignores everything", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.delenv(SOCKET_ENV, raising=False)  # a fresh process, not a fork

    async def session() -> tuple[float, int | None]:
        manager = warm_kernel_manager()(kernel_name="ignores-everything")
        await manager.start_kernel()
        process = manager.provisioner.process
        while not (tmp_path / "ignoring").exists():  # it ignores SIGINT from here on
            assert process.poll() is None, "the stand-in kernel did not start"
            await asyncio.sleep(0.01)
        await manager.shutdown_kernel()
        return manager.shutdown_wait_time, process.wait(timeout=60)

    wait, status = asyncio.run(session())
    assert wait == 1.0
    assert status == -signal.SIGTERM
