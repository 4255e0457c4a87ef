"""Probes: one property of an answer each, written once and shared by every exercise.

A probe is a ``Probe(key, description, run, hint)``. ``run(answer)`` calls the reader's
objects through ``answer.call`` and raises ``ProbeFailure`` with a short, deterministic
message when the property does not hold; ``hint`` is the nudge the report shows when it
fails. The factories build the probes the exercises share; an exercise module combines
them and adds a reference implementation and cases. One module per concern:

=================  ===========================================================
``core``           ``Probe``, ``Answer``, ``case``, fresh keys and jit wrappers
``correctness``    values against a reference, predicates on results
``purity``         arguments, globals, closures, attributes left as they were
``tracing``        jit against eager, trace counts, leaked tracers, primitives
``gradients``      ``jax.grad`` against a reference
``randomness``     keys used once, results that change with the key
``devices``        ``vmap`` against a loop, ``shard_map`` over every device
``loops``          loop primitives, program size, what a loop carries
``state``          reader-defined classes, pytrees of arrays, init/update folds
=================  ===========================================================

``cases`` everywhere is a sequence of zero-argument callables, each returning a fresh tuple
of arguments (see ``case``), so that one call's mutation cannot leak into the next.
Exercise modules import everything from here: ``from purestate import probes``.
"""

from purestate.probes.core import Answer, Case, Probe, after, case, fresh_jit, reference, signature_text
from purestate.probes.correctness import fresh_result_each_call, matches_reference, satisfies
from purestate.probes.devices import (
    mapped_device_counts,
    psum_device_spans,
    psum_over_devices,
    runs_on_devices,
    vmap_matches_loop,
)
from purestate.probes.gradients import grad_matches_reference, grad_of_loss_matches_reference
from purestate.probes.loops import (
    fully_unrolled_loops,
    is_prng_key,
    jaxpr_size,
    loop_carries,
    loop_carry_avals,
    program_size_independent_of_length,
)
from purestate.probes.purity import deterministic, doctor_silent, globals_unchanged, inputs_unchanged, returns_fresh_object
from purestate.probes.randomness import (
    draws_from_keys,
    key_derivations,
    key_draw_count,
    no_key_reuse,
    one_derivation_scheme,
    varies_with,
)
from purestate.probes.state import (
    fold_inputs_unchanged,
    fold_matches_reference,
    fold_traces_once,
    from_answer,
    leaves_are_arrays,
    scanned_fold_matches,
)
from purestate.probes.tracing import (
    donated_bytes,
    donates_argument,
    jaxpr_primitives,
    jit_matches_eager,
    keeps_no_tracers,
    no_leaked_tracers,
    traces_once,
    uses_primitive,
)
from purestate.runner import ProbeFailure

__all__ = [
    "Answer", "Case", "Probe", "ProbeFailure", "after", "case", "reference", "fresh_jit", "signature_text",
    "matches_reference", "satisfies", "fresh_result_each_call",
    "inputs_unchanged", "deterministic", "doctor_silent", "returns_fresh_object", "globals_unchanged",
    "jit_matches_eager", "traces_once", "donates_argument", "donated_bytes", "no_leaked_tracers", "keeps_no_tracers", "jaxpr_primitives", "uses_primitive",
    "grad_matches_reference", "grad_of_loss_matches_reference",
    "no_key_reuse", "varies_with", "draws_from_keys", "key_draw_count", "key_derivations", "one_derivation_scheme",
    "vmap_matches_loop", "mapped_device_counts", "runs_on_devices", "psum_device_spans", "psum_over_devices",
    "jaxpr_size", "fully_unrolled_loops", "program_size_independent_of_length", "loop_carry_avals", "is_prng_key", "loop_carries",
    "from_answer", "leaves_are_arrays", "fold_matches_reference", "fold_traces_once", "fold_inputs_unchanged",
    "scanned_fold_matches",
]
