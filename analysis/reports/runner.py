"""Executing report jobs: one notebook run per job, in parallel worker processes.

A :class:`Job` is one notebook with one set of parameters and a deterministic
output name (see :mod:`analysis.reports.schedule`). :func:`execute_job` runs it in
the calling process through papermill and nbconvert and returns a
:class:`JobResult`; :func:`run_jobs` spreads jobs over worker processes
(or over any ``concurrent.futures`` executor, such as a Dask client's) and
collects the results. What a job guarantees:

* the notebook runs in a kernel of the kernelspec given (never the one
  stored in the notebook), over IPC sockets on POSIX (no TCP port races when
  several kernels start at once), with the notebook's folder as working
  directory and matplotlib's inline backend (figures embedded as PNG);
* with warm kernels (the default for the local pool), each worker keeps one
  kernel that imported the heavy modules once (:data:`WARM_IMPORTS`) and
  runs job after job in it, each in a fresh namespace with the shared module
  state put back (:class:`KernelBaseline`); a kernel whose job failed, timed
  out or died, or that ran ``kernel_jobs`` jobs, is shut down and the next
  job gets a new one. Cold kernels (one fresh kernel per job) are used with
  an external executor, when no worker would run a second job, or when
  ``warm_kernels`` is off;
* each cell has a time limit, kernel start has one, and the whole job has a
  wall-clock limit enforced by a watchdog thread that kills the kernel's
  process group; the parent process kills and replaces the worker itself if
  even that does not end the job;
* outputs are written under temporary names in a hidden staging folder and
  moved into place with ``os.replace`` only when complete:
  ``<out>/<notebook>/<name>.ipynb``, ``<name>.html`` (code hidden, figures
  inline, no script from the network) and ``<name>.json`` (the artifact,
  when the notebook declares ``output_json``);
* a failed job keeps its executed notebook as ``<name>.failed.ipynb`` (and
  ``<name>.failed.html`` when it converts; ``<name>.failed.log``, the
  kernel's own output, when the kernel died) for debugging; any error,
  time-out or dead kernel is caught and reported, never raised, so one job
  cannot stop the others.

Examples:
    >>> job = Job("toy", {"name": "Kon Rẫy"}, "toy__name-kon-ray", "/nb/toy.ipynb")
    >>> job.describe()
    "toy name='Kon Rẫy'"
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import threading
import tempfile
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

#: The kernelspec the project installs (``python -m analysis kernel --install``).
KERNEL_NAME = "grassroots"
KERNEL_DISPLAY_NAME = "Python (grassroots analysis)"

#: matplotlib's backend inside kernels: headless and embeds figures in the
#: notebook. (``MPLBACKEND=agg``, which the Makefile exports for scripts,
#: would make ``plt.show()`` draw nothing in a kernel.)
KERNEL_MPLBACKEND = "module://matplotlib_inline.backend_inline"

#: Seconds the parent waits beyond a job's wall-clock limit before it kills
#: the worker process (the watchdog inside the worker normally ends the job first).
KILL_GRACE = 30.0

STAGING_PREFIX = ".tmp-"

#: What a warm kernel imports before its first job, so that each job does not
#: pay for it (about 3 s of CPU): the libraries the report notebooks use and
#: the project modules they call. A module that fails to import is skipped
#: (the notebook meets the same error when it imports it).
WARM_IMPORTS = (
    "numpy", "pandas", "pandas.io.formats.style", "matplotlib.pyplot", "seaborn", "scipy.stats", "scipy.special",
    "statsmodels.stats.proportion", "statsmodels.stats.rates", "statsmodels.stats.meta_analysis",
    "statsmodels.stats.multitest", "babel.numbers", "IPython.display",
    "analysis.data.dataset", "analysis.reports.parameters", "analysis.reports.content", "analysis.plots",
)

#: Jobs a warm kernel runs before it is replaced (bounds what leaks, e.g. memory).
KERNEL_JOBS = 20

#: ``ANALYSIS_KERNELS=cold`` starts a fresh kernel for every job (``warm``, the default, reuses them).
KERNELS_ENV = "ANALYSIS_KERNELS"

#: Keeps a kernel's IPython history in memory. nbclient passes it only to
#: kernels named ``python3``; without it every kernel of the ``grassroots``
#: spec writes the reports' code into the user's IPython history database, a
#: file that kernels running at the same time share.
_HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"

OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One notebook run.

    Args:
        notebook: Notebook name without ``.ipynb`` (also the output subfolder).
        parameters: The values to inject (JSON types only).
        name: Deterministic ASCII output name, unique within a run.
        input_path: Absolute path of the notebook to execute.
        writes_json: Whether the notebook declares ``output_json``; if so the
            runner passes a path and the job fails when nothing is written there.
    """

    notebook: str
    parameters: dict
    name: str
    input_path: str
    writes_json: bool = False

    def describe(self) -> str:
        """The notebook and its parameters, for log lines and listings."""
        params = " ".join(f"{k}={v!r}" for k, v in sorted(self.parameters.items()))
        return f"{self.notebook} {params}".strip()


def warm_kernels_by_default(environ=os.environ) -> bool:
    """Whether jobs reuse warm kernels: yes, unless ``ANALYSIS_KERNELS=cold``.

    Args:
        environ: The environment to read.

    Returns:
        False for ``cold``, True for ``warm`` or when the variable is unset or empty.

    Raises:
        UsageError: Any other value.

    Examples:
        >>> warm_kernels_by_default({}), warm_kernels_by_default({"ANALYSIS_KERNELS": "cold"})
        (True, False)
    """
    from analysis.errors import UsageError

    value = environ.get(KERNELS_ENV, "").strip().lower() or "warm"
    if value not in ("warm", "cold"):
        raise UsageError(f"{KERNELS_ENV}={environ[KERNELS_ENV]!r}: use 'warm' or 'cold'")
    return value == "warm"


@dataclass(frozen=True)
class RunSettings:
    """Where and how jobs run.

    Args:
        out_dir: Absolute output folder (must be shared with remote workers).
        kernel_name: The kernelspec to execute every notebook with.
        cell_timeout: Seconds one cell may run.
        job_timeout: Seconds a whole job may run (kernel start to HTML; with a
            warm kernel, from the moment the job has its kernel).
        start_timeout: Seconds a kernel may take to start (a warm kernel:
            including its imports), and the reset before a job may take.
        kill_grace: Seconds beyond ``job_timeout`` after which the parent
            gives up on a worker and kills it.
        socket_dir: Folder for the kernels' IPC sockets, connection files
            and (warm kernels) logs; :func:`run_jobs` makes one per run and
            removes it, so even killed kernels leave no file behind. Where
            it does not exist (a remote worker), the system's temporary
            folder is used.
        warm_kernels: Reuse one kernel per worker from job to job (see
            :class:`KernelBaseline` for what is reset between jobs);
            default on, unless the environment variable
            ``ANALYSIS_KERNELS`` is ``cold``. :func:`run_jobs` turns it off
            for an external executor.
        kernel_jobs: Jobs a warm kernel runs before it is replaced.
        warm_imports: Modules a warm kernel imports before its first job.
    """

    out_dir: str
    kernel_name: str = KERNEL_NAME
    cell_timeout: float = 300.0
    job_timeout: float = 900.0
    start_timeout: float = 60.0
    kill_grace: float = KILL_GRACE
    socket_dir: str = ""
    warm_kernels: bool = field(default_factory=warm_kernels_by_default)
    kernel_jobs: int = KERNEL_JOBS
    warm_imports: tuple[str, ...] = WARM_IMPORTS


@dataclass
class JobResult:
    """What happened to one job.

    ``status`` is ``ok`` or ``failed``; ``reason`` says how a job failed
    (``error``, ``cell timeout``, ``job timeout``, ``kernel died``,
    ``no artifact``, ``worker lost``); ``error`` is one readable line;
    ``outputs`` maps ``html``/``notebook``/``artifact``/``log`` to paths
    relative to the output folder (failed jobs: the ``.failed.`` files).
    """

    name: str
    notebook: str
    parameters: dict
    status: str
    reason: str = ""
    error: str = ""
    started: str = ""
    finished: str = ""
    duration: float = 0.0
    outputs: dict = field(default_factory=dict)
    host: str = ""
    pid: int = 0

    def to_dict(self) -> dict:
        """The result as plain JSON types."""
        return asdict(self)


def timestamp() -> str:
    """The current local time, ISO 8601 to the second, with its UTC offset."""
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- kernel


def install_kernel(name: str = KERNEL_NAME, display_name: str = KERNEL_DISPLAY_NAME) -> Path:
    """Install a kernelspec running this interpreter into ``sys.prefix``.

    Args:
        name: Kernelspec name.
        display_name: Name shown in JupyterLab's launcher.

    Returns:
        The kernelspec folder.
    """
    from ipykernel.kernelspec import install

    return Path(install(prefix=sys.prefix, kernel_name=name, display_name=display_name))


def kernel_interpreter_problem(argv0: str) -> str | None:
    """Why a kernelspec's interpreter is not this environment's, or None if it is.

    A bare ``python``/``python3`` is replaced by ``sys.executable`` when
    jupyter_client launches it, so it counts as this interpreter. Paths are
    compared without resolving symlinks: every virtual environment's python
    is a link to the same system binary.

    Examples:
        >>> kernel_interpreter_problem(sys.executable) is None
        True
        >>> kernel_interpreter_problem("python") is None
        True
        >>> kernel_interpreter_problem("/opt/old-env/bin/python")
        "runs '/opt/old-env/bin/python', not this environment's ..."
    """
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    if argv0 in bare or os.path.abspath(argv0) == os.path.abspath(sys.executable):
        return None
    return f"runs {argv0!r}, not this environment's {sys.executable!r}"


@functools.lru_cache(maxsize=None)
def ensure_kernel(name: str = KERNEL_NAME) -> Path:
    """Make sure the kernelspec exists and runs this interpreter.

    Installs the project's own kernelspec (``grassroots``) into
    ``sys.prefix`` when it is missing; any other name must already exist, so a
    mistyped kernel fails its job by name instead of silently running this
    environment.

    Args:
        name: Kernelspec name.

    Returns:
        The kernelspec folder.

    Raises:
        UsageError: No kernelspec of that name (other than ``grassroots``),
            or one that runs another interpreter (for example a stale one in
            the user's Jupyter folder).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from analysis.errors import UsageError

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        if name != KERNEL_NAME:
            raise UsageError(f"no Jupyter kernel named {name!r}; installed: "
                             f"{', '.join(sorted(KernelSpecManager().find_kernel_specs()))}") from None
        log.info("installing the %r kernelspec into %s", name, sys.prefix)
        return install_kernel(name)
    problem = kernel_interpreter_problem(spec.argv[0])
    if problem:
        raise UsageError(f"kernelspec {name!r} at {spec.resource_dir} {problem}; remove it "
                         f"(jupyter kernelspec remove {name}) and run: python -m analysis kernel --install")
    return Path(spec.resource_dir)


def _kernel_manager_class(started: list, cwd: str, output, socket_dir: str):
    """A kernel manager class that records its managers in ``started``.

    The watchdog needs the kernel's process to kill it; nbclient creates and
    cleans up the manager itself, so the class hands each instance over. The
    kernel runs in ``cwd`` and writes its own stdout/stderr to the open file
    ``output`` (kept next to a failed job: it shows why a kernel crashed).
    Each manager lists the clients it made (``clients``): nbclient leaves
    its client connected to a kernel it does not own, a warm one.
    """
    from jupyter_client.manager import AsyncKernelManager

    class JobKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            folder = socket_dir if os.path.isdir(socket_dir) else tempfile.gettempdir()
            name = os.path.join(folder, f"grassroots-kernel-{uuid.uuid4().hex[:12]}")
            kwargs.setdefault("connection_file", f"{name}.json")  # goes with the run's folder, even if killed
            if os.name == "posix":  # sockets named by a unique absolute path: no port to collide on
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", name)
            super().__init__(**kwargs)
            self.clients = []
            started.append(self)

        def client(self, **kwargs):
            client = super().client(**kwargs)
            self.clients.append(client)
            return client

        async def start_kernel(self, **kwargs):
            kwargs["env"] = {**os.environ, **(kwargs.get("env") or {}), "MPLBACKEND": KERNEL_MPLBACKEND}
            kwargs.setdefault("cwd", cwd)
            kwargs.setdefault("stdout", output)
            kwargs.setdefault("stderr", output)
            await super().start_kernel(**kwargs)

    return JobKernelManager


def _kill_kernel(manager) -> None:
    """Kill a kernel and its children (its own process group on POSIX)."""
    process = getattr(manager.provisioner, "process", None)
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name == "posix" and getattr(manager.provisioner, "pgid", None) == process.pid:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: children go too
        else:
            process.kill()


def _watchdog(limit: float, managers: list, done: threading.Event, fired: threading.Event) -> None:
    """After ``limit`` seconds, kill the job's kernels until the job ends."""
    if done.wait(limit):
        return
    fired.set()
    while not done.is_set():
        for manager in list(managers):
            _kill_kernel(manager)
        done.wait(1.0)


# --------------------------------------------------------------------------- warm kernels


class KernelNotReusable(Exception):
    """A warm kernel is in a state :meth:`KernelBaseline.restore` cannot undo."""


class KernelBaseline:
    """A warm kernel's state after its imports, and the way back to it before each job.

    This code runs inside the kernel: the worker sends
    ``KernelBaseline.warm_up(modules)`` once, then
    ``KernelBaseline.restore_shell(cwd)`` before every job. What a job finds
    is what a fresh kernel that imported the same modules would show:

    * an empty user namespace (IPython's ``reset``: variables, ``In``/``Out``,
      history) and an execution count of 1;
    * the working directory and ``sys.path`` entry of the job's notebook
      folder, ``os.environ`` and ``sys.path`` as the kernel started;
    * no open figures, matplotlib's ``rcParams`` (so seaborn themes and
      styles too), unit converters and the inline backend's figure formats
      as after the imports; pandas options at their defaults; numpy print
      options and floating-point error handling as after the imports;
    * warning filters as after the imports, with the "already shown" records
      cleared so a warning shows again; the root logger's level and handlers;
      IPython event callbacks; ``sys.stdout``/``stderr``/``displayhook``/
      ``excepthook`` and the recursion limit;
    * the random generators of ``random`` and ``numpy.random`` reseeded from
      the operating system, as in a fresh process.

    Not reset: other module-level state of imported libraries (caches,
    registries, monkeypatches), modules a job imported, and anything outside
    Python (open files, child processes). :meth:`restore` refuses a kernel
    (:class:`KernelNotReusable`) when a job left a thread running or switched
    matplotlib's backend; the worker then starts a new kernel.
    """

    def __init__(self, shell):
        import warnings

        self.shell = shell
        self.start_dir = os.getcwd()
        self.environ = dict(os.environ)
        self.sys_path = list(sys.path)
        self.streams = (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)
        self.recursion_limit = sys.getrecursionlimit()
        self.warning_filters = list(warnings.filters)
        self.showwarning = warnings.showwarning
        self.threads = {thread.ident for thread in threading.enumerate()}
        self.events = {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()}
        root = logging.getLogger()
        self.logging = (root.level, list(root.handlers), logging.root.manager.disable)
        numpy = sys.modules.get("numpy")
        self.numpy = (numpy.get_printoptions(), numpy.geterr()) if numpy else None
        matplotlib = sys.modules.get("matplotlib")
        self.matplotlib = None
        if matplotlib is not None:
            import matplotlib.units

            rc = {key: value for key, value in matplotlib.rcParams.copy().items() if key != "backend"}
            self.matplotlib = (rc, matplotlib.get_backend(), dict(matplotlib.units.registry))
        self.inline = None
        if "matplotlib_inline.backend_inline" in sys.modules:
            from matplotlib_inline.config import InlineBackend

            if InlineBackend.initialized():
                config = InlineBackend.instance()
                self.inline = (set(config.figure_formats), dict(config.print_figure_kwargs), config.close_figures)

    @classmethod
    def warm_up(cls, modules) -> "KernelBaseline":
        """Import ``modules`` in this kernel and record its state (called once per kernel).

        With ``matplotlib.pyplot`` among them and the inline backend selected,
        the backend is activated now, as a notebook's first figure would.
        """
        import gc
        import importlib

        from IPython import get_ipython

        for name in modules:
            with contextlib.suppress(Exception):  # the notebook will meet the error itself
                importlib.import_module(name)
        if "matplotlib.pyplot" in sys.modules and os.environ.get("MPLBACKEND") == KERNEL_MPLBACKEND:
            with contextlib.suppress(Exception):
                importlib.import_module("matplotlib_inline.backend_inline")
        shell = get_ipython()
        shell.grassroots_baseline = baseline = cls(shell)
        gc.collect()
        gc.freeze()  # the imported modules live as long as the kernel: later collections skip them
        return baseline

    @staticmethod
    def restore_shell(cwd: str) -> None:
        """:meth:`restore` the baseline recorded by :meth:`warm_up` in this kernel."""
        from IPython import get_ipython

        get_ipython().grassroots_baseline.restore(cwd)

    def restore(self, cwd: str) -> None:
        """Put the kernel back to the baseline for a job whose notebook is in ``cwd``.

        Raises:
            KernelNotReusable: A job left a thread running or changed matplotlib's backend.
        """
        import random
        import warnings

        left = [thread.name for thread in threading.enumerate()
                if thread.ident not in self.threads and not thread.daemon]  # daemons: libraries' helpers
        if left:
            raise KernelNotReusable(f"a job left threads running: {', '.join(sorted(left))}")
        matplotlib = sys.modules.get("matplotlib")
        if self.matplotlib is not None and matplotlib.get_backend() != self.matplotlib[1]:
            raise KernelNotReusable(f"a job switched matplotlib's backend to {matplotlib.get_backend()!r}")
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        os.chdir(cwd)  # before the reset: IPython's directory history starts from here
        sys.path[:] = [cwd if entry == self.start_dir else entry for entry in self.sys_path]
        sys.stdout, sys.stderr, sys.displayhook, sys.excepthook = self.streams
        sys.setrecursionlimit(self.recursion_limit)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        self.shell.reset(new_session=True)  # namespace, In/Out, history; execution count back to 1
        for name, callbacks in self.events.items():
            self.shell.events.callbacks[name][:] = callbacks
        with warnings.catch_warnings():  # deprecated options and rc keys warn when set
            warnings.simplefilter("ignore")
            if self.matplotlib is not None:
                import matplotlib.units

                matplotlib.rcParams.update(self.matplotlib[0])
                matplotlib.units.registry.clear()
                matplotlib.units.registry.update(self.matplotlib[2])
            if "pandas" in sys.modules:
                sys.modules["pandas"].reset_option("all")
        if self.inline is not None:
            from IPython.core.pylabtools import select_figure_formats
            from matplotlib_inline.config import InlineBackend

            config = InlineBackend.instance()
            formats, kwargs, close = self.inline
            config.figure_formats, config.print_figure_kwargs, config.close_figures = set(formats), dict(kwargs), close
            select_figure_formats(self.shell, config.figure_formats, **config.print_figure_kwargs)
        if self.numpy is not None:
            numpy = sys.modules["numpy"]
            numpy.set_printoptions(**self.numpy[0])
            numpy.seterr(**self.numpy[1])
            numpy.random.seed()
        random.seed()
        warnings.filters[:] = self.warning_filters
        warnings.showwarning = self.showwarning
        warnings.onceregistry.clear()
        warnings._filters_mutated()  # forget which warnings were already shown
        root = logging.getLogger()
        level, handlers, disable = self.logging
        root.setLevel(level)
        root.handlers[:] = handlers
        logging.disable(disable)


def _call_kernel(manager, code: str, timeout: float, wait_ready: bool = False) -> None:
    """Run ``code`` silently in a kernel and wait until it has finished.

    Args:
        manager: The kernel's (async) kernel manager.
        code: Python source; it runs without history and without output.
        timeout: Seconds to wait (for the kernel to be ready too, with ``wait_ready``).
        wait_ready: Wait for a kernel that has just started.

    Raises:
        RuntimeError: The kernel died, did not answer in time, or the code
            raised (the message has the exception's name and message).
    """
    from jupyter_core.utils import run_sync

    run_sync(_async_call_kernel)(manager, code, timeout, wait_ready)


async def _async_call_kernel(manager, code: str, timeout: float, wait_ready: bool) -> None:
    from queue import Empty

    deadline = time.monotonic() + timeout
    client = manager.client()
    client.start_channels(shell=True, iopub=wait_ready, stdin=False, hb=False, control=False)
    try:
        if wait_ready:
            await client.wait_for_ready(timeout=timeout)
        request = client.execute(code, silent=True, store_history=False, allow_stdin=False)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the kernel did not answer within {timeout:g} s")
            try:
                reply = await client.get_shell_msg(timeout=min(left, 1.0))
            except Empty:
                if not await manager.is_alive():
                    raise RuntimeError("the kernel died while it was being prepared for a job") from None
                continue
            if reply["parent_header"].get("msg_id") == request:
                break
    finally:
        client.stop_channels()
    content = reply["content"]
    if content.get("status") != "ok":
        raise RuntimeError(f"the kernel could not be prepared: {content.get('ename')}: {content.get('evalue')}")


class WarmKernel:
    """A kernel a worker keeps from job to job (the worker's side of it).

    It is started like a cold job's kernel (same kernelspec, environment,
    IPC sockets, in-memory history), in the folder of the first job's
    notebook, with its own output in a log file next to its sockets.
    """

    def __init__(self, cwd: str, settings: RunSettings, managers: list):
        folder = settings.socket_dir if os.path.isdir(settings.socket_dir) else tempfile.gettempdir()
        self.log_path = Path(folder) / f"grassroots-kernel-{uuid.uuid4().hex[:12]}.log"
        self.cwd, self.settings, self.managers = cwd, settings, managers
        self.manager = None
        self.jobs = 0
        self.log_start = 0

    def start(self) -> None:
        """Start the kernel and import :attr:`RunSettings.warm_imports` in it."""
        from jupyter_core.utils import run_sync

        with open(self.log_path, "wb") as output:
            manager_class = _kernel_manager_class(self.managers, self.cwd, output, self.settings.socket_dir)
            self.manager = manager_class(kernel_name=self.settings.kernel_name)
            run_sync(self.manager.start_kernel)(extra_arguments=[_HISTORY_IN_MEMORY])
        code = f"__import__('analysis.reports.runner').runner.KernelBaseline.warm_up({tuple(self.settings.warm_imports)!r})"
        _call_kernel(self.manager, code, self.settings.start_timeout, wait_ready=True)

    def reset(self, cwd: str) -> None:
        """Give the next job a fresh namespace in ``cwd`` (see :class:`KernelBaseline`)."""
        code = f"__import__('analysis.reports.runner').runner.KernelBaseline.restore_shell({cwd!r})"
        _call_kernel(self.manager, code, self.settings.start_timeout)

    def begin_job(self, managers: list) -> None:
        """Hand the kernel to a job's watchdog; its log from here on belongs to that job."""
        managers.append(self.manager)
        self.log_start = self.log_path.stat().st_size if self.log_path.exists() else 0

    def job_log(self) -> bytes:
        """What the kernel wrote since the current job began."""
        with contextlib.suppress(OSError), open(self.log_path, "rb") as log_file:
            log_file.seek(self.log_start)
            return log_file.read()
        return b""

    def alive(self) -> bool:
        """Whether the kernel process is still running."""
        process = getattr(getattr(self.manager, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    def stop_clients(self) -> None:
        """Close the connections a job's notebook client left open (it does not own the kernel)."""
        for client in getattr(self.manager, "clients", ()):
            with contextlib.suppress(Exception):
                client.stop_channels()
        if self.manager is not None:
            self.manager.clients.clear()

    def discard(self) -> None:
        """Kill the kernel (and its children), remove its sockets and log."""
        from jupyter_core.utils import run_sync

        if self.manager is not None:
            self.stop_clients()
            _kill_kernel(self.manager)
            with contextlib.suppress(Exception):  # a kernel that never started has nothing to clean
                run_sync(self.manager.shutdown_kernel)(now=True)
        self.log_path.unlink(missing_ok=True)


class KernelKeeper:
    """The warm kernel of one worker: kept between jobs, replaced when it cannot be trusted.

    :meth:`acquire` hands the kernel to a job (after a reset) or starts one;
    :meth:`release` keeps it only after a successful job, while it is alive
    and has run fewer than ``kernel_jobs`` jobs.
    """

    def __init__(self):
        self.idle: WarmKernel | None = None
        self.current: WarmKernel | None = None

    def acquire(self, job: Job, settings: RunSettings, managers: list) -> WarmKernel:
        """A kernel ready for ``job``: the kept one after a reset, else a new one.

        Raises:
            Exception: A new kernel could not start (the job fails, as a cold one would).
        """
        cwd = str(Path(job.input_path).parent)
        kernel, self.idle = self.idle, None
        if kernel is not None and (kernel.settings.kernel_name, tuple(kernel.settings.warm_imports)) != (
                settings.kernel_name, tuple(settings.warm_imports)):
            kernel.discard()  # started for other settings
            kernel = None
        if kernel is not None:
            self.current = kernel
            kernel.begin_job(managers)
            try:
                kernel.reset(cwd)
                return kernel
            except Exception as err:  # whatever the reason, a new kernel is the safe answer
                log.info("replacing the warm kernel before %s: %s", job.name, err)
                kernel.discard()
        self.current = kernel = WarmKernel(cwd, settings, managers)
        kernel.start()
        kernel.reset(cwd)
        return kernel

    def release(self, keep: bool, max_jobs: int, log_to: Path | None = None) -> None:
        """End the current job's use of the kernel.

        Args:
            keep: The job succeeded: the kernel may serve the next job.
            max_jobs: Jobs after which the kernel is replaced anyway.
            log_to: Where to write the kernel's output during the job (when it died).
        """
        kernel, self.current = self.current, None
        if kernel is None:
            return
        kernel.jobs += 1
        kernel.stop_clients()
        if log_to is not None:
            output = kernel.job_log()
            if output:
                log_to.write_bytes(output)
        if keep and kernel.jobs < max_jobs and kernel.alive():
            self.idle = kernel
        else:
            kernel.discard()

    def close(self) -> None:
        """Discard the kernels (at the worker's exit)."""
        for kernel in (self.current, self.idle):
            if kernel is not None:
                kernel.discard()
        self.current = self.idle = None


_kept = threading.local()


def kernel_keeper() -> KernelKeeper:
    """This thread's :class:`KernelKeeper` (one per worker process of the local pool).

    Its kernels are discarded when the process exits normally; when the
    process is killed, they notice that their parent is gone and exit within
    a second (ipykernel's parent poller).
    """
    keeper = getattr(_kept, "keeper", None)
    if keeper is None:
        keeper = _kept.keeper = KernelKeeper()
        atexit.register(keeper.close)
    return keeper


# --------------------------------------------------------------------------- one job


#: The report template: JupyterLab's, without the require.js, MathJax and
#: Mermaid scripts it would fetch from a CDN, so a report is one
#: self-contained file that opens offline.
_REPORT_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


@functools.lru_cache(maxsize=1)
def html_exporter():
    """The nbconvert exporter for reports: code cells hidden, outputs kept.

    Built once per process (loading the templates is the slow part).
    """
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        extra_loaders=[jinja2.DictLoader({"report.html.j2": _REPORT_TEMPLATE})],
        template_file="report.html.j2",
    )


def write_html(notebook_path: Path, html_path: Path) -> None:
    """Convert an executed notebook to a report page (code hidden).

    Args:
        notebook_path: The executed ``.ipynb``.
        html_path: Where to write the HTML (overwritten).
    """
    import nbformat

    body, _ = html_exporter().from_notebook_node(nbformat.read(notebook_path, as_version=4))
    html_path.write_text(body, encoding="utf-8")


def prepare_worker() -> None:
    """Import papermill and nbconvert and load the report template (a worker's warm-up)."""
    import papermill  # noqa: F401  (the import is the point: it takes seconds)

    html_exporter()


def _init_worker() -> None:
    """Initialise a local pool worker: silence papermill's log, skip a slow import.

    Every failure reaches the parent in the job's result; papermill's and
    nbclient's own log lines would only repeat it between progress lines.

    jsonschema (under nbformat, under papermill and nbconvert) imports
    ``rfc3987_syntax`` when it is installed, which builds a parser at import
    time: 1.5-2.5 s of CPU per worker. It serves only jsonschema's optional
    "iri" format checks, and nothing in a worker checks formats (nbformat
    validates notebooks without a format checker), so the worker does
    without it: jsonschema then simply does not check that format.
    """
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    sys.modules.setdefault("rfc3987_syntax", None)  # None in sys.modules: the import raises ImportError


def _describe_error(err: BaseException, settings: RunSettings, timed_out: bool) -> tuple[str, str]:
    """(reason, one-line error) for an exception raised by a notebook run."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if timed_out:
        return "job timeout", f"stopped: the job ran longer than its limit of {settings.job_timeout:g} s"
    if isinstance(err, PapermillExecutionError):
        message = f"{err.ename}: {err.evalue}".strip().splitlines()[0] if err.evalue else err.ename
        return "error", f"{message} (at In [{err.exec_count}])"
    if isinstance(err, CellTimeoutError):
        return "cell timeout", f"a cell ran longer than the cell limit of {settings.cell_timeout:g} s"
    if isinstance(err, DeadKernelError):
        return "kernel died", "the kernel died while running the notebook (crash, os._exit or out of memory)"
    if isinstance(err, RuntimeError) and "kernel died" in str(err).lower():
        return "kernel died", f"the kernel died before it was ready ({err}); see its log"
    text = str(err).strip().splitlines()
    return "error", f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def execute_job(job: Job, settings: RunSettings) -> JobResult:
    """Run one notebook job in this process and put its outputs in place.

    Never raises for a problem of the job itself: errors, time-outs and dead
    kernels become a ``failed`` result.

    Args:
        job: The job.
        settings: Output folder, kernel and time limits.

    Returns:
        The job's result, with output paths relative to ``settings.out_dir``.
    """
    import papermill

    ensure_kernel(settings.kernel_name)
    started, clock = timestamp(), time.monotonic()
    out_dir = Path(settings.out_dir)
    folder = out_dir / job.notebook
    staging = folder / f"{STAGING_PREFIX}{job.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    executed, html, artifact, kernel_log = (staging / f"{job.name}{ext}" for ext in (".ipynb", ".html", ".json", ".log"))
    parameters = dict(job.parameters)
    if job.writes_json:
        parameters["output_json"] = str(artifact)

    managers: list = []
    done, fired = threading.Event(), threading.Event()
    keeper = kernel_keeper() if settings.warm_kernels else None
    run = functools.partial(
        papermill.execute_notebook, job.input_path, str(executed), parameters=parameters,
        kernel_name=settings.kernel_name, execution_timeout=settings.cell_timeout,
        start_timeout=settings.start_timeout, report_mode=True, progress_bar=False, log_output=False,
        extra_arguments=[_HISTORY_IN_MEMORY])
    reason = error = ""
    try:
        # a warm kernel's start and imports serve many jobs: the start limit bounds them, not this job's limit
        kernel = keeper.acquire(job, settings, managers) if keeper is not None else None
        threading.Thread(target=_watchdog, args=(settings.job_timeout, managers, done, fired),
                         name=f"watchdog {job.name}", daemon=True).start()
        if kernel is not None:
            run(km=kernel.manager)  # nbclient leaves a kernel it was given running
        else:
            with open(kernel_log, "wb") as kernel_output:
                run(shutdown_kernel="immediate",  # outputs are in: a graceful shutdown only costs ~1 s
                    kernel_manager_class=_kernel_manager_class(managers, str(Path(job.input_path).parent),
                                                               kernel_output, settings.socket_dir))
        if job.writes_json and not artifact.exists():
            reason, error = "no artifact", "the notebook declares output_json but wrote no file there"
        else:
            write_html(executed, html)
    except Exception as err:  # any problem of the job is reported, not raised
        reason, error = _describe_error(err, settings, fired.is_set())
    except BaseException:  # Ctrl-C in the worker: the kernel may be in the middle of a cell
        reason = "interrupted"
        raise
    finally:
        done.set()
        if keeper is not None:  # a kernel that failed a job, or died, is not reused
            keeper.release(keep=not reason, max_jobs=settings.kernel_jobs,
                           log_to=kernel_log if reason == "kernel died" else None)
    outputs = _put_in_place(job, staging, folder, failed=bool(reason), keep_log=reason == "kernel died")
    return JobResult(
        name=job.name, notebook=job.notebook, parameters=job.parameters,
        status=FAILED if reason else OK, reason=reason, error=error,
        started=started, finished=timestamp(), duration=round(time.monotonic() - clock, 3),
        outputs={kind: path.relative_to(out_dir).as_posix() for kind, path in outputs.items()},
        host=socket.gethostname(), pid=os.getpid(),
    )


def _put_in_place(job: Job, staging: Path, folder: Path, failed: bool, keep_log: bool) -> dict[str, Path]:
    """Move a job's staged files to their final names; remove the staging folder.

    A successful job replaces ``<name>.json``, ``.html`` and ``.ipynb`` (in
    that order, the notebook last) and removes stale ``.failed.`` files of
    the same name; a failed job keeps ``<name>.failed.ipynb``, its HTML if
    it converts and, with ``keep_log`` (the kernel died, so the notebook
    cannot show why), the kernel's own output if there is any
    (``<name>.failed.log``); earlier good reports are left alone.
    """
    staged = {kind: staging / f"{job.name}{ext}"
              for kind, ext in (("artifact", ".json"), ("html", ".html"), ("notebook", ".ipynb"), ("log", ".log"))}
    moved: dict[str, Path] = {}
    if failed:
        if staged["notebook"].exists():
            with contextlib.suppress(Exception):  # a half-written notebook may not convert
                write_html(staged["notebook"], staged["html"])
        for kind in ("html", "notebook", "log") if keep_log else ("html", "notebook"):
            source = staged[kind]
            if source.exists() and source.stat().st_size > 0:
                target = folder / f"{job.name}.failed{source.suffix}"
                os.replace(source, target)
                moved[kind] = target
    else:
        for kind in ("artifact", "html", "notebook"):
            source = staged[kind]
            if source.exists():
                target = folder / source.name
                os.replace(source, target)
                moved[kind] = target
        for ext in (".ipynb", ".html", ".log"):
            (folder / f"{job.name}.failed{ext}").unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    return moved


# --------------------------------------------------------------------------- many jobs


def _lost_result(job: Job, settings: RunSettings, started: str, clock: float, reason: str, error: str) -> JobResult:
    """The result of a job whose worker did not report back."""
    shutil.rmtree(Path(settings.out_dir) / job.notebook / f"{STAGING_PREFIX}{job.name}", ignore_errors=True)
    return JobResult(name=job.name, notebook=job.notebook, parameters=job.parameters, status=FAILED,
                     reason=reason, error=error, started=started, finished=timestamp(),
                     duration=round(time.monotonic() - clock, 3))


def local_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, reused from job to job.

    A worker imports papermill and nbconvert with its first job and keeps
    them, so the seconds those imports take are paid once per worker; with
    warm kernels it also keeps its kernel (see :class:`KernelKeeper`).
    """
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_init_worker)


def _kill_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Kill a local pool's worker processes (their kernels notice and exit)."""
    kill = getattr(pool, "kill_workers", None)  # Python 3.14+
    if kill is not None:
        kill()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def run_jobs(jobs, settings: RunSettings, *, workers: int, executor: cf.Executor | None = None,
             on_result=None, task=execute_job) -> list[JobResult]:
    """Run jobs in parallel and return their results in the order of ``jobs``.

    At most ``workers`` jobs are submitted at a time, so the parent knows when
    each one started. A job still running ``kill_grace`` seconds after its
    wall-clock limit is declared failed; with the local pool its worker is
    killed and the other jobs that were running are restarted in a fresh
    pool; with an external executor its future is cancelled. Warm kernels
    (``settings.warm_kernels``) are used only with the local pool, whose
    workers end with the run (in an external executor's long-lived workers a
    kept kernel would outlive it), and only when there are more jobs than
    workers (else no kernel would serve a second job, and its imports would
    be wasted on modules the notebook may not need).

    Args:
        jobs: The jobs.
        settings: Output folder, kernel and time limits.
        workers: How many jobs run at once.
        executor: An executor to submit to (for example a Dask client's);
            ``None`` for a local pool of spawned worker processes.
        on_result: Called with each :class:`JobResult` as it arrives.
        task: The function run for each job as ``task(job, settings)``;
            :func:`execute_job` unless an engine or a test needs another.

    Returns:
        One result per job.
    """
    jobs = list(jobs)
    Path(settings.out_dir).mkdir(parents=True, exist_ok=True)
    own_pool = executor is None
    settings = dataclasses.replace(settings, socket_dir=tempfile.mkdtemp(prefix="grassroots-"),
                                   warm_kernels=settings.warm_kernels and own_pool and len(jobs) > workers)
    pending = collections.deque(range(len(jobs)))
    results: dict[int, JobResult] = {}
    lost = collections.Counter()
    running: dict[cf.Future, tuple[int, str, float]] = {}
    pool = local_pool(workers) if own_pool else executor

    def finish(index: int, result: JobResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    try:
        while pending or running:
            while pending and len(running) < workers:
                index = pending.popleft()
                running[pool.submit(task, jobs[index], settings)] = (index, timestamp(), time.monotonic())
            done, _ = cf.wait(list(running), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                index, started, clock = running.pop(future)
                try:
                    finish(index, future.result())
                except BrokenProcessPool:  # a worker process died: every job it held is lost
                    broken = True
                    lost[index] += 1
                    if lost[index] < 2:
                        pending.appendleft(index)
                    else:
                        finish(index, _lost_result(jobs[index], settings, started, clock, "worker lost",
                                                   "the worker process died twice while running this job"))
                except Exception as err:  # the job could not even start (or a remote worker was lost)
                    finish(index, _lost_result(jobs[index], settings, started, clock, "error",
                                               f"the job could not run: {type(err).__name__}: {err}"))
            limit = settings.job_timeout + settings.kill_grace
            overdue = {f: running.pop(f) for f, (_, _, clock) in list(running.items())
                       if time.monotonic() - clock > limit}
            if own_pool and (broken or overdue):  # kill before cleaning up after the overdue jobs
                _kill_pool(pool)
                for index, _, _ in running.values():
                    log.warning("restarting %s in a fresh worker", jobs[index].name)
                    pending.appendleft(index)
                running.clear()
                pool = local_pool(workers)
            for future, (index, started, clock) in overdue.items():
                future.cancel()
                finish(index, _lost_result(jobs[index], settings, started, clock, "job timeout",
                                           f"stopped: the job ran longer than its limit of {settings.job_timeout:g} s "
                                           "and its worker did not respond"))
    except BaseException:  # Ctrl-C or a bug here: stop the workers, leave no staging folder
        if own_pool:
            _kill_pool(pool)
        for index, _, _ in running.values():
            shutil.rmtree(Path(settings.out_dir) / jobs[index].notebook / f"{STAGING_PREFIX}{jobs[index].name}",
                          ignore_errors=True)
        raise
    finally:
        shutil.rmtree(settings.socket_dir, ignore_errors=True)
    if own_pool:  # every job is done: idle workers need not spend seconds tearing papermill down
        _kill_pool(pool)
    return [results[i] for i in range(len(jobs))]
