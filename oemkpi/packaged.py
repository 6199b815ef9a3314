"""Files the code reads at run time: ``sql/``, ``expectations/`` and ``reports/templates/``.

In the repository they sit at the top level, where SPEC section 2 puts them;
the wheel carries the same folders inside the package, under
``oemkpi/_bundled/`` (``force-include`` in pyproject.toml). :func:`packaged_dir`
finds them in either place, so an editable install and a wheel installed
anywhere behave alike.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from oemkpi.errors import OemkpiError

Packaged = Literal["sql", "expectations", "templates"]

#: Where each folder is, relative to the repository root and to ``oemkpi/_bundled``.
_RELATIVE: dict[str, str] = {
    "sql": "sql",
    "expectations": "expectations",
    "templates": "reports/templates",
}


@cache
def packaged_dir(name: Packaged) -> Path:
    """The folder ``name`` as installed: inside the wheel, else beside the package."""
    relative = _RELATIVE[name]
    package = Path(str(resources.files("oemkpi")))
    for candidate in (package / "_bundled" / relative, package.parent / relative):
        if candidate.is_dir():
            return candidate
    raise OemkpiError(
        f"The folder {relative}/ that oemkpi reads at run time is missing from {package.parent}; "
        "reinstall oemkpi (make setup, or pip install the wheel again)."
    )
