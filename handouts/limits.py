"""Time and memory limits for making leaflets, and making several at once.

A clinic's templates and CSS are input, not trusted code: a loop that never ends, or a
template that doubles a text forty times, must stop with a clear message, never hang the
build or use up the computer's memory. Leaflets are therefore made (template, layout,
checks) in worker processes forked from handouts, each with a memory limit, and a worker
whose leaflet takes longer than the time limit is stopped. One worker per processor core
makes a batch that much faster. What a worker made, or the error it met, comes back to
the build, which writes the files.

The limits are generous (a leaflet takes about half a second and 200 MB): a leaflet that
hits one is broken, not slow. Two environment variables change them:
HANDOUTS_TIME_LIMIT (seconds per leaflet) and HANDOUTS_MEMORY_LIMIT (megabytes).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import select
import signal
import struct
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import HandoutsError, RenderError, UserError

T = TypeVar("T")

DEFAULT_TIME_LIMIT = 120.0  # seconds for one leaflet, from template to checked PDF
DEFAULT_MEMORY_LIMIT = 2048  # megabytes a worker may use beyond what handouts has
_HEADER = struct.Struct("!Q")


def _setting(name: str, default: float, unit: str) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 10**6:
        raise UserError(f"{name}={text!r} is not a number of {unit} (for example {default:g}).")
    return value


def time_limit() -> float:
    return _setting("HANDOUTS_TIME_LIMIT", DEFAULT_TIME_LIMIT, "seconds")


def memory_limit() -> int:
    return int(_setting("HANDOUTS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT, "megabytes"))


def default_workers(count: int) -> int:
    """One worker per processor core this process may use, but no more than the jobs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, count))


class _Worker:
    """One forked process that runs `fn(index)` for each index it is sent."""

    def __init__(self, fn: Callable[[int], Any], megabytes: int, others: Sequence[_Worker]) -> None:
        _settle()
        to_child, self._orders = os.pipe()
        self._results, from_child = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the worker: never returns
            # Only the build may hold the other ends: a worker then sees its orders end
            # when the build ends, however it ends.
            for fd in (self._orders, self._results, *(f for w in others for f in w.fds)):
                with contextlib.suppress(OSError):
                    os.close(fd)
            _serve(to_child, from_child, megabytes, fn)
        os.close(to_child)
        os.close(from_child)
        self.index: int | None = None  # the job it is making
        self.started = 0.0
        self._buffer = bytearray()

    def fileno(self) -> int:
        return self._results

    @property
    def fds(self) -> tuple[int, int]:
        return (self._orders, self._results)

    def send(self, index: int) -> None:
        self.index, self.started = index, time.monotonic()
        self._buffer.clear()
        os.write(self._orders, _HEADER.pack(index))

    def receive(self) -> tuple[str, Any] | None:
        """Read what the worker has sent: its whole answer once complete, else None.
        An answer of ("died", status) means the worker ended without one."""
        chunk = os.read(self._results, 1 << 20)
        if not chunk:  # it is no longer making anything: not to be read again
            self.index = None
            return ("died", self._reap())
        self._buffer += chunk
        if len(self._buffer) < _HEADER.size:
            return None
        (length,) = _HEADER.unpack_from(self._buffer)
        if len(self._buffer) < _HEADER.size + length:
            return None
        answer = pickle.loads(self._buffer[_HEADER.size :])
        self.index = None
        return answer

    def _reap(self) -> int:
        pid, self.pid = self.pid, 0
        while pid:
            try:
                return os.waitpid(pid, 0)[1]
            except ChildProcessError:
                return 0
            except InterruptedError:
                continue
        return 0

    def stop(self) -> None:
        """End the worker at once and wait for it (safe to call twice)."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        for fd in (self._orders, self._results):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._orders = self._results = -1


def _settle(seconds: float = 10.0) -> None:
    """Wait (at most `seconds`) until no thread of a C library is running, before a fork.
    Pango runs fontconfig in threads of its own ("[pango] FcInit", "[pango] fontconfig"),
    and a worker forked while one of them holds fontconfig's lock would wait for it for
    ever. Such threads name themselves; Python's threads (and a test runner's) keep the
    process's name. The quiet state must be seen twice, so that a thread that has just
    started, and not yet named itself, is not missed."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    if not tasks.is_dir():
        return
    main = _name(tasks / str(os.getpid()))
    deadline = time.monotonic() + seconds
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        names = {_name(task) for task in tasks.iterdir()} - {main, ""}
        quiet = quiet + 1 if not names else 0
        time.sleep(0.001)


def _name(task: Path) -> str:
    try:
        return (task / "comm").read_text().strip()
    except OSError:  # the thread ended while we looked
        return ""


def run_all(
    fn: Callable[[int], T],
    count: int,
    what: Callable[[int], str],
    workers: int = 1,
) -> Iterator[tuple[int, T]]:
    """fn(0) … fn(count - 1), each in a worker process within the time and memory limits,
    up to `workers` at once; yields (index, result) in index order. An error (a
    HandoutsError from fn, or a limit hit) is raised here in its turn, after the results
    before it, and stops every worker."""
    seconds, megabytes = time_limit(), memory_limit()
    pool: list[_Worker] = []
    done: dict[int, tuple[str, Any]] = {}
    next_job = next_out = 0
    try:
        for _ in range(max(1, min(workers, count))):
            pool.append(_Worker(fn, megabytes, pool))
        while next_out < count:
            failed = any(answer[0] != "ok" for answer in done.values())
            for worker in pool:
                if worker.index is None and next_job < count and not failed:
                    worker.send(next_job)
                    next_job += 1
            busy = [w for w in pool if w.index is not None]
            now = time.monotonic()
            late = min(busy, key=lambda w: w.started)
            if now - late.started >= seconds:
                raise _timed_out(what(late.index), seconds)
            ready, _, _ = select.select(busy, [], [], seconds - (now - late.started))
            for worker in ready:
                index = worker.index
                answer = worker.receive()
                if answer is not None:
                    done[index] = answer
            while next_out in done:  # in order: an error after the leaflets before it
                yield next_out, _outcome(done.pop(next_out), what(next_out), megabytes)
                next_out += 1
    finally:
        for worker in pool:
            worker.stop()


def run_limited(fn: Callable[..., T], *args: Any, what: str) -> T:
    """fn(*args) in a worker process within the time and memory limits; its result."""
    for _, result in run_all(lambda _: fn(*args), 1, lambda _: what):
        return result
    raise AssertionError("unreachable")


def _outcome(answer: tuple[str, Any], what: str, megabytes: int):
    kind, value = answer
    if kind == "ok":
        return value
    if kind == "error":
        raise value
    if kind == "memory":
        raise RenderError(
            f"{what} could not be made: it needed more than {megabytes:,} MB of memory. A "
            "clinic template or stylesheet most likely makes far too much (a loop that "
            "repeats or doubles text); look at what was changed last. (The limit is set by "
            "HANDOUTS_MEMORY_LIMIT, in megabytes.)"
        )
    if kind == "interrupted":
        raise KeyboardInterrupt
    if kind == "died":
        if os.WIFSIGNALED(value):
            sig = os.WTERMSIG(value)
            if sig in (signal.SIGINT, signal.SIGTERM):
                raise KeyboardInterrupt
            raise RenderError(
                f"{what} could not be made: the process making it was stopped "
                f"({signal.Signals(sig).name}), most likely because the computer ran out of "
                "memory."
            )
        raise RenderError(
            f"{what} could not be made: the process making it ended early (exit status "
            f"{os.WEXITSTATUS(value)}). Run the build again; if it happens again, please "
            "report it (SECURITY.md says how)."
        )
    raise RuntimeError(f"making {what} failed inside handouts:\n{value}")


def _timed_out(what: str, seconds: float) -> RenderError:
    return RenderError(
        f"{what} could not be made: it took longer than {seconds:g} seconds (a leaflet "
        "takes about one). A clinic template most likely loops without end or far too "
        "often; look at its loops and at what was changed last. (The limit is set by "
        "HANDOUTS_TIME_LIMIT, in seconds.)"
    )


def _data_size() -> int:
    """Bytes of private, writable memory this process has now (VmData: its heap and
    anonymous maps; not the font files and libraries it maps read-only)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _serve(orders: int, results: int, megabytes: int, fn: Callable[[int], Any]) -> None:
    """The worker's life: set the memory limit, then make each job it is sent, sending back
    the result or the error; exit (never return) when the orders end. The limit is on
    private memory (RLIMIT_DATA), which is what a runaway template fills; fonts mapped
    from files do not count, so a worker that has used many fonts is not stopped."""
    status = 0
    try:
        # Ctrl-C reaches the whole process group: the build cleans up and reports it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        limit = _data_size() + megabytes * 1024 * 1024
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
        while True:
            order = _read_exactly(orders, _HEADER.size)
            if order is None:
                break
            _send(results, _attempt(fn, _HEADER.unpack(order)[0]))
    except MemoryError:  # between leaflets: say so, if there is room to
        status = 3
        with contextlib.suppress(BaseException):
            _send(results, ("memory", None))
    except BaseException:
        status = 4
        with contextlib.suppress(BaseException):
            _send(results, ("bug", traceback.format_exc()))
    finally:
        os._exit(status)


def _attempt(fn: Callable[[int], Any], index: int) -> tuple[str, Any]:
    try:
        return ("ok", fn(index))
    except MemoryError:
        return ("memory", None)
    except HandoutsError as exc:
        return ("error", exc)
    except KeyboardInterrupt:
        return ("interrupted", None)
    except BaseException:  # a bug in handouts: show it, as the build would
        return ("bug", traceback.format_exc())


def _send(fd: int, outcome: tuple[str, Any]) -> None:
    try:
        data = pickle.dumps(outcome)
    except MemoryError:
        data = pickle.dumps(("memory", None))
    except Exception:  # an error that cannot be sent whole
        data = pickle.dumps(("bug", traceback.format_exc()))
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


__all__: Sequence[str] = ("default_workers", "memory_limit", "run_all", "run_limited", "time_limit")
