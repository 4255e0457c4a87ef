"""Shared helpers of the probe tests: each probe must pass a right answer and fail a wrong one."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.runner import ReaderError


def verdict(probe: Probe, fn: object, name: str = "f") -> str | None:
    """None when the probe passes, else the failure message."""
    try:
        probe.run(Answer({name: fn}))
    except ProbeFailure as failure:
        return str(failure)
    except ReaderError as error:
        return str(error)
    return None


AFFINE = [case({"scale": jnp.float32(2.0), "shift": jnp.float32(1.0)}, jnp.arange(3.0))]


def affine(params: dict, x: jax.Array) -> jax.Array:
    return x * params["scale"] + params["shift"]

