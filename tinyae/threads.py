"""BLAS threads that do not collapse on a busy machine.

NumPy's matrix products run in a BLAS library (OpenBLAS by default) that starts one thread per core.  Its
threads wait for each other by spinning, so when another program holds one of the cores, every product waits
for the thread that has no core: a training run can take several times longer than with a single thread.
On an idle machine the extra threads do help a little.

:class:`AdaptiveThreads` keeps the best of both.  While it is active (``fit`` uses it around training), it
looks every ``interval`` seconds at how much CPU *other* processes used (``/proc/stat`` minus this
process's own time on Linux, the load average elsewhere) and gives BLAS only the cores that are left, at
least one and at most what it had.  It starts from the number of other threads running at that instant,
gives up threads at once and takes more only when two looks in a row agree.  Nothing changes when
``threadpoolctl`` is not installed, on a GPU backend, or when ``TINYAE_BLAS_THREADS`` says otherwise:

- ``TINYAE_BLAS_THREADS=auto`` (the default): adapt as above;
- ``TINYAE_BLAS_THREADS=N``: use exactly N threads while training;
- ``TINYAE_BLAS_THREADS=off``: leave BLAS alone (so do ``OPENBLAS_NUM_THREADS`` and friends when set).

>>> with AdaptiveThreads() as threads:
...     threads.check()  # call once per step: cheap, it looks only every `interval` seconds
"""

from __future__ import annotations

import logging
import os
import time
from types import TracebackType
from typing import Any

__all__ = ["AdaptiveThreads", "blas_threads", "describe_blas", "other_cpu_use"]

logger = logging.getLogger(__name__)

_USER_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS keeps its own setting
        return None
    controller = ThreadpoolController().select(user_api="blas")
    return controller if controller.info() else None


def blas_threads() -> int | None:
    """The number of threads the loaded BLAS libraries use now (None when unknown)."""
    controller = _controller()
    if controller is None:
        return None
    return max(int(pool["num_threads"]) for pool in controller.info())


def describe_blas() -> str:
    """One line on the loaded BLAS libraries and their thread counts (for ``tinyae info``)."""
    controller = _controller()
    if controller is None:
        return "unknown (threadpoolctl is not installed, or no BLAS library is loaded)"
    return "; ".join(
        f"{pool.get('internal_api')} {pool.get('version')}, {pool.get('num_threads')} threads"
        for pool in controller.info()
    )


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _CpuClock:
    """Busy CPU seconds of the whole machine and of this process, to tell how much the others use."""

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.last = self._read()

    def _read(self) -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # all but idle and iowait
        mine = os.times()
        return time.monotonic(), busy / self.tick, mine.user + mine.system

    def others(self) -> float | None:
        """Cores used by other processes since the last call (None when the system cannot say)."""
        now = self._read()
        if now is None or self.last is None:
            return _loadavg_others()
        (t0, busy0, mine0), (t1, busy1, mine1) = self.last, now
        self.last = now
        if t1 - t0 < 0.05:
            return None
        return max(0.0, ((busy1 - busy0) - (mine1 - mine0)) / (t1 - t0))


def _loadavg_others() -> float | None:
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)  # minus this process, roughly
    except (AttributeError, OSError):
        return None


def _running_now() -> int:
    """Other threads running or ready to run at this instant (``procs_running`` less this one); 1 when
    the system cannot say, so that a start without information is the safe one."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                if line.startswith("procs_running"):
                    return max(int(line.split()[1]) - 1, 0)
    except (OSError, ValueError):
        pass
    return 1


def other_cpu_use(seconds: float = 0.2) -> float | None:
    """Cores used by other processes over the next ``seconds`` (None when the system cannot say)."""
    clock = _CpuClock()
    time.sleep(seconds)
    return clock.others()


class AdaptiveThreads:
    """Give BLAS the cores other processes leave free, re-checked every ``interval`` seconds.

    Use it as a context manager and call :meth:`check` once per training step; on leaving, BLAS gets its
    original thread count back.  ``setting`` overrides ``TINYAE_BLAS_THREADS`` (``"auto"``, ``"off"`` or a
    number).
    """

    def __init__(self, interval: float = 0.5, setting: str | int | None = None) -> None:
        if setting is None:
            setting = os.environ.get("TINYAE_BLAS_THREADS", "auto")
        setting = str(setting).strip().lower()
        if setting not in ("auto", "off") and not (setting.isdigit() and int(setting) >= 1):
            raise ValueError(f"TINYAE_BLAS_THREADS must be 'auto', 'off' or a number >= 1, got {setting!r}")
        if setting == "auto" and any(os.environ.get(name) for name in _USER_SETTINGS):
            setting = "off"  # the user chose a thread count for BLAS: respect it
        self.setting = setting
        self.interval = interval
        self.threads: int | None = None  # what BLAS uses now (None: left alone)
        self._controller: Any = None

    def __enter__(self) -> AdaptiveThreads:
        if self.setting == "off":
            return self
        self._controller = _controller()
        if self._controller is None:
            return self
        self.original = max(int(pool["num_threads"]) for pool in self._controller.info())
        if self.setting != "auto":
            self._set(int(self.setting))
            return self
        self._clock = _CpuClock()
        self._next = time.monotonic() + self.interval
        busy_now = _running_now()  # no waiting: at first, trust how many others run at this instant
        self._set(self.original if busy_now == 0 else 1)
        self._wanted_before = self.threads or 1
        return self

    def check(self) -> None:
        """Every ``interval`` seconds, measure the other processes and adjust the thread count."""
        if self.setting != "auto" or self._controller is None or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.interval
        others = self._clock.others()
        if others is not None:
            free = int(_cores() - others + 0.5)  # a core counts as taken when others use half of it
            wanted = max(1, min(self.original, free))
            # fewer threads at once; more only after two looks in a row agree (a busy machine flickers)
            if wanted < (self.threads or 1) or self._wanted_before >= wanted:
                self._set(wanted)
            self._wanted_before = wanted

    def _set(self, threads: int) -> None:
        if threads != self.threads:
            self._controller.limit(limits=threads)
            logger.debug("BLAS threads: %s -> %d", self.threads, threads)
            self.threads = threads

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._controller is not None and self.threads is not None:
            self._controller.limit(limits=self.original)
        self.threads = None
