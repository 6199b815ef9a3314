"""A step's failure, for the people who read it: its cause in one sentence.

Dagster reports an exception raised in an asset as "Error occurred while executing
op ..." (``DagsterExecutionStepExecutionError``), with the cause further down;
that is what the UI's run failure and a CLI run showed first. Assets decorated
with :func:`one_sentence` raise ``dg.Failure`` instead, whose description is the
cause: a user's mistake (:class:`~oemkpi.errors.OemkpiError`) as its own
sentence, anything else as its type and first line, with the original error
kept as the failure's cause for the stack trace. :func:`failure_sentence` reads
the sentence of a finished run's first failed step, for the CLI.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from oemkpi.errors import OemkpiError
from oemkpi.warehouse import interrupted_query

F = TypeVar("F", bound=Callable[..., Iterator[Any]])


def cause_sentence(step: str, err: BaseException) -> str:
    """One sentence saying why ``step`` failed."""
    if isinstance(err, OemkpiError):
        return str(err)
    if isinstance(err, OSError) and err.strerror:
        where = f" {err.filename}" if err.filename else ""
        return f"The step {step} could not use{where}: {err.strerror}."
    lines = str(err).strip().splitlines()
    text = lines[0][:300] if lines else ""
    return f"The step {step} failed with {type(err).__name__}{': ' + text if text else ''}."


def one_sentence(fn: F) -> F:
    """Make an asset's (generator) body fail with its cause as the failure's description;
    Dagster's own control flow (``dg.Failure``, retries, interrupts) passes unchanged, and
    a query interrupted by Ctrl-C interrupts the run (:func:`interrupted_query`)."""
    if not inspect.isgeneratorfunction(fn):
        raise TypeError(f"{fn.__name__} must be a generator function")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from fn(*args, **kwargs)
        except (dg.Failure, dg.RetryRequested, dg.DagsterError):
            raise
        except OemkpiError as err:
            raise dg.Failure(description=cause_sentence(fn.__name__, err)) from None
        except Exception as err:
            if interrupted_query(err):
                raise KeyboardInterrupt from err  # the run was interrupted, not broken
            raise dg.Failure(description=cause_sentence(fn.__name__, err)) from err

    return wrapper  # type: ignore[return-value]


def failure_sentence(result: dg.ExecuteInProcessResult) -> str:
    """The sentence of the run's first failed step; else of the run's own failure (a
    resource that could not start, the executor), which Dagster reports only as "an
    exception was thrown during execution"; else where to look."""
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE" or event.step_failure_data is None:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        said = _said(data.error)
        if said is not None:
            ours, text = said
            return text if ours else f"The step {event.step_key} failed with {text}."
    for event in result.all_events:
        said = _said(event.job_failure_data.error) if event.is_run_failure else None
        if said is not None:
            ours, text = said
            if ours:
                return text
            return f"Run {result.run_id} failed with {text}; open it in the Dagster UI (make ui) for details."
    return f"Run {result.run_id} failed; open it in the Dagster UI (make ui) for details."


def _said(error: SerializableErrorInfo | None) -> tuple[bool, str] | None:
    """What an error says: our own sentence (True) where an OemkpiError is in its chain,
    else the first line of its deepest cause, the exception Dagster wrapped."""
    while error is not None and error.cause is not None:
        if error.cls_name == "OemkpiError":
            break
        error = error.cause
    if error is None:
        return None
    text = error.message.strip().splitlines()[0] if error.message else error.cls_name
    if error.cls_name == "OemkpiError":
        return True, text.split(": ", 1)[-1].strip()
    return False, text
