"""Jupyter kernels for report jobs: the project's kernelspec, and warm kernels reused job after job.

:func:`ensure_kernel` makes sure the ``grassroots`` kernelspec exists and runs
this environment's interpreter. A :class:`WarmKernel` imports the heavy
modules once (:data:`WARM_IMPORTS`) and runs one job after another, each in a
fresh namespace with the shared module state put back
(:class:`KernelBaseline`); :class:`KernelKeeper` gives each worker process its
kernel and replaces it after a failure or ``kernel_jobs`` jobs. The runner
(:mod:`analysis.reports.runner`) decides when to use them.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.reports.runner import Job, RunSettings

log = logging.getLogger(__name__)

#: The kernelspec the project installs (``python -m analysis kernel --install``).
KERNEL_NAME = "grassroots"
KERNEL_DISPLAY_NAME = "Python (grassroots analysis)"

#: matplotlib's backend inside kernels: headless and embeds figures in the
#: notebook. (``MPLBACKEND=agg``, which the Makefile exports for scripts,
#: would make ``plt.show()`` draw nothing in a kernel.)
KERNEL_MPLBACKEND = "module://matplotlib_inline.backend_inline"


#: What a warm kernel imports before its first job, so that each job does not
#: pay for it (about 3 s of CPU): the libraries the report notebooks use and
#: the project modules they call. A module that fails to import is skipped
#: (the notebook meets the same error when it imports it).
WARM_IMPORTS = (
    "numpy",
    "pandas",
    "pandas.io.formats.style",
    "matplotlib.pyplot",
    "seaborn",
    "scipy.stats",
    "scipy.special",
    "statsmodels.stats.proportion",
    "statsmodels.stats.rates",
    "statsmodels.stats.meta_analysis",
    "statsmodels.stats.multitest",
    "babel.numbers",
    "IPython.display",
    "analysis.data.dataset",
    "analysis.reports.parameters",
    "analysis.reports.profile",
    "analysis.reports.comparison",
    "analysis.reports.quality",
    "analysis.plots",
)

#: Jobs a warm kernel runs before it is replaced (bounds what leaks, e.g. memory).
KERNEL_JOBS = 20

#: ``ANALYSIS_KERNELS=cold`` starts a fresh kernel for every job (``warm``, the default, reuses them).
KERNELS_ENV = "ANALYSIS_KERNELS"

#: Keeps a kernel's IPython history in memory. nbclient passes it only to
#: kernels named ``python3``; without it every kernel of the ``grassroots``
#: spec writes the reports' code into the user's IPython history database, a
#: file that kernels running at the same time share.
HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"


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
            raise UsageError(
                f"no Jupyter kernel named {name!r}; installed: "
                f"{', '.join(sorted(KernelSpecManager().find_kernel_specs()))}"
            ) from None
        log.info("installing the %r kernelspec into %s", name, sys.prefix)
        return install_kernel(name)
    problem = kernel_interpreter_problem(spec.argv[0])
    if problem:
        raise UsageError(
            f"kernelspec {name!r} at {spec.resource_dir} {problem}; remove it "
            f"(jupyter kernelspec remove {name}) and run: python -m analysis kernel --install"
        )
    return Path(spec.resource_dir)


def kernel_manager_class(started: list, cwd: str, output, socket_dir: str):
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


def kill_kernel(manager) -> None:
    """Kill a kernel and its children (its own process group on POSIX)."""
    process = getattr(manager.provisioner, "process", None)
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name == "posix" and getattr(manager.provisioner, "pgid", None) == process.pid:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: children go too
        else:
            process.kill()


def watchdog(limit: float, managers: list, done: threading.Event, fired: threading.Event) -> None:
    """After ``limit`` seconds, kill the job's kernels until the job ends."""
    if done.wait(limit):
        return
    fired.set()
    while not done.is_set():
        for manager in list(managers):
            kill_kernel(manager)
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

        left = [
            thread.name for thread in threading.enumerate() if thread.ident not in self.threads and not thread.daemon
        ]  # daemons: libraries' helpers
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
            manager_class = kernel_manager_class(self.managers, self.cwd, output, self.settings.socket_dir)
            self.manager = manager_class(kernel_name=self.settings.kernel_name)
            run_sync(self.manager.start_kernel)(extra_arguments=[HISTORY_IN_MEMORY])
        baseline = "__import__('analysis.reports.kernels', fromlist=['KernelBaseline']).KernelBaseline"
        code = f"{baseline}.warm_up({tuple(self.settings.warm_imports)!r})"
        _call_kernel(self.manager, code, self.settings.start_timeout, wait_ready=True)

    def reset(self, cwd: str) -> None:
        """Give the next job a fresh namespace in ``cwd`` (see :class:`KernelBaseline`)."""
        code = (
            f"__import__('analysis.reports.kernels', fromlist=['KernelBaseline']).KernelBaseline.restore_shell({cwd!r})"
        )
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
            kill_kernel(self.manager)
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
            settings.kernel_name,
            tuple(settings.warm_imports),
        ):
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
