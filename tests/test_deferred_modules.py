"""oemkpi/ingest/deferred_modules.py: what GX imports but our suites never use waits for
first use, and then works as the module itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from oemkpi.ingest import deferred_modules


def _fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (this one has imported GX long ago); its JSON."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_gx_for_our_suites_leaves_altair_and_scipy_stats_unimported() -> None:
    got = _fresh(
        """
        import json, sys
        from oemkpi.ingest import gx_engine
        from oemkpi.ingest.deferred_modules import is_deferred
        import great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than as kl
        print(json.dumps({
            "gx": "great_expectations" in sys.modules,
            "altair": is_deferred("altair"),
            "scipy.stats": is_deferred("scipy.stats"),
            "kl_binds_the_stand_in": kl.stats is sys.modules["scipy.stats"],
        }))
        """
    )
    assert got == {"gx": True, "altair": True, "scipy.stats": True, "kl_binds_the_stand_in": True}


def test_a_deferred_module_is_the_real_module_at_first_use() -> None:
    got = _fresh(
        """
        import json, sys
        from oemkpi.ingest import gx_engine
        from oemkpi.ingest.deferred_modules import is_deferred
        import great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than as kl
        entropy = kl.stats.entropy([0.5, 0.5], [0.9, 0.1])  # what GX calls, through the stand-in
        chart = kl.alt.Chart.__module__
        from scipy import stats
        print(json.dumps({
            "entropy": entropy,
            "chart": chart,
            "deferred": [is_deferred("altair"), is_deferred("scipy.stats")],
            "same_function": stats.entropy is kl.stats.entropy,
            "real_module": type(sys.modules["scipy.stats"]).__name__,
        }))
        """
    )
    assert got["entropy"] == pytest.approx(0.5108256237659906)
    assert got["chart"].startswith("altair.")
    assert got["deferred"] == [False, False]
    assert got["same_function"] is True
    assert got["real_module"] == "module"


def test_a_module_already_imported_or_not_installed_is_left_alone() -> None:
    before = sys.modules["json"]
    deferred_modules.defer("json", "no_such_module_for_oemkpi")
    assert sys.modules["json"] is before
    assert "no_such_module_for_oemkpi" not in sys.modules
    assert not deferred_modules.is_deferred("json")
