"""Chapter 11 · The cost of functional updates: known answers to 11.1 and 11.2."""

from __future__ import annotations

import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# 11.1 · insert(buffer, step, row) ----------------------------------------------------------


@jax.jit
def insert_not_donated(buffer, step, row):  # the update is right; the buffer is copied
    return buffer.at[step % buffer.shape[0]].set(row)


def insert_not_jitted(buffer, step, row):  # eager .at[].set: a copy every call
    return jnp.asarray(buffer).at[step % buffer.shape[0]].set(row)


@functools.partial(jax.jit, donate_argnums=2)  # "donate the data we write": the wrong argument
def insert_donates_row(buffer, step, row):
    return buffer.at[step % buffer.shape[0]].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def _insert_inner(buffer, step, row):
    return buffer.at[step % buffer.shape[0]].set(row)


@jax.jit
def insert_nested(buffer, step, row):  # the inner donation does nothing inside an outer jit
    return _insert_inner(buffer, step, row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_no_wrap(buffer, step, row):  # past the end: JAX drops the update silently
    return buffer.at[step].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_hard_coded_capacity(buffer, step, row):
    return buffer.at[step % 5].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_shifts(buffer, step, row):  # a FIFO that shifts: same shape, other positions
    return jnp.concatenate([buffer[1:], row[None]])


@functools.partial(jax.jit, donate_argnums=0, static_argnums=1)  # "the index must be concrete"
def insert_static_step(buffer, step, row):
    return buffer.at[step % buffer.shape[0]].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_half_precision(buffer, step, row):  # "the buffer is only for replay"
    return buffer.at[step % buffer.shape[0]].set(row.astype(jnp.float16))


insert_log: list = []


@functools.partial(jax.jit, donate_argnums=0)
def insert_logs(buffer, step, row):
    insert_log.append(step)  # a tracer, once per trace
    return buffer.at[step % buffer.shape[0]].set(row)


# right answers, written differently


@functools.partial(jax.jit, donate_argnames="buffer")
def insert_by_name(buffer, step, row):
    return buffer.at[jnp.remainder(step, buffer.shape[0])].set(row)


def _dynamic_update(buffer, step, row):
    index = step % buffer.shape[0]
    return jax.lax.dynamic_update_slice(buffer, row[None, :].astype(buffer.dtype), (index, 0))


insert_dynamic_update_slice = jax.jit(_dynamic_update, donate_argnums=(0,))


@functools.partial(jax.jit, donate_argnums=0)
def insert_where(buffer, step, row):
    rows = jnp.arange(buffer.shape[0])[:, None]
    return jnp.where(rows == step % buffer.shape[0], row, buffer)


@functools.partial(jax.jit, donate_argnums=0)
def insert_adds(buffer, step, row):  # adds to the old row instead of replacing it
    return buffer.at[step % buffer.shape[0]].add(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_dynamic_slice_no_wrap(buffer, step, row):  # past the end the start index is clamped
    return jax.lax.dynamic_update_slice(buffer, row[None], (step, 0))


@functools.partial(jax.jit, donate_argnums=0)
def insert_wraps_by_width(buffer, step, row):  # the modulo of the wrong dimension
    return buffer.at[step % len(row)].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_index_in_dim(buffer, step, row):
    return jax.lax.dynamic_update_index_in_dim(buffer, row, jax.lax.rem(step, buffer.shape[0]), 0)


@functools.partial(jax.jit, donate_argnums=(0, 2))
def insert_donates_both(buffer, step, row):
    return buffer.at[jnp.mod(step, buffer.shape[0])].set(row, mode="drop")


CASES = [
    wrong("11.1", "donates-buffer", insert_not_donated),
    wrong("11.1", "donates-buffer", insert_not_jitted),
    wrong("11.1", "donates-buffer", insert_donates_row),
    wrong("11.1", "donates-buffer", insert_nested),
    wrong("11.1", "matches-reference", insert_no_wrap),
    wrong("11.1", "matches-reference", insert_hard_coded_capacity),
    wrong("11.1", "matches-reference", insert_shifts),
    wrong("11.1", "matches-reference", insert_half_precision),
    wrong("11.1", "compiles-once", insert_static_step),
    wrong("11.1", "no-leaked-tracers", insert_logs),
    right("11.1", insert_by_name),
    right("11.1", insert_dynamic_update_slice, label="insert_dynamic_update_slice"),
    right("11.1", insert_where),
    wrong("11.1", "matches-reference", insert_adds),
    wrong("11.1", "matches-reference", insert_dynamic_slice_no_wrap),
    wrong("11.1", "matches-reference", insert_wraps_by_width),
    right("11.1", insert_index_in_dim),
    right("11.1", insert_donates_both),
]

# 11.2 · train(sgd_step, w, x, y, steps) -------------------------------------------------------


def mse(w, x, y):
    return jnp.mean((x @ w - y) ** 2)


def train_as_given(sgd_step, w, x, y, steps):  # the first step donates the caller's w
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_copies_every_step(sgd_step, w, x, y, steps):  # safe, and two copies at every step
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(jnp.copy(w), x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_asarray(sgd_step, w, x, y, steps):  # jnp.asarray of an array is that array
    w = jnp.asarray(w)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_device_put(sgd_step, w, x, y, steps):  # so is jax.device_put to where it already is
    w = jax.device_put(w)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_checks_progress(sgd_step, w, x, y, steps):  # reads the donated w after the step
    w = jnp.copy(w)
    losses = []
    for _ in range(steps):
        new_w, loss = sgd_step(w, x, y)
        if float(jnp.max(jnp.abs(new_w - w))) < 1e-6:
            break
        w = new_w
        losses.append(loss)
    return w, jnp.stack(losses)


def train_loss_after_update(sgd_step, w, x, y, steps):  # logs the loss at the new w
    w = jnp.copy(w)
    losses = []
    for _ in range(steps):
        w, _ = sgd_step(w, x, y)
        losses.append(mse(w, x, y))
    return w, jnp.stack(losses)


def train_own_step(sgd_step, w, x, y, steps):  # "donation is the problem": its own step, no donation
    losses = []
    for _ in range(steps):
        loss, grad = jax.value_and_grad(mse)(w, x, y)
        w = w - 0.1 * grad
        losses.append(loss)
    return w, jnp.stack(losses)


def train_returns_first_copy(sgd_step, w, x, y, steps):  # keeps the first copy "for safety"
    start = jnp.copy(w)
    current = start
    losses = []
    for _ in range(steps):
        current, loss = sgd_step(current, x, y)
        losses.append(loss)
    return start, jnp.stack(losses)


train_history: list = []


def train_keeps_history(sgd_step, w, x, y, steps):  # every step's w kept "for plotting"
    w = jnp.copy(w)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        train_history.append(w)
        losses.append(loss)
    return w, jnp.stack(losses)


# right answers, written differently


def train_copy_method(sgd_step, w, x, y, steps):
    w = w.copy()
    losses = jnp.zeros(steps)
    for t in range(steps):
        w, loss = sgd_step(w, x, y)
        losses = losses.at[t].set(loss)
    return w, losses


def train_deepcopy_floats(sgd_step, w, x, y, steps):
    w = copy.deepcopy(w)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x=x, y=y)
        losses.append(float(loss))
    return w, jnp.array(losses)


def train_numpy_start(sgd_step, w, x, y, steps):
    state = np.array(w)  # a host copy: the first step transfers it, and donates the transfer
    losses = []
    for _ in range(steps):
        state, loss = sgd_step(state, x, y)
        losses.append(loss)
    return state, jnp.stack(losses)


def train_array_no_copy(sgd_step, w, x, y, steps):  # copy=False: the caller's own array
    w = jnp.array(w, copy=False)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_tree_map_copy(sgd_step, w, x, y, steps):  # an identity tree_map returns the same leaves
    w = jax.tree.map(lambda leaf: leaf, w)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_final_loss(sgd_step, w, x, y, steps):  # one more step "to report the final loss"
    w = jnp.copy(w)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    _, final_loss = sgd_step(jnp.copy(w), x, y)
    return w, jnp.stack(losses)


def train_scan(sgd_step, w, x, y, steps):  # the step is called with tracers, once
    return jax.lax.scan(lambda w, _: sgd_step(w, x, y), jnp.copy(w), None, length=steps)


def train_copies_every_other_step(sgd_step, w, x, y, steps):
    losses = []
    for i in range(steps):
        if i % 2 == 0:
            w = jnp.copy(w)
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_plus_zero(sgd_step, w, x, y, steps):
    w = w + 0  # a new array
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.array(losses)


def train_device_put_no_alias(sgd_step, w, x, y, steps):
    current, out = jax.device_put(w, may_alias=False), []
    for _ in range(steps):
        current, loss = sgd_step(current, x, y)
        out.append(loss)
    return current, jnp.hstack(out)


def train_copies_first_step_only(sgd_step, w, x, y, steps):
    losses = jnp.zeros(steps)
    for i in range(steps):
        w, loss = sgd_step(jnp.copy(w) if i == 0 else w, x, y)
        losses = losses.at[i].set(loss)
    return w, losses


CASES += [
    wrong("11.2", "callers-w-survives", train_as_given),
    wrong("11.2", "callers-w-survives", train_asarray),
    wrong("11.2", "callers-w-survives", train_device_put),
    wrong("11.2", "recycles-buffers", train_copies_every_step),
    wrong("11.2", "no-deleted-reads", train_checks_progress),
    wrong("11.2", "results", train_loss_after_update),
    wrong("11.2", "results", train_returns_first_copy),
    wrong("11.2", "recycles-buffers", train_own_step),
    wrong("11.2", "globals-unchanged", train_keeps_history),
    right("11.2", train_copy_method),
    right("11.2", train_deepcopy_floats),
    right("11.2", train_numpy_start),
    wrong("11.2", "callers-w-survives", train_array_no_copy),
    wrong("11.2", "callers-w-survives", train_tree_map_copy),
    wrong("11.2", "recycles-buffers", train_final_loss),
    wrong("11.2", "recycles-buffers", train_scan),
    wrong("11.2", "recycles-buffers", train_copies_every_other_step),
    right("11.2", train_plus_zero),
    right("11.2", train_device_put_no_alias),
    right("11.2", train_copies_first_step_only),
]


# Round 2.


@functools.partial(jax.jit, donate_argnums=0)
def insert_row_in_bfloat16(buffer, step, row):
    return buffer.at[step % buffer.shape[0]].set(row.astype(jnp.bfloat16))  # "half the memory"


@functools.partial(jax.jit, donate_argnums=0)
def insert_lax_rem(buffer, step, row):  # right
    return buffer.at[jax.lax.rem(step, buffer.shape[0])].set(row)


def train_numpy_copy(sgd_step, w, x, y, steps):
    # Right: np.array copies the caller's w to the host; the first step moves it back.
    w, losses = np.array(w), []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.asarray(losses)


def train_one_step_short(sgd_step, w, x, y, steps):
    w, losses = jnp.copy(w), []
    for _ in range(steps - 1):  # "the first step was the copy"
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


CASES += [
    wrong("11.1", "matches-reference", insert_row_in_bfloat16),
    right("11.1", insert_lax_rem),
    right("11.2", train_numpy_copy),
    wrong("11.2", "results", train_one_step_short),
]


# Round 3: the step in a narrow type. Right for the steps of a short run, wrong for a long one
# (a replay buffer may see billions of rows).


@functools.partial(jax.jit, donate_argnums=0)
def insert_int16_step(buffer, step, row):  # "an index never needs 32 bits"
    return buffer.at[jnp.int16(step) % buffer.shape[0]].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_uint8_step(buffer, step, row):
    return buffer.at[jnp.asarray(step, jnp.uint8) % buffer.shape[0]].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_float_step(buffer, step, row):  # exact up to 2**24 only
    index = jnp.floor(jnp.float32(step) % buffer.shape[0]).astype(jnp.int32)
    return buffer.at[index].set(row)


@functools.partial(jax.jit, donate_argnums=0)
def insert_uint32_rem(buffer, step, row):  # right: unsigned, and wide enough
    return buffer.at[jax.lax.rem(jnp.uint32(step), jnp.uint32(buffer.shape[0]))].set(row)


def train_final_copy(sgd_step, w, x, y, steps):  # right: one copy before, one after the loop
    w, losses = w.copy(), []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return jnp.copy(w), jnp.stack(losses)


def train_astype_same_dtype(sgd_step, w, x, y, steps):  # astype to its own dtype is no copy
    w, losses = w.astype(jnp.float32), []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_block_until_ready(sgd_step, w, x, y, steps):  # returns the same array
    w, losses = jax.block_until_ready(w), []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


CASES += [
    wrong("11.1", "matches-reference", insert_int16_step),
    wrong("11.1", "matches-reference", insert_uint8_step),
    wrong("11.1", "matches-reference", insert_float_step),
    right("11.1", insert_uint32_rem),
    right("11.2", train_final_copy),
    wrong("11.2", "callers-w-survives", train_astype_same_dtype),
    wrong("11.2", "callers-w-survives", train_block_until_ready),
]

test_known_answer = parametrize(CASES)


# Round 4: a buffer that holds an inf and a NaN. A blend with a one-hot mask multiplies every
# other row by 0, and inf * 0 is NaN; a slice of the whole array is the array itself.


@functools.partial(jax.jit, donate_argnums=0)
def insert_one_hot_blend(buffer, step, row):  # "no scatter, just arithmetic"
    mask = jax.nn.one_hot(step % buffer.shape[0], buffer.shape[0], dtype=buffer.dtype)[:, None]
    return buffer * (1 - mask) + mask * row


@functools.partial(jax.jit, donate_argnums=0)
def insert_boolean_mask_product(buffer, step, row):
    mask = (jnp.arange(buffer.shape[0]) == step % buffer.shape[0])[:, None]
    return buffer * ~mask + row * mask


@jax.jit(donate_argnums=0)  # jax.jit as a decorator factory
def insert_jit_factory(buffer, step, row):
    return jax.lax.dynamic_update_slice_in_dim(buffer, row[None], step % buffer.shape[0], axis=0)


@functools.partial(jax.jit, donate_argnums=(0, 1))  # the Python int step is donated as well
def insert_donates_step_too(buffer, step, row):
    cap, width = buffer.shape
    return buffer.at[jnp.asarray(step) % cap, :].set(row.astype(buffer.dtype).reshape(width))


def train_full_slice(sgd_step, w, x, y, steps):  # "w[:] copies", as a NumPy view would not
    w, losses = w[:], []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


def train_jit_identity(sgd_step, w, x, y, steps):  # a jitted identity returns a new buffer
    w, losses = jax.jit(lambda a: a)(w), []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(float(loss))
    return w, np.array(losses)  # float64 NumPy: the same numbers


CASES += [
    wrong("11.1", "matches-reference", insert_one_hot_blend),
    wrong("11.1", "matches-reference", insert_boolean_mask_product),
    right("11.1", insert_jit_factory),
    right("11.1", insert_donates_step_too),
    wrong("11.2", "callers-w-survives", train_full_slice),
    right("11.2", train_jit_identity),
]

test_known_answer = parametrize(CASES)
