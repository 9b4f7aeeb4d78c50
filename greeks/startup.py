"""numba's first compilation or cache load without importing all of scipy.linalg.

The first time any kernel is compiled or loaded from numba's cache, numba imports the
implementations of its numpy support, among them ``numba.np.arraymath``, which checks at
import that BLAS is available by importing ``scipy.linalg.cython_blas``.  Python imports the
package ``scipy.linalg`` first, and with it all of scipy's linear algebra and array-API
layers: about a third of a second on a 2-core machine, a quarter of a one-row run.  The
check needs only the extension module ``cython_blas``.

:func:`import_numba_arraymath` imports ``numba.np.arraymath`` while ``scipy.linalg`` is a bare
package whose search path finds its submodules without running its ``__init__``, then
removes that stand-in, so that a later ``import scipy.linalg`` (Heston's american grid,
scipy's interpolators) imports the real package.  The check's outcome, hence every
compiled kernel, is the same as without it; where anything differs from what it expects
(scipy missing, ``scipy.linalg`` already imported) it imports the module the ordinary way.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

ARRAYMATH = "numba.np.arraymath"
LINALG = "scipy.linalg"


def import_numba_arraymath() -> None:
    """Import ``numba.np.arraymath`` with ``scipy.linalg``'s ``cython_blas`` only (module
    docstring); once, from the importing thread."""
    if ARRAYMATH in sys.modules:
        return
    if LINALG not in sys.modules:
        try:
            _import_with_bare_linalg()
            return
        except Exception:  # any surprise: the ordinary import below
            sys.modules.pop(ARRAYMATH, None)
    importlib.import_module(ARRAYMATH)


def _import_with_bare_linalg() -> None:
    import scipy

    spec = importlib.util.find_spec(LINALG)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{LINALG} has no package path")
    bare = types.ModuleType(LINALG)
    bare.__path__ = list(spec.submodule_search_locations)
    sys.modules[LINALG] = bare
    try:
        importlib.import_module(ARRAYMATH)
    finally:
        if sys.modules.get(LINALG) is bare:
            del sys.modules[LINALG]
        if vars(scipy).get("linalg") is bare:  # vars: scipy's __getattr__ would import it
            del scipy.linalg
