"""Small helpers the chapters use to show things: errors, and the setup line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from purestate.runner import format_exception

#: The JAX version every stored output in the course was produced with.
TESTED_JAX_VERSION = "0.12.0.1"


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
    """Configure JAX for a page and print the version line.

    ``cpu_devices`` splits the host CPU into that many JAX devices (for the ``pmap`` and
    ``shard_map`` sections); it must run before the first JAX operation of the session.
    """
    import jax

    if cpu_devices is not None:
        try:
            jax.config.update("jax_num_cpu_devices", cpu_devices)
        except RuntimeError as error:
            print(
                f"Could not split the CPU into {cpu_devices} devices ({format_exception(error)}).\n"
                "Restart the runtime and run this cell first."
            )
    devices = jax.devices()
    kinds = sorted({d.platform for d in devices})
    print(f"JAX {jax.__version__} · {len(devices)} {'/'.join(kinds)} device(s)")
    if jax.__version__ != TESTED_JAX_VERSION:
        print(
            f"Warning: this page was executed with JAX {TESTED_JAX_VERSION}; you have "
            f"{jax.__version__}, so some outputs may differ from the ones shown."
        )
