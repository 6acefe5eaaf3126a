"""Hypothesis profiles for the fuzz tests, and a check that memory is given back.

``ci`` (the default) is sized for the suite: a few hundred examples per target, derandomized so
that every run tries the same inputs, no example database written. ``FASTRAPI_FUZZ=long`` runs
many more, with a random seed each time: for a session of hunting, not for CI.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from datetime import timedelta
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=timedelta(seconds=5),  # a shared CI machine is slow; a hang is caught by fail_after
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", max_examples=20_000, deadline=None, database=None)
settings.load_profile(os.environ.get("FASTRAPI_FUZZ", "ci"))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # what orjson writes
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
"""JSON values, as a publisher or a client may send them."""


def memory_kept(run: Callable[[object], object], inputs: Iterable[object]) -> int:
    """Bytes still allocated after running ``run`` over ``inputs`` a third time.

    The first two rounds warm caches (interned strings, zlib's and regex's tables); a third that
    keeps memory keeps it for every input, which is a leak.
    """
    batch = list(inputs)
    for _ in range(2):
        for item in batch:
            run(item)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for item in batch:
            run(item)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
