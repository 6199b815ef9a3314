"""The workarounds in pipelines/dagster_patches.py: in force, still needed, version-guarded."""

from __future__ import annotations

import time
from types import SimpleNamespace

import dagster as dg
import pytest

import pipelines.definitions  # noqa: F401  (applies the patches, as every run does)
from pipelines import dagster_patches


def _context(seconds_ahead: float) -> SimpleNamespace:
    """The two fields the interval is computed from: one step waiting for a slot."""
    return SimpleNamespace(
        _pending_claims={"kpis"}, _pending_timeouts={"kpis": time.time() + seconds_ahead}
    )


def test_the_pool_interval_patch_is_in_force_once_definitions_load() -> None:
    assert dagster_patches.in_force()


def test_a_waiting_step_sleeps_until_its_next_claim_check() -> None:
    waiting = _context(5.0)
    assert 4.0 < dagster_patches.seconds_to_next_claim_check(waiting) <= 5.0  # type: ignore[arg-type]
    overdue = _context(-3.0)
    assert dagster_patches.seconds_to_next_claim_check(overdue) == 0.0  # type: ignore[arg-type]


def test_upstream_still_busy_waits_so_the_patch_is_still_needed() -> None:
    """Dagster's own interval is never positive: a waiting step polls without sleeping.
    When this fails, upstream has fixed it: drop the patch."""
    assert dagster_patches.UPSTREAM_INTERVAL(_context(5.0)) <= 0  # type: ignore[arg-type]


def test_the_patches_refuse_a_dagster_they_were_not_written_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dg, "__version__", "1.14.0")
    with pytest.raises(RuntimeError, match=r"written for Dagster 1\.13\.x, not 1\.14\.0"):
        dagster_patches.apply()
