"""Small helpers the chapters use to show things: errors, and the setup line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from purestate.runner import format_exception
from purestate.runtime import TESTED_JAX_VERSION, choose_devices, prepare_cpu_devices, version_notice

__all__ = ["TESTED_JAX_VERSION", "setup_notebook", "show_error"]


@contextlib.contextmanager
def show_error() -> Iterator[None]:
    """Run the block; print its exception as ``TypeName: first line`` and swallow it.

    Prints ``No exception was raised.`` when the block completes: a chapter that expects an
    error then shows plainly that none came.
    """
    try:
        yield
    except Exception as error:
        print(format_exception(error))
    else:
        print("No exception was raised.")


def setup_notebook(cpu_devices: int | None = None) -> None:
    """Configure JAX for a page and print what it runs on.

    ``cpu_devices`` asks for that many devices (for the ``pmap`` and ``shard_map``
    sections): the default backend's when it has them, else the host CPU split into that
    many (which must happen before the first JAX operation of the session). The line
    printed says which; the page's own cells take them from ``purestate.devices(n)``.
    """
    import jax

    problem = prepare_cpu_devices(cpu_devices) if cpu_devices is not None else None
    available = jax.devices()
    kinds = sorted({d.platform for d in available})
    print(f"JAX {jax.__version__} · {len(available)} {'/'.join(kinds)} device(s)")
    if cpu_devices is not None:
        try:
            print(f"This page runs on {choose_devices(cpu_devices, available, jax.devices('cpu')).description}.")
        except RuntimeError as error:
            print(f"{error}{f' ({problem})' if problem else ''}")
    notice = version_notice(jax.__version__)
    if notice:
        print(notice)
