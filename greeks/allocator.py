"""Keep freed chunk buffers in the process instead of returning them to the OS.

Every chunk allocates arrays of a few MB (paths × dates).  glibc's malloc serves blocks
above its mmap threshold (128 KiB at start) by fresh ``mmap`` calls and returns them on
free, and it trims the heap top above twice that threshold, so each chunk's arrays fault
in new zeroed pages: on one core that halves the throughput of a European row (37 against
72 M paths/s) until the threshold has grown by itself.  Fixing the thresholds at start
(blocks up to 32 MiB from the heap, trimming only above 256 MiB) keeps the pages mapped
and reused; peak memory is unchanged, freed memory stays with the process.  Other
platforms and C libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (glibc malloc.h)
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20


@cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds, once per process (each chunk asks; finding libc
    costs about a millisecond); False where there is no glibc ``mallopt``."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
