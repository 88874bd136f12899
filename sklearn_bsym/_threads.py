"""The one thread policy: torch (and BLAS/OpenMP) threads of a call, scoped to it.

The networks of this package are small (widths of 16-512, batches of 256 events): an extra
thread buys little, and on a machine where anything else runs, threads contend so that every
small op waits. A default ``HybridClassifier`` fit on 20,000 events, 4 epochs, on 2 cores:
torch's default of one thread per core took 2.7 s quiet and 11.8 s beside one busy process, one
thread 2.4 s and 2.3 s (as reported when the policy was chosen); ``benchmarks/thread_policy.py``
measured 1.38 s against 1.28 s quiet and 40.8 s against 1.28 s loaded, and a 100,000-event
prediction 0.123 s against 0.181 s quiet (two threads win there) and 1.77 s against 0.182 s
loaded. So the estimators run each call (fit, predict) with ``n_threads=1`` by default, and a
study runs each fit with one thread and gives the cores to parallel fits.

A limit holds for the call only and is restored after it, so it never leaks into the caller's
process. Limits are process-wide (torch's and the BLAS libraries' settings are): the first scope
to enter sets them, nested or concurrent ones (a fit inside a study's fit, fits in threads of
one Dask worker) run under it, and the last to leave restores what was there before.
"""

from __future__ import annotations

import functools
import threading
from numbers import Integral

from sklearn import get_config
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

__all__ = ["DEFAULT_THREADS", "THREADS_CONSTRAINT", "thread_limit", "scoped_threads"]

#: The estimators' default ``n_threads``: one thread per call (see the module's measurements).
DEFAULT_THREADS = 1

#: The ``_parameter_constraints`` entry of ``n_threads``: a count >= 1, or None (torch's own
#: setting, as ``torch.set_num_threads`` left it).
THREADS_CONSTRAINT = [Interval(Integral, 1, None, closed="left"), None]


class thread_limit:
    """Context running its block with ``n`` torch intra-op threads (``torch``) and ``n``
    BLAS/OpenMP threads (``blas``, through threadpoolctl); None leaves the settings alone.

    Process-wide and reference-counted: the first scope to enter sets the limits, later ones
    (nested, or in other threads) run under them, and the last to leave restores the settings
    found by the first, so no call runs with another's thread count (which changes a network's
    numbers) and none leaks out.
    """

    _lock = threading.Lock()
    _users = 0
    _pools = None
    _torch_threads: int | None = None

    def __init__(self, n: int | None, *, torch: bool = True, blas: bool = True):
        self.n, self.torch, self.blas = n, torch, blas

    def __enter__(self):
        if self.n is None:
            return self
        cls = type(self)
        with cls._lock:
            if self.blas and cls._pools is None:
                cls._pools = _controller().limit(limits=self.n)
            if self.torch and cls._torch_threads is None:
                import torch

                cls._torch_threads = torch.get_num_threads()
                torch.set_num_threads(self.n)
            cls._users += 1
        return self

    def __exit__(self, *exc):
        if self.n is None:
            return
        cls = type(self)
        with cls._lock:
            cls._users -= 1
            if cls._users:
                return
            if cls._torch_threads is not None:
                import torch

                torch.set_num_threads(cls._torch_threads)
                cls._torch_threads = None
            if cls._pools is not None:
                cls._pools.restore_original_limits()
                cls._pools = None


@functools.cache
def _controller():
    """threadpoolctl's view of this process's BLAS/OpenMP libraries, scanned once (the libraries
    are loaded with numpy and torch, before any fit). A scan walks the loaded libraries through a
    ctypes callback, where Python drops a KeyboardInterrupt (printing a traceback): rescanning as
    every fit starts would lose a Ctrl-C pressed at that moment."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def scoped_threads(method):
    """Run an estimator's ``method`` under ``thread_limit(self.n_threads, blas=False)``, after
    checking ``n_threads`` (scikit-learn's InvalidParameterError names it). torch alone: the
    networks compute in torch, and a threadpoolctl scan of the loaded libraries on every
    prediction would cost more than the prediction of a few events."""

    @functools.wraps(method)
    def scoped(self, *args, **kwargs):
        n = self.n_threads
        if not get_config()["skip_parameter_validation"]:
            validate_parameter_constraints({"n_threads": THREADS_CONSTRAINT}, {"n_threads": n},
                                           caller_name=type(self).__name__)
        with thread_limit(n, blas=False):
            return method(self, *args, **kwargs)

    return scoped
