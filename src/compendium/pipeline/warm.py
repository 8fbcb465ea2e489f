"""Warmed kernels: notebook runs start from a process that has imported the libraries already.

A cold build runs a dozen notebooks, and each fresh kernel spends most of its
start importing the same libraries (pandas, matplotlib, seaborn, IPython, the
package itself). ``python -m compendium.pipeline.warm -- COMMAND...`` runs
COMMAND (the build's make) beside a *kernel fork server*: a process that
imports those libraries once and then, for every kernel a run asks for, forks a
child that becomes that kernel. A run finds the server through the environment
variable :data:`SOCKET_ENV` (set for COMMAND) and gets its kernel through
:class:`WarmKernelManager`, which papermill passes on to nbclient; its client
stops waiting for the new kernel once the kernel has answered, and it looks for
the kernel's exit every hundredth of a second, not every tenth, ending a kernel
that hangs after its shutdown request within half a second, not two and a half.

Each run stays isolated: the child is forked from the server as it was after
its imports, before it ran any notebook code, and is given the run's own
environment, working folder, standard streams, session and a fresh random
state, then starts exactly the kernel the kernelspec names
(``python -m ipykernel_launcher -f CONNECTION_FILE``). A test compares the
executed notebook and every output with a run in a fresh kernel, byte for byte.

Crash safety is the run step's, unchanged (staging folder, one rename): the
server only starts kernels. Its lifetime is bounded on every side: it stops
when COMMAND ends, when its parent dies (even by SIGKILL), and it kills a
kernel whose run went away; kernels in turn stop when the server dies
(ipykernel's parent poller). Without the server, or when it cannot be reached,
a run starts a fresh kernel as before.

Only the standard library is imported at module level, so the wrapper costs a
bare interpreter start; ``jupyter_client`` is imported where the kernel
manager is defined, in the run's own process.

Longer than 500 lines because the server (top) and its clients (the kernel
manager and ``run_forked``, bottom) speak one private protocol over one socket and
follow one set of rules for process groups, signals and inherited descriptors;
read apart, a change to one side could break the other without a reader seeing it.
"""

from __future__ import annotations

import atexit
import builtins
import functools
import gc
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

#: The environment variable naming the fork server's socket.
SOCKET_ENV = "COMPENDIUM_WARM_KERNELS"
#: What the server imports before it forks a kernel: the kernel itself, what it
#: imports while it starts (its debugger, debugpy, and psutil: two thirds of a
#: forked kernel's own start-up), and what the notebooks import first. Importing a
#: module has no effect on the kernel beyond what the same import inside the
#: kernel would have had.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "psutil",
           "IPython", "numpy", "pandas", "scipy.stats", "matplotlib.pyplot", "seaborn",
           "nbformat", "compendium.steps.notebook",
           "compendium.steps.sample_and_codebook", "compendium.steps.theme_matrix",
           "compendium.steps.dual_perspective", "compendium.steps.framework_and_cooccurrence",
           "compendium.steps.saturation", "compendium.steps.agreement",
           "compendium.steps.class_agreement", "compendium.analysis")
#: What the run server imports before it forks a command's own process (``compendium
#: validate``, ``run`` and ``paper``, :data:`compendium.cli.FORKED_COMMANDS`):
#: papermill and the clients it drives, the package's build steps, validation (with
#: frictionless, which reads the descriptor) and the crate's library. The runs'
#: kernels never come from this server, only from the kernel server.
RUN_PRELOAD = ("papermill", "nbclient", "jupyter_client.manager", "nbformat", "nbconvert",
               "compendium.cli", "compendium.pipeline.runs", "compendium.pipeline.steps",
               "compendium.pipeline.paper", "compendium.pipeline.site",
               "compendium.dataset.validation", "frictionless", "rocrate.rocrate")
#: The environment variable naming the run server's socket.
RUN_SOCKET_ENV = "COMPENDIUM_WARM_RUNS"
#: The kernelspec command a forked kernel stands in for.
LAUNCHER = ("-m", "ipykernel_launcher")
#: ipykernel sets this backend when none is set; set first, so that importing
#: matplotlib in the server reads the same backend a fresh kernel would.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_HEADER = struct.Struct("!I")


# --------------------------------------------------------------------------
# Messages: a length-prefixed JSON object, optionally with file descriptors.


def _send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], fds)
    else:
        sock.sendall(payload)


def _receive(sock: socket.socket, nfds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """One message (None at end of stream) and the descriptors that came with it."""
    fds: list[int] = []
    if nfds:
        data, fds, _, _ = socket.recv_fds(sock, 65536, nfds)
    else:
        data = sock.recv(65536)
    if not data:
        return None, fds
    while len(data) < _HEADER.size or len(data) < _HEADER.size + _HEADER.unpack(
            data[:_HEADER.size])[0]:
        more = sock.recv(65536)
        if not more:
            return None, fds
        data += more
    size = _HEADER.unpack(data[:_HEADER.size])[0]
    return json.loads(data[_HEADER.size:_HEADER.size + size]), fds


# --------------------------------------------------------------------------
# The server


def _preload(modules: tuple[str, ...] = PRELOAD) -> None:
    import importlib

    # As ipykernel_launcher does: the folder the server started in is not a
    # kernel's import path.
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    # debugpy warns on stderr, on import, that this Python runs with frozen
    # modules; ipykernel's own kernelspec silences it the same way where it
    # keeps frozen modules on (ipykernel.kernelspec.get_kernel_dict).
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Libraries decide some defaults when imported, by asking whether they run
    # in a Jupyter kernel (pandas: how many columns a frame shows). They are
    # imported here for kernels, so they are told so, as they are inside one.
    builtins.get_ipython = _KernelShell  # type: ignore[attr-defined]  # IPython's hook, faked
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:  # a leaner environment: that kernel imports it itself
                pass
    finally:
        del builtins.get_ipython  # type: ignore[attr-defined]  # the fake set above


def _preload_runs() -> None:
    """What a run's own process spends its first second on, once: imports and the notebook schema.

    The run process never shares anything with a kernel: it only drives one
    (papermill), so nothing it has imported reaches the notebook's code.
    """
    import importlib

    for name in RUN_PRELOAD:
        importlib.import_module(name)
    import nbformat

    # nbformat compiles its JSON schema validator on first use (a quarter of a second);
    # compiled here, every forked run finds it compiled. Likewise the package's
    # import graph, which each run records the code it used from: a run parses
    # again only the modules changed since (compendium.importgraph keeps each file's
    # imports while it is unchanged).
    nbformat.validate(nbformat.v4.new_notebook())
    runs = importlib.import_module("compendium.pipeline.runs")
    importlib.import_module("compendium.importgraph").import_graph(runs.PACKAGE_DIR, "compendium")
    # nbconvert loads its templates, filters and highlighter on the first page it
    # renders (half a second); the notebooks' pages step, which keeps one exporter,
    # then finds them loaded.
    site = importlib.import_module("compendium.pipeline.site")
    site.notebook_exporter().from_notebook_node(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("*a* page"), nbformat.v4.new_code_cell("print(1)")]))


class _KernelShell:
    """What ``get_ipython()`` answers in a kernel, as far as an import asks: it has a kernel."""

    kernel = True


def _in_child(request: dict[str, Any], fds: list[int], run: Callable[[], int]) -> None:
    """In a forked child: take on the caller's streams, folder and environment, then exit
    with what ``run`` returns, as an interpreter would; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (devnull, *fds):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        code = run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on its stderr, as an uncaught error would be
        import traceback

        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()  # what an interpreter exiting would run
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _become_kernel(request: dict[str, Any], fds: list[int], server_pid: int) -> None:
    """In the forked child: take on the run's process state and run the kernel; never returns."""
    os.setsid()  # its own session and process group, as jupyter_client gives a kernel
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)

    def kernel() -> int:
        os.environ["JPY_PARENT_PID"] = str(server_pid)  # the poller watches its real parent
        import numpy as np

        np.random.seed()  # numpy's global state is not reseeded by a fork; a fresh process's is new
        sys.argv = ["ipykernel_launcher", *request["argv"][len(LAUNCHER) + 1:]]
        from ipykernel import kernelapp

        # Two of its settings read the environment when the module was imported
        # (in the server); they are given as the run's environment has them.
        kernelapp.IPKernelApp.launch_instance(
            parent_handle=server_pid,
            interrupt=int(os.environ.get("JPY_INTERRUPT_EVENT") or 0))
        return 0

    _in_child(request, fds, kernel)


def _become_command(request: dict[str, Any], fds: list[int]) -> None:
    """In a child of the run server: run ``MODULE.main(ARGV)`` as its caller; never returns.

    It joins the caller's process group (make's), so that what stops the build
    (Ctrl-C, a kill of the group) stops the run as it would stop a ``compendium
    run`` process; a caller in another session (a test run's servers) cannot be
    joined, and the server kills the child when its caller's connection closes.
    It dies with the server.
    """
    _die_with_parent()
    try:
        os.setpgid(0, request["pgid"])
    except (KeyError, OSError):  # a caller in another session: the server kills it instead
        pass
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def command() -> int:
        os.environ.pop(RUN_SOCKET_ENV, None)  # it runs the command itself, not another fork
        sys.argv = [request["module"], *request["argv"]]
        import importlib

        # The caller names its entry point, so that this module (below the command
        # line in the package's floors) need not know it; the server imported it.
        return importlib.import_module(request["module"]).main(request["argv"])

    _in_child(request, fds, command)


def _die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``signum`` to this process when its parent ends (elsewhere: nothing;
    the parent's own kill, or the server's check of its parent, stands in)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def serve(listener: socket.socket, folder: Path, parent: int, runs: bool = False) -> None:
    """Import :data:`PRELOAD`, then fork a kernel for each request until told to stop.

    Each connection asks for one kernel (the run's environment, working folder,
    command line and standard streams) and gets the child's pid, then its exit
    status when it ends. A connection closed while its kernel lives means the
    run died: the kernel is killed. The server stops on SIGTERM or SIGINT (at once,
    even while it still imports) or when ``parent`` ends (on Linux the kernel sends
    it SIGTERM then; elsewhere the loop sees it within a second), killing the
    kernels it still has and removing ``folder`` (which holds the socket).

    With ``runs``, it is the run server instead: it imports :data:`RUN_PRELOAD`
    and each child it forks runs one ``compendium`` command (``compendium run
    ID ...``) in place of the process make started, which waits for it.
    """
    me = os.getpid()
    kernels: dict[int, socket.socket] = {}
    stopping = False
    importing = True

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        if importing:
            # Nothing is served before the imports end (two seconds of CPU): a build
            # stopped (Ctrl-C) or killed in its first seconds does not wait for them.
            raise SystemExit(0)

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the loop to reap
    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Its parent killed (SIGKILL of the wrapper): told at once, rather than by the
        # loop's check of its parent once a second, which starts after the imports.
        _die_with_parent(signal.SIGTERM)
        if os.getppid() != parent:
            return  # gone before the request above was made
        _preload_runs() if runs else _preload()
        importing = False
        # What the imports made stays as it is in every child: frozen, the collector
        # never walks it, so a child does not copy those pages just to mark them.
        gc.collect()
        gc.freeze()
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, "accept")
        selector.register(wake_r, selectors.EVENT_READ, "wake")
        while not stopping and os.getppid() == parent:
            for key, _ in selector.select(timeout=1.0):
                if key.data == "wake":
                    os.read(wake_r, 4096)
                elif key.data == "accept":
                    conn, _ = listener.accept()
                    conn.setblocking(True)
                    request, fds = _receive(conn, nfds=2)
                    if request is None or len(fds) != 2:
                        for fd in fds:
                            os.close(fd)
                        conn.close()
                        continue
                    pid = os.fork()
                    if pid == 0:
                        try:  # a child never goes back to serving, whatever happens
                            listener.close()
                            for other in kernels.values():
                                other.close()
                            if runs:
                                conn.close()  # the command's end of it is its caller's
                                _become_command(request, fds)
                            _become_kernel(request, fds, me)
                        finally:
                            os._exit(1)
                    for fd in fds:
                        os.close(fd)
                    _send(conn, {"pid": pid})
                    kernels[pid] = conn
                    selector.register(conn, selectors.EVENT_READ, pid)
                else:  # the run closed its connection (or died): its kernel goes too
                    pid = key.data
                    selector.unregister(key.fileobj)
                    # Only the runs' connections are registered with a pid as their data.
                    cast(socket.socket, key.fileobj).close()
                    kernels.pop(pid, None)
                    _kill_group(pid)
            _reap(kernels, selector)
    finally:
        signal.set_wakeup_fd(-1)
        for pid in list(kernels):
            _kill_group(pid)
        shutil.rmtree(folder, ignore_errors=True)


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass


def _reap(kernels: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    """Collect ended kernels and tell each one's run its exit status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = kernels.pop(pid, None)
        if conn is not None:
            selector.unregister(conn)
            try:
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass
            conn.close()


def _servers_in_reach() -> bool:
    """Whether the environment names a kernel server's and a run server's sockets that answer.

    A socket file whose server died (killed before it could remove it) refuses the
    connection; a live server takes the empty connection and closes it.
    """
    for variable in (SOCKET_ENV, RUN_SOCKET_ENV):
        path = os.environ.get(variable)
        if not path:
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
            except OSError:
                return False
    return True


def run_with_server(command: list[str]) -> int:
    """Run ``command`` with a kernel fork server and a run fork server beside it; its exit status.

    The sockets sit in a private temporary folder (a short path, as sockets
    need), which the servers remove when they stop. The two servers import at
    the same time, on two cores, while make validates the dataset. Where the
    environment already names two live servers, ``command`` uses them instead.
    """
    if _servers_in_reach():
        # A build inside a build, or a test run that started the servers once for all
        # its builds: the servers already forking for this process fork for COMMAND too.
        try:
            return subprocess.call(command)
        except KeyboardInterrupt:
            return 130
    folder = Path(tempfile.mkdtemp(prefix="compendium-warm-"))
    parent = os.getpid()
    env = dict(os.environ)
    servers = []
    for name, variable, runs in (("kernels.sock", SOCKET_ENV, False),
                                 ("runs.sock", RUN_SOCKET_ENV, True)):
        path = folder / name
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(64)
        server = os.fork()
        if server == 0:
            code = 0
            try:
                # Out of the build's process group: a SIGKILL of the group (a CI timeout,
                # a killed build) would kill a server before it could remove its folder;
                # in a group of its own, it sees its parent gone within a second, stops
                # its children and removes the folder.
                os.setpgid(0, 0)
                serve(listener, folder, parent, runs=runs)
            except BaseException:  # noqa: BLE001 - the runs fall back to fresh processes
                code = 1
            finally:
                os._exit(code)
        listener.close()
        servers.append(server)
        env[variable] = str(path)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        for server in servers:
            try:
                os.kill(server, signal.SIGTERM)
            except OSError:
                pass
        for server in servers:
            try:
                os.waitpid(server, 0)
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------
# The run's side: a Popen-like handle and the kernel manager


class ForkedKernel:
    """A kernel forked by the server, with the part of ``subprocess.Popen`` a provisioner uses.

    The kernel is the server's child, so its exit status arrives over the
    connection; closing the connection (this process ending) makes the server
    kill the kernel.
    """

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int):
        self._conn = conn
        self.pid = pid
        self.returncode: int | None = None

    def _finish(self, message: dict[str, Any] | None) -> int:
        # No status means the server went away; its kernels go with it.
        self.returncode = int(message["exit"]) if message and "exit" in message else -9
        self._conn.close()
        return self.returncode

    def _status(self, timeout: float | None) -> int | None:
        """The exit status if it arrives within ``timeout`` seconds (0: already there;
        None: however long it takes), else None."""
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                message, _ = _receive(self._conn)
            except (BlockingIOError, TimeoutError):
                return None
            self._finish(message)
        return self.returncode

    def poll(self) -> int | None:
        """The exit status if the kernel has ended, else None."""
        return self._status(0.0)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the kernel ends; its exit status."""
        code = self._status(timeout)
        if code is None:  # only a finite timeout can run out
            raise subprocess.TimeoutExpired("kernel", timeout or 0.0)
        return code

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel (not after it ended)."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        """SIGTERM, as Popen.terminate."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as Popen.kill."""
        self.send_signal(signal.SIGKILL)


def fork_kernel(cmd: list[str], env: dict[str, str], cwd: str,
                stdout: Any = None, stderr: Any = None) -> ForkedKernel | None:
    """Ask the server for a kernel running ``cmd``; None when there is none to ask.

    Only the kernelspec's own command (this interpreter, ``-m
    ipykernel_launcher``) is forked; anything else starts as before.
    """
    if len(cmd) < 3 or tuple(cmd[1:3]) != LAUNCHER \
            or os.path.realpath(cmd[0]) != os.path.realpath(sys.executable):
        return None
    return _request(os.environ.get(SOCKET_ENV),
                    {"argv": list(cmd), "env": dict(env), "cwd": str(cwd)}, stdout, stderr)


def _request(path: str | None, message: dict[str, Any], stdout: Any = None,
             stderr: Any = None) -> ForkedKernel | None:
    """Ask the server at ``path`` to fork a child for ``message``; None when there is none."""
    if not path:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        fds = [stream.fileno() if stream is not None else default
               for stream, default in ((stdout, 1), (stderr, 2))]
        _send(conn, message, fds)
        reply, _ = _receive(conn)
    except OSError:
        conn.close()
        return None
    if not reply or "pid" not in reply:
        conn.close()
        return None
    return ForkedKernel(conn, int(reply["pid"]))


def run_forked(module: str, argv: list[str]) -> int | None:
    """Run ``MODULE.main(ARGV)`` in a child of the run server and wait for it; its exit status.

    ``module`` is the command line's module (``compendium.cli``, which the
    server imported). None when no run server is there to ask (the caller then
    runs the command itself). The child has this process's environment, working
    folder and standard streams; signals this process gets (Ctrl-C, make's
    SIGTERM) are passed on to it, and if this process dies the server kills the child.
    """
    process = _request(os.environ.get(RUN_SOCKET_ENV),
                       {"module": module, "argv": list(argv), "env": dict(os.environ),
                        "cwd": os.getcwd(), "pgid": os.getpgrp()})
    if process is None:
        return None

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(process.pid, signum)
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    code = process.wait()
    # A status below zero is a signal's; the shell's way of saying so is 128 + its number.
    return code if code >= 0 else 128 - code


@functools.cache
def _provisioner_class() -> type:
    """The kernel provisioner whose kernels come from the fork server when it runs."""
    from jupyter_client.provisioning import LocalProvisioner

    class WarmProvisioner(LocalProvisioner):
        """LocalProvisioner whose kernel is forked by the server, when there is one."""

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            env = kwargs.get("env")
            process = fork_kernel(cmd, dict(os.environ if env is None else env),
                                  str(kwargs.get("cwd") or Path.cwd()),
                                  kwargs.get("stdout"), kwargs.get("stderr"))
            if process is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = process  # type: ignore[assignment]  # Popen's part the provisioner uses
            self.pid = self.pgid = process.pid  # the child leads its own process group
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    return WarmProvisioner


def __getattr__(name: str) -> type:
    # ``WarmProvisioner`` is jupyter_client's entry point ``compendium-warm``
    # (pyproject.toml), which a kernelspec names to have its kernels forked (the
    # test run's nbval does); defined on first use, so that the wrapper imports
    # only the standard library.
    if name == "WarmProvisioner":
        return _provisioner_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: What jupyter_client says when a kernel ends before its first reply (and so does
#: :func:`_client_class`'s client): the run then starts again in a fresh kernel.
KERNEL_DIED_AT_START = "Kernel died before replying to kernel_info"


@functools.cache
def _client_class() -> type:
    """The kernel client of :func:`warm_kernel_manager`'s kernels."""
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class WarmKernelClient(AsyncKernelClient):
        """AsyncKernelClient whose wait for a new kernel ends once the kernel has answered.

        jupyter_client's ``wait_for_ready`` asks for the kernel's info until a reply
        comes and a message on IOPub shows that channel connected, then reads IOPub
        until it has been silent for 0.2 s: a fifth of a second of every run, spent
        waiting for a forked kernel that is ready in milliseconds. This client asks
        and checks alike, but stops reading at the kernel's idle status after the
        request it asked last. What IOPub may still hold cannot reach a notebook:
        nbclient takes only the messages whose parent is the cell it is running.
        """

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                request = self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply" \
                        and await self._read_iopub_to_idle(request):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self.is_alive():
                    raise RuntimeError(KERNEL_DIED_AT_START)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

        async def _read_iopub_to_idle(self, request: str) -> bool:
            """Read IOPub up to the idle status after ``request`` (or 0.2 s of silence);
            whether any message came, that is, whether IOPub is connected."""
            seen = False
            while True:
                try:
                    message = await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    return seen
                seen = True
                if (message["msg_type"] == "status"
                        and message["content"].get("execution_state") == "idle"
                        and message["parent_header"].get("msg_id") == request):
                    return True

    return WarmKernelClient


def warm_kernel_manager() -> type:
    """The AsyncKernelManager class whose kernels come from the fork server when it runs."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    WarmProvisioner = _provisioner_class()

    class WarmKernelManager(AsyncKernelManager):
        """AsyncKernelManager with :class:`WarmProvisioner` and a client that waits less."""

        @default("client_factory")
        def _warm_client_factory(self) -> type:
            return _client_class()

        @default("shutdown_wait_time")
        def _warm_shutdown_wait_time(self) -> float:
            # ipykernel 7 sometimes hangs in its own close after it has answered the
            # shutdown request (its control thread waits on a flush the stopped IOPub
            # thread never makes), until jupyter_client's SIGTERM at half this time:
            # 2.5 s by default, in about one run in fifty. Every output has reached
            # the notebook by then; half a second is ten times a normal exit.
            return 1.0

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            if self.provisioner is None:
                import uuid

                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = WarmProvisioner(kernel_id=self.kernel_id,
                                                   kernel_spec=self.kernel_spec, parent=self)
            server = os.environ.get(SOCKET_ENV)
            if server and not self.connection_file:
                # The connection file (the kernel's ports and key) goes in the servers'
                # folder: by default it is a temporary file of its own, which a run killed
                # with SIGKILL (a stopped build, a CI timeout) left behind for good; the
                # servers remove their folder when their build ends, however it ends.
                self.connection_file = os.path.join(os.path.dirname(server),
                                                    f"kernel-{self.kernel_id}.json")
            return await super()._async_pre_start_kernel(**kw)

        async def _async_finish_shutdown(self, waittime: float | None = None,
                                         pollinterval: float = 0.01,
                                         restart: bool = False) -> None:
            # jupyter_client looks every 0.1 s whether the kernel has exited after its
            # shutdown request; a forked kernel exits within milliseconds.
            await super()._async_finish_shutdown(waittime, pollinterval, restart)

    return WarmKernelManager


def main(argv: list[str] | None = None) -> int:
    """``python -m compendium.pipeline.warm -- COMMAND...``: COMMAND with warmed kernels."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m compendium.pipeline.warm -- COMMAND...", file=sys.stderr)
        return 2
    return run_with_server(args)


if __name__ == "__main__":
    sys.exit(main())
