"""Chapter 10 · Refs: known answers to 10.1–10.3."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# 10.1 · dense_logged(params, x, stats_ref) --------------------------------------------

STATS = jax.new_ref(jnp.zeros(3))  # "one place for the statistics", created at import
recent_outputs: collections.deque = collections.deque(maxlen=4)
debug_outputs: list = []


def _layer(params, x):
    return jnp.tanh(x @ params["W"] + params["b"])


def _stats(h):
    return jnp.stack([jnp.float32(h.size), jnp.sum(h), jnp.sum(h * h)])


def dense_logged_overwrites(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] = _stats(h)  # the statistics of this call only
    return h


def dense_logged_counts_rows(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += jnp.stack([jnp.float32(x.shape[0]), jnp.sum(h), jnp.sum(h * h)])
    return h


def dense_logged_hard_coded_count(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += jnp.stack([jnp.float32(8.0), jnp.sum(h), jnp.sum(h * h)])  # 4 rows × 2 units
    return h


def dense_logged_square_of_sum(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += jnp.stack([jnp.float32(h.size), jnp.sum(h), jnp.sum(h) ** 2])
    return h


def dense_logged_preactivation(params, x, stats_ref):
    z = x @ params["W"] + params["b"]
    stats_ref[...] += _stats(z)  # the statistics of z, not of tanh(z)
    return jnp.tanh(z)


def dense_logged_global_ref(params, x, stats_ref):
    h = _layer(params, x)
    STATS[...] += _stats(h)  # the module's Ref, not the one it was given
    return h


def dense_logged_returns_stats(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += _stats(h)
    return stats_ref[...]


def dense_logged_half_precision(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += _stats(h).astype(jnp.float16)  # "statistics need no precision"
    return h


def dense_logged_python_floats(params, x, stats_ref):
    h = _layer(params, x)
    total, squares = float(jnp.sum(h)), float(jnp.sum(h * h))  # concrete: not under jit
    stats_ref[...] += jnp.array([h.size, total, squares], jnp.float32)
    return h


def dense_logged_branches_on_ref(params, x, stats_ref):
    h = _layer(params, x)
    if stats_ref[0] == 0:  # "the first call sets, later calls add": a tracer under jit
        stats_ref[...] = _stats(h)
    else:
        stats_ref[...] += _stats(h)
    return h


def dense_logged_keeps_outputs(params, x, stats_ref):
    h = _layer(params, x)
    debug_outputs.append(h)  # "for debugging": tracers under jit
    stats_ref[...] += _stats(h)
    return h


def dense_logged_deque(params, x, stats_ref):
    h = _layer(params, x)
    recent_outputs.append(h)
    stats_ref[...] += _stats(h)
    return h


def dense_logged_counts_on_itself(params, x, stats_ref):
    dense_logged_counts_on_itself.calls = getattr(dense_logged_counts_on_itself, "calls", 0) + 1
    h = _layer(params, x)
    stats_ref[...] += _stats(h)
    return h


def dense_logged_counts_nonzero(params, x, stats_ref):
    h = _layer(params, x)
    count = jnp.count_nonzero(h).astype(jnp.float32)  # equal to h.size until an output is exactly 0
    stats_ref[...] += jnp.stack([count, jnp.sum(h), jnp.sum(h * h)])
    return h


def dense_logged_keeps_output_in_params(params, x, stats_ref):
    h = _layer(params, x)
    params["last_output"] = h  # "for the dashboard": the caller's dict changes
    stats_ref[...] += _stats(h)
    return h


def dense_logged_scales_x_in_place(params, x, stats_ref):
    h = _layer(params, x)
    if isinstance(x, np.ndarray):
        x *= 0.0  # "free the batch": the caller's array is zeroed
    stats_ref[...] += _stats(h)
    return h


def dense_logged_unpacks_values(params, x, stats_ref):
    W, b = params.values()  # the keys in the order of the notebook's example
    h = jnp.tanh(x @ W + b)
    stats_ref[...] += _stats(h)
    return h


# right answers, written differently


def dense_logged_elementwise(params, x, stats_ref):
    h = jnp.tanh(jnp.dot(x, params["W"]) + params["b"])
    stats_ref[0] += h.size
    stats_ref[1] += h.sum()
    stats_ref[2] += jnp.square(h).sum()
    return h


def dense_logged_addupdate(params, x, stats_ref):
    h = jnp.tanh(jnp.einsum("bi,io->bo", x, params["W"]) + params["b"])
    jax.ref.addupdate(stats_ref, ..., jnp.array([h.size, h.sum(), (h**2).sum()], dtype=stats_ref.dtype))
    return h


def dense_logged_read_then_write(params, x, stats_ref):
    h = _layer(params, x)
    old = stats_ref[...]
    stats_ref[...] = old + _stats(h)
    return h


@jax.jit
def dense_logged_jitted(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += _stats(h)
    return h


def dense_logged_norm(params, x, stats_ref):
    h = jnp.tanh(jnp.matmul(x, params["W"]) + params["b"])
    n = h.shape[0] * h.shape[1]
    stats_ref[...] = stats_ref[...] + jnp.array([n, jnp.sum(h), jnp.linalg.norm(h) ** 2], dtype=jnp.float32)
    return h


def dense_logged_slices(params, x, stats_ref):
    h = jnp.tanh(x @ params["W"] + params["b"])
    stats_ref[0:1] += jnp.float32(h.size)
    stats_ref[1:] += jnp.stack([h.sum(), jnp.vdot(h, h)])
    return h


# 10.2 · sgd_step(w, x, y, log_ref) ------------------------------------------------------


class LossLog:
    def __init__(self):
        self.steps = 0
        self.total = 0.0


loss_log = LossLog()
LOG = jax.new_ref(jnp.zeros(2))


def _loss(w, x, y):
    return jnp.mean((x @ w - y) ** 2)


def sgd_step_no_stop_gradient(w, x, y, log_ref):
    def loss_fn(w):
        loss = _loss(w, x, y)
        log_ref[...] += jnp.stack([jnp.float32(1.0), loss])  # the loss carries a gradient
        return loss

    return w - 0.1 * jax.grad(loss_fn)(w)


def sgd_step_logs_after_update(w, x, y, log_ref):
    new_w = w - 0.1 * jax.grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), _loss(new_w, x, y)])  # the loss at the new w
    return new_w


def sgd_step_overwrites(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] = jnp.stack([log_ref[0] + 1.0, loss])  # counts, but keeps the last loss only
    return w - 0.1 * grad


def sgd_step_logs_twice(w, x, y, log_ref):
    def loss_fn(w):
        loss = _loss(w, x, y)
        log_ref[...] += jnp.stack([jnp.float32(1.0), jax.lax.stop_gradient(loss)])
        return loss

    loss_fn(w)  # "print the loss first", which logs it as well
    return w - 0.1 * jax.grad(loss_fn)(w)


def sgd_step_global_log(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    LOG[...] += jnp.stack([jnp.float32(1.0), loss])  # the module's Ref
    return w - 0.1 * grad


def sgd_step_hard_coded_mean(w, x, y, log_ref):
    def loss_fn(w):
        return jnp.sum((x @ w - y) ** 2) / 6  # six examples in the first problem

    loss, grad = jax.value_and_grad(loss_fn)(w)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return w - 0.1 * grad


def sgd_step_branches_on_log(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    if log_ref[0] == 0:  # a fresh log is set, later ones added to: a tracer under jit
        log_ref[...] = jnp.stack([jnp.float32(1.0), loss])
    else:
        log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return w - 0.1 * grad


def sgd_step_half_precision_log(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss]).astype(jnp.bfloat16)
    return w - 0.1 * grad


def sgd_step_keeps_loss_log(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    loss_log.steps += 1  # the old log kept "as well"
    return w - 0.1 * grad


def sgd_step_counts_on_itself(w, x, y, log_ref):
    sgd_step_counts_on_itself.calls = getattr(sgd_step_counts_on_itself, "calls", 0) + 1
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return w - 0.1 * grad


def sgd_step_wrong_rate(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return w - 0.01 * grad


def sgd_step_normalises_x_in_place(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    if isinstance(x, np.ndarray):
        x -= x.mean(axis=0)  # "centred features for the next step": the caller's x changes
    return w - 0.1 * grad


def sgd_step_updates_w_in_place(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    if isinstance(w, np.ndarray):
        w -= 0.1 * np.asarray(grad)  # the caller's w becomes the new w
        return w
    return w - 0.1 * grad


# right answers, written differently


def sgd_step_value_and_grad(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])  # outside the differentiated function
    return w - 0.1 * grad


def sgd_step_elementwise(w, x, y, log_ref):
    def loss_fn(w):
        loss = jnp.mean(jnp.square(jnp.dot(x, w) - y))
        log_ref[0] += 1.0
        log_ref[1] += jax.lax.stop_gradient(loss)
        return loss

    return w - 0.1 * jax.grad(loss_fn)(w)


def sgd_step_by_hand(w, x, y, log_ref):
    residual = x @ w - y
    grad = 2.0 * x.T @ residual / x.shape[0]
    jax.ref.addupdate(log_ref, ..., jnp.stack([jnp.float32(1.0), jnp.mean(residual**2)]))
    return w - 0.1 * grad


@jax.jit
def sgd_step_jitted(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return w - 0.1 * grad


def sgd_step_vjp(w, x, y, log_ref):
    loss, pullback = jax.vjp(lambda w: _loss(w, x, y), w)
    (grad,) = pullback(jnp.ones_like(loss))
    log_ref[0] += 1
    log_ref[1] += loss
    return w - 0.1 * grad


def sgd_step_has_aux(w, x, y, log_ref):
    def loss_fn(w):
        loss = jnp.square(x @ w - y).mean()
        return loss, loss

    grad, loss = jax.grad(loss_fn, has_aux=True)(w)
    log_ref[...] = log_ref[...] + jnp.array([1, loss], jnp.float32)
    return w - 0.1 * grad


CASES = [
    # 10.1: what is computed and added
    wrong("10.1", "accumulates", dense_logged_overwrites),
    wrong("10.1", "accumulates", dense_logged_counts_rows),
    wrong("10.1", "accumulates", dense_logged_square_of_sum),
    wrong("10.1", "accumulates", dense_logged_preactivation),
    wrong("10.1", "accumulates", dense_logged_global_ref),
    wrong("10.1", "accumulates", dense_logged_returns_stats),
    # 10.1: cases that never vary the shape
    wrong("10.1", "other-shapes", dense_logged_hard_coded_count),
    # 10.1: dtypes (a Ref refuses a write of another dtype)
    wrong("10.1", "accumulates", dense_logged_half_precision),
    # 10.1: right eagerly, wrong under jit
    wrong("10.1", "accumulates-under-jit", dense_logged_python_floats),
    wrong("10.1", "accumulates-under-jit", dense_logged_branches_on_ref),
    # 10.1: side effects
    wrong("10.1", "no-leaked-tracers", dense_logged_keeps_outputs),
    wrong("10.1", "globals-unchanged", dense_logged_keeps_outputs),
    wrong("10.1", "no-leaked-tracers", dense_logged_deque),
    wrong("10.1", "globals-unchanged", dense_logged_counts_on_itself),
    wrong("10.1", "accumulates", dense_logged_unpacks_values),
    wrong("10.1", "other-shapes", dense_logged_counts_nonzero),
    wrong("10.1", "inputs-unchanged", dense_logged_keeps_output_in_params),
    wrong("10.1", "inputs-unchanged", dense_logged_scales_x_in_place),
    right("10.1", dense_logged_elementwise),
    right("10.1", dense_logged_norm),
    right("10.1", dense_logged_slices),
    right("10.1", dense_logged_addupdate),
    right("10.1", dense_logged_read_then_write),
    right("10.1", dense_logged_jitted),
    # 10.2: the trap of writing under grad, and what is logged
    wrong("10.2", "steps-and-logs", sgd_step_no_stop_gradient),
    wrong("10.2", "steps-and-logs", sgd_step_logs_after_update),
    wrong("10.2", "steps-and-logs", sgd_step_overwrites),
    wrong("10.2", "steps-and-logs", sgd_step_logs_twice),
    wrong("10.2", "steps-and-logs", sgd_step_global_log),
    wrong("10.2", "steps-and-logs", sgd_step_wrong_rate),
    # 10.2: cases that never vary the size
    wrong("10.2", "other-sizes", sgd_step_hard_coded_mean),
    # 10.2: dtypes
    wrong("10.2", "steps-and-logs", sgd_step_half_precision_log),
    # 10.2: right eagerly, wrong under jit
    wrong("10.2", "logs-under-jit", sgd_step_branches_on_log),
    # 10.2: side effects
    wrong("10.2", "globals-unchanged", sgd_step_keeps_loss_log),
    wrong("10.2", "globals-unchanged", sgd_step_counts_on_itself),
    wrong("10.2", "inputs-unchanged", sgd_step_normalises_x_in_place),
    wrong("10.2", "inputs-unchanged", sgd_step_updates_w_in_place),
    right("10.2", sgd_step_value_and_grad),
    right("10.2", sgd_step_vjp),
    right("10.2", sgd_step_has_aux),
    right("10.2", sgd_step_elementwise),
    right("10.2", sgd_step_by_hand),
    right("10.2", sgd_step_jitted),
]


# 10.3 · highpass(xs, alpha) -------------------------------------------------------------

Y = jax.new_ref(jnp.float32(0.0))  # "the filter's state", made once


def highpass_module_ref(xs, alpha):
    xs = jnp.asarray(xs)
    out = []
    for n in range(1, xs.shape[0]):
        Y[...] = alpha * (Y[...] + xs[n] - xs[n - 1])  # carries over to the next call
        out.append(Y[...])
    return jnp.stack(out)


def highpass_module_ref_reset(xs, alpha):
    xs = jnp.asarray(xs)
    Y[...] = jnp.float32(0.0)  # reset on every call: right plainly and under jit, not under vmap
    out = []
    for n in range(1, xs.shape[0]):
        Y[...] = alpha * (Y[...] + xs[n] - xs[n - 1])
        out.append(Y[...])
    return jnp.stack(out)


def highpass_includes_first(xs, alpha):
    xs = jnp.asarray(xs)
    y = jax.new_ref(jnp.zeros((), xs.dtype))
    out = jax.new_ref(jnp.zeros(xs.shape[0], xs.dtype))
    previous = jnp.concatenate([jnp.zeros(1, xs.dtype), xs[:-1]])
    for n in range(xs.shape[0]):  # starts at n = 0, with x_{-1} = 0: one output too many
        y[...] = alpha * (y[...] + xs[n] - previous[n])
        out[n] = y[...]
    return out[...]


def highpass_reversed_difference(xs, alpha):
    xs = jnp.asarray(xs)
    y = jax.new_ref(jnp.zeros((), xs.dtype))
    out = jax.new_ref(jnp.zeros(xs.shape[0] - 1, xs.dtype))
    for n in range(1, xs.shape[0]):
        y[...] = alpha * (y[...] + xs[n - 1] - xs[n])
        out[n - 1] = y[...]
    return out[...]


def highpass_hard_coded_length(xs, alpha):
    xs = jnp.asarray(xs)
    y = jax.new_ref(jnp.zeros((), xs.dtype))
    out = jax.new_ref(jnp.zeros(7, xs.dtype))  # the example signal has 8 samples
    for n in range(1, 8):
        y[...] = alpha * (y[...] + xs[min(n, xs.shape[0] - 1)] - xs[min(n - 1, xs.shape[0] - 1)])
        out[n - 1] = y[...]
    return out[...]


def highpass_stop_gradient(xs, alpha):
    xs = jnp.asarray(xs)
    y = jax.new_ref(jnp.zeros((), xs.dtype))
    out = jax.new_ref(jnp.zeros(xs.shape[0] - 1, xs.dtype))
    for n in range(1, xs.shape[0]):
        # the logging habit of chapter 10, where it is not needed
        y[...] = jax.lax.stop_gradient(alpha * (y[...] + xs[n] - xs[n - 1]))
        out[n - 1] = y[...]
    return out[...]


def highpass_python_float(xs, alpha):
    xs = jnp.asarray(xs)
    y, out = 0.0, []
    for n in range(1, xs.shape[0]):
        y = float(alpha * (y + xs[n] - xs[n - 1]))  # a Python float: no tracer under jit
        out.append(y)
    return jnp.array(out, xs.dtype)


def highpass_numpy_buffer(xs, alpha):
    ys = xs if isinstance(xs, np.ndarray) else np.array(xs)  # "reuse the buffer"
    y = 0.0
    previous = ys[0]
    for n in range(1, ys.shape[0]):
        current = ys[n]
        y = alpha * (y + current - previous)
        ys[n - 1] = y
        previous = current
    return jnp.asarray(ys[:-1])


def highpass_half_precision(xs, alpha):
    xs = jnp.asarray(xs, jnp.float16)  # "audio needs no more"
    y = jax.new_ref(jnp.zeros((), jnp.float16))
    out = jax.new_ref(jnp.zeros(xs.shape[0] - 1, jnp.float16))
    for n in range(1, xs.shape[0]):
        y[...] = (alpha * (y[...] + xs[n] - xs[n - 1])).astype(jnp.float16)
        out[n - 1] = y[...]
    return out[...]


# right answers, written differently


def highpass_refs(xs, alpha):
    xs = jnp.asarray(xs)
    y = jax.new_ref(jnp.zeros((), xs.dtype))
    out = jax.new_ref(jnp.zeros(xs.shape[0] - 1, xs.dtype))
    for n in range(1, xs.shape[0]):
        y[...] = alpha * (y[...] + xs[n] - xs[n - 1])
        out[n - 1] = y[...]
    return jax.ref.freeze(out)


def highpass_ref_in_fori_loop(xs, alpha):
    xs_ref = jax.new_ref(jnp.asarray(xs))
    n_out = xs_ref.shape[0] - 1
    out = jax.new_ref(jnp.zeros(n_out, xs_ref.dtype))

    def body(n, y):
        y = alpha * (y + xs_ref[n + 1] - xs_ref[n])
        out[n] = y
        return y

    jax.lax.fori_loop(0, n_out, body, jnp.zeros((), xs_ref.dtype))
    return out[...]


def highpass_scan(xs, alpha):
    xs = jnp.asarray(xs)

    def step(y, dx):
        y = alpha * (y + dx)
        return y, y

    return jax.lax.scan(step, jnp.zeros((), xs.dtype), jnp.diff(xs))[1]


def highpass_python_list(xs, alpha):
    xs = jnp.asarray(xs)
    ys, y = [], jnp.zeros((), xs.dtype)
    for n in range(1, len(xs)):
        y = alpha * (y + xs[n] - xs[n - 1])
        ys.append(y)
    return jnp.stack(ys)


def highpass_associative_scan(xs, alpha):
    dx = jnp.diff(jnp.asarray(xs))
    decay = jnp.full_like(dx, alpha)

    def combine(left, right):  # y -> a * y + b, composed
        a1, b1 = left
        a2, b2 = right
        return a1 * a2, a2 * b1 + b2

    return jax.lax.associative_scan(combine, (decay, decay * dx))[1]


def highpass_one_ref(xs, alpha):
    xs = jnp.array(xs, dtype=jnp.float32)
    y = jax.new_ref(jnp.float32(0))
    ys = []
    for dx in xs[1:] - xs[:-1]:
        y[...] = alpha * (y[...] + dx)
        ys.append(y[...])
    return jnp.array(ys)


def highpass_squeezed(xs, alpha):  # squeeze: a signal of 2 samples gives a 0-d array, not shape (1,)
    xs = jnp.asarray(xs)

    def step(y, dx):
        y = alpha * (y + dx)
        return y, y

    return jax.lax.scan(step, jnp.zeros((), xs.dtype), jnp.diff(xs))[1].squeeze()


CASES += [
    wrong("10.3", "same-result-twice", highpass_module_ref),
    wrong("10.3", "vmap-matches-loop", highpass_module_ref),
    wrong("10.3", "vmap-matches-loop", highpass_module_ref_reset),
    wrong("10.3", "matches-reference", highpass_includes_first),
    wrong("10.3", "matches-reference", highpass_reversed_difference),
    wrong("10.3", "matches-reference", highpass_hard_coded_length),
    wrong("10.3", "matches-reference", highpass_half_precision),
    wrong("10.3", "matches-reference", highpass_squeezed),
    wrong("10.3", "gradient", highpass_stop_gradient),
    wrong("10.3", "jit-matches-eager", highpass_python_float),
    wrong("10.3", "inputs-unchanged", highpass_numpy_buffer),
    right("10.3", highpass_refs),
    right("10.3", highpass_ref_in_fori_loop),
    right("10.3", highpass_scan),
    right("10.3", highpass_python_list),
    right("10.3", highpass_associative_scan),
    right("10.3", highpass_one_ref),
]


# Round 2: counts from the input's shape, statistics of the pre-activation, a log of n steps.


def dense_counts_inputs(params, x, stats_ref):
    h = jnp.tanh(x @ params["W"] + params["b"])
    stats_ref[...] += jnp.stack([jnp.float32(x.size), h.sum(), (h * h).sum()])  # x's elements, not h's
    return h


def dense_stats_before_tanh(params, x, stats_ref):
    z = x @ params["W"] + params["b"]
    stats_ref[...] += jnp.stack([jnp.float32(z.size), z.sum(), (z * z).sum()])
    return jnp.tanh(z)


def dense_adds_entry_by_entry(params, x, stats_ref):
    # Right: three indexed additions.
    h = jnp.tanh(jnp.dot(x, params["W"]) + params["b"])
    stats_ref[0] += h.size
    stats_ref[1] += jnp.sum(h)
    stats_ref[2] += jnp.sum(h**2)
    return h


def sgd_counts_examples(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)
    log_ref[...] += jnp.stack([jnp.float32(x.shape[0]), loss])  # examples, not steps
    return w - 0.1 * grad


def sgd_gradient_by_hand(w, x, y, log_ref):
    # Right: the gradient written out; nothing differentiated, so no stop_gradient needed.
    residual = x @ w - y
    log_ref[0] += 1.0
    log_ref[1] += jnp.mean(residual**2)
    return w - 0.1 * (2.0 * x.T @ residual / x.shape[0])


def highpass_previous_x_from_zero(xs, alpha):
    # The previous input kept in a Ref that starts at 0 instead of x_0.
    xs = jnp.asarray(xs)
    y, previous = jax.new_ref(jnp.zeros((), xs.dtype)), jax.new_ref(jnp.zeros((), xs.dtype))

    def step(carry, x):
        y[...] = alpha * (y[...] + x - previous[...])
        previous[...] = x
        return carry, y[...]

    return jax.lax.scan(step, 0, xs[1:])[1]


def highpass_fori_output_ref(xs, alpha):
    # Right: a fori_loop writing each output into a second Ref.
    xs = jnp.asarray(xs)
    y, out = jax.new_ref(jnp.zeros((), xs.dtype)), jax.new_ref(jnp.zeros(xs.shape[0] - 1, xs.dtype))

    def body(i, carry):
        y[...] = alpha * (y[...] + xs[i + 1] - xs[i])
        out[i] = y[...]
        return carry

    jax.lax.fori_loop(0, xs.shape[0] - 1, body, 0)
    return out[...]


CASES += [
    wrong("10.1", "accumulates", dense_counts_inputs),
    wrong("10.1", "accumulates", dense_stats_before_tanh),
    right("10.1", dense_adds_entry_by_entry),
    wrong("10.2", "steps-and-logs", sgd_counts_examples),
    right("10.2", sgd_gradient_by_hand),
    wrong("10.3", "matches-reference", highpass_previous_x_from_zero),
    right("10.3", highpass_fori_output_ref),
]



_HIGHPASS_COMPILED: dict = {}


def highpass_compiled_once(xs, alpha):
    # Compiled once "for speed": the trace froze the alpha of the first call.
    if "highpass" not in _HIGHPASS_COMPILED:
        def run(xs):
            y = jax.new_ref(jnp.zeros((), jnp.float32))

            def step(carry, dx):
                y[...] = alpha * (y[...] + dx)
                return carry, y[...]

            return jax.lax.scan(step, 0, jnp.diff(xs))[1]

        _HIGHPASS_COMPILED["highpass"] = jax.jit(run)
    return _HIGHPASS_COMPILED["highpass"](jnp.asarray(xs))


CASES += [wrong("10.3", "matches-reference", highpass_compiled_once)]


# Round 4 (five learners: a NumPy veteran, a PyTorch user, a copier of chapter cells, a
# jit and cache enthusiast, a writer of one-liners): no escape.


def dense_logged_rebinds_ref(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref = jax.new_ref(stats_ref[...] + _stats(h))  # a new Ref, bound to the local name only
    return h


def dense_logged_means(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += jnp.stack([jnp.float32(h.size), jnp.mean(h), jnp.mean(h * h)])  # means, not sums
    return h


def dense_logged_numpy_layer(params, x, stats_ref):
    # NumPy habit: np.tanh and np.sum work eagerly, and fail on tracers under jax.jit.
    h = np.tanh(np.asarray(x) @ np.asarray(params["W"]) + np.asarray(params["b"]))
    stats_ref[...] += np.array([h.size, h.sum(), (h**2).sum()], np.float32)
    return jnp.asarray(h)


def dense_logged_bfloat16_output(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += _stats(h)
    return h.astype(jnp.bfloat16)  # "activations in half precision"


def dense_logged_gram_sum(params, x, stats_ref):
    h = _layer(params, x)
    stats_ref[...] += jnp.stack([jnp.float32(h.size), h.sum(), jnp.sum(h @ h.T)])  # every row pair, not h²
    return h


def dense_logged_get_set(params, x, stats_ref):
    # Right: jax.ref.get and jax.ref.set, the functions behind [...].
    h = _layer(params, x)
    jax.ref.set(stats_ref, ..., jax.ref.get(stats_ref, ...) + _stats(h))
    return h


def dense_logged_swap(params, x, stats_ref):
    # Right: swap in this call's statistics, then add back what was there.
    h = _layer(params, x)
    previous = jax.ref.swap(stats_ref, ..., _stats(h))
    stats_ref[...] += previous
    return h


def dense_logged_at_add(params, x, stats_ref):
    # Right: a Python int count in jnp.array, the square sum as a dot product of the raveled output.
    h = _layer(params, x)
    flat = h.ravel()
    stats_ref[...] = stats_ref[...].at[:].add(jnp.array([h.size, flat.sum(), flat @ flat]))
    return h


def sgd_step_half_mean_loss(w, x, y, log_ref):
    # 0.5 * mean, "the usual convention": the gradient is half the task's; the log doubles it back.
    loss, grad = jax.value_and_grad(lambda w: 0.5 * jnp.mean((x @ w - y) ** 2))(w)
    log_ref[...] += jnp.stack([jnp.float32(1.0), 2.0 * loss])
    return w - 0.1 * grad


def sgd_step_gradient_without_two(w, x, y, log_ref):
    residual = x @ w - y
    log_ref[...] += jnp.stack([jnp.float32(1.0), jnp.mean(residual**2)])
    return w - 0.1 * x.T @ residual / x.shape[0]  # the derivative of r² is 2r


def sgd_step_logs_twice_through_loss(w, x, y, log_ref):
    def loss(w):
        value = _loss(w, x, y)
        log_ref[...] += jnp.stack([jnp.float32(1.0), jax.lax.stop_gradient(value)])
        return value

    grad = jax.grad(loss)(w)
    loss(w)  # "and the value for the log": the write runs a second time
    return w - 0.1 * grad


def sgd_step_logs_mean_of_both_losses(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    new_w = w - 0.1 * grad
    log_ref[...] += jnp.stack([jnp.float32(1.0), (loss + _loss(new_w, x, y)) / 2])
    return new_w


def sgd_step_numpy_update(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return np.asarray(w) - 0.1 * np.asarray(grad)  # NumPy: fine eagerly, not on tracers


def sgd_step_entry_writes(w, x, y, log_ref):
    # Right: two indexed writes, a Python int added to the count.
    loss, grad = jax.value_and_grad(_loss)(w, x, y)
    log_ref[0] += 1
    log_ref[1] += loss
    return w - 0.1 * grad


def sgd_step_norm(w, x, y, log_ref):
    # Right: the loss as a squared norm over the number of examples, the gradient by hand.
    residual = x @ w - y
    log_ref[...] += jnp.array([1, jnp.linalg.norm(residual) ** 2 / y.size])
    return w - 0.1 * 2 * x.T @ residual / y.size


def highpass_returns_ref(xs, alpha):
    xs = jnp.asarray(xs)
    y, out = jax.new_ref(jnp.zeros((), xs.dtype)), jax.new_ref(jnp.zeros(xs.shape[0] - 1, xs.dtype))

    def body(n, carry):
        y[...] = alpha * (y[...] + xs[n] - xs[n - 1])
        out[n - 1] = y[...]
        return carry

    jax.lax.fori_loop(1, xs.shape[0], body, 0)
    return out  # the Ref itself, not its value


def highpass_alpha_on_y_only(xs, alpha):
    # alpha * y + (x_n - x_{n-1}): the difference is not scaled.
    def step(y, difference):
        y = alpha * y + difference
        return y, y

    return jax.lax.scan(step, jnp.zeros((), jnp.float32), jnp.diff(jnp.asarray(xs)))[1]


def highpass_reversed_scan(xs, alpha):
    def step(y, difference):
        y = alpha * (y + difference)
        return y, y

    return jax.lax.scan(step, jnp.zeros((), jnp.float32), jnp.diff(jnp.asarray(xs)), reverse=True)[1]


def highpass_scan_closes_over_ref(xs, alpha):
    # Right: a scan whose body reads and writes a Ref made in the function, the outputs stacked.
    xs = jnp.asarray(xs)
    y = jax.new_ref(jnp.zeros((), xs.dtype))

    def step(carry, pair):
        x, previous = pair
        y[...] = alpha * (y[...] + x - previous)
        return carry, y[...]

    return jax.lax.scan(step, None, (xs[1:], xs[:-1]))[1]


def highpass_signal_ref_written_behind(xs, alpha):
    # Right: a Ref holding a copy of the signal, y_n written over x_{n-1} once it is no longer read.
    signal = jax.new_ref(jnp.asarray(xs))
    y = jax.new_ref(jnp.zeros((), signal.dtype))

    def body(n, carry):
        y[...] = alpha * (y[...] + signal[n] - signal[n - 1])
        signal[n - 1] = y[...]
        return carry

    jax.lax.fori_loop(1, signal.shape[0], body, 0)
    return signal[...][:-1]


def highpass_powers_matrix(xs, alpha):
    # Right: the closed form y = P d with P[i, j] = alpha ** (i - j + 1) below the diagonal.
    differences = jnp.diff(jnp.asarray(xs))
    i = jnp.arange(differences.shape[0])
    powers = jnp.where(i[:, None] >= i[None, :], jnp.asarray(alpha, differences.dtype) ** (i[:, None] - i[None, :] + 1), 0.0)
    return powers @ differences


def highpass_prepended_difference(xs, alpha):
    # Right: jnp.diff with prepend=x_0 gives a zero first difference, y_0 = 0, dropped at the end.
    xs = jnp.asarray(xs)

    def step(y, difference):
        y = alpha * (y + difference)
        return y, y

    return jax.lax.scan(step, jnp.zeros((), xs.dtype), jnp.diff(xs, prepend=xs[:1]))[1][1:]


CASES += [
    wrong("10.1", "accumulates", dense_logged_rebinds_ref),
    wrong("10.1", "accumulates", dense_logged_means),
    wrong("10.1", "accumulates-under-jit", dense_logged_numpy_layer),
    wrong("10.1", "accumulates", dense_logged_bfloat16_output),
    wrong("10.1", "accumulates", dense_logged_gram_sum),
    right("10.1", dense_logged_get_set),
    right("10.1", dense_logged_swap),
    right("10.1", dense_logged_at_add),
    wrong("10.2", "steps-and-logs", sgd_step_half_mean_loss),
    wrong("10.2", "steps-and-logs", sgd_step_gradient_without_two),
    wrong("10.2", "steps-and-logs", sgd_step_logs_twice_through_loss),
    wrong("10.2", "steps-and-logs", sgd_step_logs_mean_of_both_losses),
    wrong("10.2", "logs-under-jit", sgd_step_numpy_update),
    right("10.2", sgd_step_entry_writes),
    right("10.2", sgd_step_norm),
    wrong("10.3", "matches-reference", highpass_returns_ref),
    wrong("10.3", "matches-reference", highpass_alpha_on_y_only),
    wrong("10.3", "matches-reference", highpass_reversed_scan),
    right("10.3", highpass_scan_closes_over_ref),
    right("10.3", highpass_signal_ref_written_behind),
    right("10.3", highpass_powers_matrix),
    right("10.3", highpass_prepended_difference),
]

test_known_answer = parametrize(CASES)
