"""Modules imported on first use instead of when a library imports them.

Great Expectations imports every expectation type when it is imported. One of them,
``expect_column_kl_divergence_to_be_less_than``, imports ``altair`` and
``scipy.stats`` at the top of its module and uses them only inside its methods (to
compute a KL divergence and to draw it). No suite of ours has that expectation, yet
the two imports were ~40 % of importing GX, which every run pays (bench/ measured
1.5 CPU seconds of 4). :func:`defer` puts a stand-in for each in ``sys.modules``
before GX is imported: ``import altair as alt`` then binds the stand-in, and the
first attribute anyone reads from it (``alt.Chart``, ``stats.entropy``) imports the
real module and gives the stand-in its contents, so code that uses the module works
as before, only later.

This is the module ``__getattr__`` of PEP 562, not ``importlib.util.LazyLoader``:
a ``LazyLoader`` module loads as soon as an ``import`` statement meets it in
``sys.modules`` (the import system reads its ``__spec__``), which is at once here.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_LOCK = threading.RLock()


class DeferredModule(types.ModuleType):
    """Stands in for a module not imported yet; the first missing attribute imports it."""

    def __getattr__(self, attr: str) -> Any:
        real = load(self)
        return getattr(real, attr)


def defer(*names: str) -> None:
    """Stand in for each of ``names`` not imported yet (and installed; else nothing)."""
    with _LOCK:
        for name in names:
            if name in sys.modules:
                continue
            spec = importlib.util.find_spec(name)
            if spec is None:
                continue
            stand_in = DeferredModule(name)
            stand_in.__spec__ = spec
            stand_in.__loader__ = spec.loader
            stand_in.__file__ = spec.origin
            stand_in.__package__ = spec.parent if spec.submodule_search_locations is None else name
            if spec.submodule_search_locations is not None:
                stand_in.__path__ = list(spec.submodule_search_locations)
            sys.modules[name] = stand_in


def is_deferred(name: str) -> bool:
    """Whether ``name`` is still a stand-in (not imported for real yet)."""
    return isinstance(sys.modules.get(name), DeferredModule)


def load(stand_in: DeferredModule) -> types.ModuleType:
    """Import the module ``stand_in`` stands for, once, and copy its contents into it."""
    name = stand_in.__name__
    with _LOCK:
        current = sys.modules.get(name)
        if current is not stand_in and current is not None:
            return current  # imported already (by another thread, or by this function)
        del sys.modules[name]
        try:
            real = importlib.import_module(name)
        except BaseException:
            sys.modules[name] = stand_in
            raise
        stand_in.__dict__.update(real.__dict__)
        stand_in.__class__ = types.ModuleType  # type: ignore[assignment]  # a plain copy now
        return real
