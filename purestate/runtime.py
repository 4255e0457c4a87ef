"""The reader's runtime: which JAX is installed, and which devices a page runs on.

The course is executed with one JAX (``TESTED_JAX_VERSION``); the self-check works from
``OLDEST_SUPPORTED_JAX`` on. Pages that shard over N devices take them from ``devices(N)``:
the default backend's devices when it has N (a TPU runtime's cores, a machine with 8 GPUs),
otherwise N devices carved out of the host CPU (a laptop, a Colab CPU or single-GPU runtime).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The JAX version every stored output in the course was produced with.
TESTED_JAX_VERSION = "0.12.0.1"
#: The oldest JAX on which the self-checks are tested (``make test-jax``).
OLDEST_SUPPORTED_JAX = "0.10.2"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.12.0.1"`` → ``(0, 12, 0, 1)``; a suffix such as ``.dev2026`` or ``rc1`` is dropped."""
    parts: list[int] = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(parts)


def version_notice(installed: str) -> str | None:
    """What a reader with JAX ``installed`` should know, or ``None`` for the tested version."""
    if installed == TESTED_JAX_VERSION:
        return None
    have, oldest = version_tuple(installed), version_tuple(OLDEST_SUPPORTED_JAX)
    if have < oldest:
        return (
            f"Warning: you have JAX {installed}; the self-checks need JAX {OLDEST_SUPPORTED_JAX} or "
            f"later, and this page was executed with JAX {TESTED_JAX_VERSION}. Upgrade JAX, or "
            f"expect check() to fail on features your JAX does not have."
        )
    newer_or_older = "newer" if have > version_tuple(TESTED_JAX_VERSION) else "older"
    return (
        f"Note: this page was executed with JAX {TESTED_JAX_VERSION}; you have JAX {installed} "
        f"({newer_or_older}). check() and hint() work as they should (they are tested from JAX "
        f"{OLDEST_SUPPORTED_JAX} on); the page's own outputs may differ from the stored ones "
        "(printed values, error messages, jaxprs, trace counts), and a cell that uses an API "
        "your JAX lacks will fail."
    )


@dataclass(frozen=True)
class DeviceChoice:
    """The devices a page runs on, and in words which they are."""

    devices: tuple[Any, ...]
    description: str


def choose_devices(count: int, default: Sequence[Any], cpu: Sequence[Any]) -> DeviceChoice:
    """``count`` devices: the default backend's when it has enough, else the CPU's.

    ``default`` and ``cpu`` are ``jax.devices()`` and ``jax.devices("cpu")``.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    platform = default[0].platform if default else "none"
    if len(default) >= count:
        return DeviceChoice(tuple(default[:count]), f"{count} {platform} device(s), the default backend's")
    if len(cpu) >= count:
        return DeviceChoice(
            tuple(cpu[:count]),
            f"{count} CPU devices carved out of the host (the default backend, {platform}, has "
            f"{len(default)})",
        )
    raise RuntimeError(
        f"{count} devices are needed: the default backend ({platform}) has {len(default)} and the "
        f"CPU {len(cpu)}. Restart the runtime and run the setup cell first, so that the CPU can be "
        f"split into {count} devices before JAX starts."
    )


def prepare_cpu_devices(count: int) -> str | None:
    """Ask JAX to split the host CPU into ``count`` devices; ``None`` on success, else why not.

    Only takes effect before JAX's first operation in the process; harmless on a machine
    whose default backend is a GPU or TPU (the CPU backend is split beside it).
    """
    import jax

    from purestate.runner import format_exception

    try:
        jax.config.update("jax_num_cpu_devices", count)
    except (RuntimeError, AttributeError, ValueError) as error:
        return format_exception(error)
    return None


def devices(count: int) -> tuple[Any, ...]:
    """``count`` devices for a page that shards over them (see ``choose_devices``)."""
    import jax

    return choose_devices(count, jax.devices(), jax.devices("cpu")).devices
