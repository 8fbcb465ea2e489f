"""Running independent jobs in forked worker processes, with the serial result exactly.

Validation (:mod:`compendium.dataset.validation`) splits its checks into jobs
that read the same parsed tables. A job started here runs in a child made by
``os.fork``, so it sees the parent's tables copy-on-write instead of a pickled
copy, and sends back one pickled value (or the exception it raised) through a
pipe. A :class:`Jobs` run without workers (``os.fork`` missing, one core, the
``COMPENDIUM_VALIDATE_WORKERS=1`` switch, or a dataset too small to gain) calls
each job at once in this process, which is the serial path the parallel one is
compared with.

What a caller sees is the serial run's outcome whatever happens to a worker:

* the value of each job is the value the call in this process would return;
* an exception a job raises is raised again here, and when several jobs (or
  this process's own work between them) fail, the one raised is the one the
  serial run meets first: jobs are collected in the order they were started;
* a worker that dies before it has sent its whole answer (killed, out of
  memory) is noticed by end of file on its pipe and its exit status, and its
  job is run again in this process;
* no worker outlives the call: each is reaped (also when this process is
  interrupted, which kills the rest first), and a worker whose parent dies is
  killed by the kernel (``PR_SET_PDEATHSIG`` on Linux) or ends when it writes
  to the closed pipe.

Standard library only; nothing of the package is imported.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

#: The environment variable that sets the number of processes validation may use
#: (``1``: the serial path, in this process only).
WORKERS_ENV = "COMPENDIUM_VALIDATE_WORKERS"


def worker_count() -> int:
    """How many processes a :class:`Jobs` may run at once: the cores this process may
    use, or :data:`WORKERS_ENV` when set; 1 where ``os.fork`` is missing."""
    if not hasattr(os, "fork"):
        return 1
    wanted = os.environ.get(WORKERS_ENV, "").strip()
    if wanted.isdigit() and int(wanted) >= 1:
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the parent dies (Linux), or end now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl here: the closed pipe ends the worker
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _keep_freed_memory() -> None:
    """In a worker: have malloc keep what it frees for the worker's next allocations
    (Linux, glibc), instead of handing it back to the system and faulting it in
    again page by page. A worker lives for one job, and its memory goes at its exit."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB free at the top
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: blocks under 32 MiB from the heap
    except (OSError, AttributeError):  # no glibc: the defaults stand
        pass


class Job:
    """One job: started in a worker (``pid`` set) or already run in this process."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]):
        self.func, self.args = func, args
        self.pid: int | None = None
        self.fd: int | None = None
        self.done = False
        self.value: Any = None
        self.error: Exception | None = None
        #: whether the worker died and the job was run here instead (for tests and reports)
        self.rerun = False

    def run_here(self) -> None:
        """Run the job in this process, keeping its value or the exception it raises."""
        try:
            self.value = self.func(*self.args)
        except Exception as err:  # kept, to be raised in the serial run's order
            self.error = err
        self.done = True

    def start(self) -> None:
        """Fork a worker that runs the job and writes its pickled answer to a pipe."""
        read_end, write_end = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: compute, answer, and never return into the caller
            status = 1
            try:
                os.close(read_end)
                # Ctrl-C reaches the whole process group: the worker just ends, and
                # the parent (interrupted too) reaps it
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent(parent)
                _keep_freed_memory()
                try:
                    answer: tuple[str, Any] = ("value", self.func(*self.args))
                except Exception as err:
                    answer = ("error", err)
                try:
                    data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # an unpicklable value or exception: the parent reruns it
                    data = pickle.dumps(("rerun", None))
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self.pid, self.fd = pid, read_end

    def collect(self) -> None:
        """Read the worker's answer to the end and reap it; rerun the job here if it died."""
        if self.done:
            return
        assert self.fd is not None and self.pid is not None
        chunks = []
        with os.fdopen(self.fd, "rb") as pipe:
            self.fd = None
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
        status = self._reap()
        kind, payload = "rerun", None
        if status == 0:
            try:
                kind, payload = pickle.loads(b"".join(chunks))
            except Exception:  # a cut answer: treated as a worker that died
                kind = "rerun"
        if kind == "value":
            self.value, self.done = payload, True
        elif kind == "error":
            self.error, self.done = payload, True
        else:
            self.rerun = True
            self.run_here()

    def _reap(self) -> int | None:
        """Wait for the worker; its exit status (None when someone else reaped it)."""
        pid, self.pid = self.pid, None
        if pid is None:
            return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by a SIGCHLD handler of the embedding process
            return None
        return os.waitstatus_to_exitcode(status)

    def abandon(self) -> None:
        """Kill the worker (if any) and reap it, closing the pipe: nothing is left behind."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def result(self) -> Any:
        """The job's value, or the exception it raised, raised."""
        self.collect()
        if self.error is not None:
            raise self.error
        return self.value


class Jobs:
    """Jobs started in order, each in a worker when ``parallel``, else run at once here.

    Use it as a context manager around the caller's own work: on leaving, every
    job is collected in the order it was started and the first exception in that
    order is raised (before an exception of the caller's own work, which the
    serial run would meet later); when the caller is interrupted, the workers
    are killed and reaped.
    """

    def __init__(self, parallel: bool):
        self.parallel = parallel and hasattr(os, "fork")
        self.jobs: list[Job] = []

    def start(self, func: Callable[..., Any], *args: Any) -> Job:
        """Start ``func(*args)``: in a worker, or (serial) now, raising what it raises."""
        job = Job(func, args)
        self.jobs.append(job)
        if self.parallel:
            job.start()
        else:
            job.run_here()
            if job.error is not None:
                raise job.error
        return job

    def __enter__(self) -> Jobs:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: Any) -> None:
        if kind is not None and not issubclass(kind, Exception):  # interrupted: stop all
            for job in self.jobs:
                job.abandon()
            return
        try:
            for job in self.jobs:
                job.collect()
                if job.error is not None:  # it came before the caller's own failure
                    raise job.error
        finally:
            for job in self.jobs:
                job.abandon()
