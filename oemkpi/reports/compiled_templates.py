"""Templates compiled by the drawing process while this one starts the run.

Jinja2 compiles a template to Python code the first time it is used: ~0.6 s for
the 26 templates of a month's updates, regional pack, mails and validation pages
(bench/), on the run's own core. The drawing process
(:mod:`oemkpi.reports.chart_worker`) has the second core to itself once it has
imported matplotlib, so it compiles them there (:func:`compile_all`), and this
process's environments load that code through a Jinja2 bytecode cache
(:class:`HelperBytecodeCache`) instead of compiling it.

Only a shortcut, and never a wait: a template whose code has not arrived yet (no
drawing process here; one still warming up, or dead) is compiled in this process
as before. Jinja2 keeps a checksum of the source with the code and compiles again
when the text it reads differs, so code compiled from another text, or with another
environment (a bucket's key names the template and its file; the Markdown
environment's code is kept apart), is never used.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from jinja2.bccache import Bucket, BytecodeCache

#: Each environment's compiled templates by bucket key, as Jinja2's bytecode bytes.
Compiled = dict[tuple[bool, str], bytes]


class HelperBytecodeCache(BytecodeCache):
    """The code the drawing process compiled for one environment (HTML or Markdown)."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown

    def load_bytecode(self, bucket: Bucket) -> None:
        from oemkpi.reports import chart_worker

        code = chart_worker.compiled_templates().get((self.markdown, bucket.key))
        if code is not None:
            bucket.bytecode_from_string(code)  # checks the source's checksum

    def dump_bytecode(self, bucket: Bucket) -> None:
        pass  # compiled here: kept by the environment itself, as without a cache


def compile_all() -> Compiled:
    """Every packaged template compiled in the environment that renders it (Markdown
    templates in the Markdown one), for :class:`HelperBytecodeCache`."""
    from oemkpi.reports.render import environment

    compiled: Compiled = {}
    for markdown in (False, True):
        env = environment(markdown=markdown)
        cache, loader = env.bytecode_cache, env.loader
        assert cache is not None and loader is not None
        for name in env.list_templates():
            if name.endswith(".md.j2") != markdown:
                continue
            source, filename, _ = loader.get_source(env, name)
            bucket = Bucket(
                env, cache.get_cache_key(name, filename), cache.get_source_checksum(source)
            )
            bucket.code = env.compile(source, name, filename)
            compiled[(markdown, bucket.key)] = bucket.bytecode_to_string()
    return compiled


def arrived(job: Future[Any] | None) -> Compiled:
    """What ``job`` (:func:`compile_all` in the drawing process) returned, if it is done
    and did not fail; else nothing."""
    if job is None or not job.done() or job.cancelled() or job.exception() is not None:
        return {}
    result: Compiled = job.result()
    return result
