"""Known answers for chapter 9 · State through loops."""

from __future__ import annotations

import functools

import jax.numpy as jnp
from jax import lax

from tests.wrong_answers.helpers import parametrize, right, wrong

# 9.1 ---------------------------------------------------------------------------------


def _cell(params, h, x):
    return jnp.tanh(x @ params["Wx"] + h @ params["Wh"] + params["b"])


def rnn_python_loop(params, h0, xs):
    # Right values, but the loop is unrolled into the trace: one copy of the cell per step.
    h, hs = h0, []
    for x in xs:
        h = _cell(params, h, x)
        hs.append(h)
    return h, jnp.stack(hs)


def rnn_emits_old_state(params, h0, xs):
    # Emits the state the step started from: hs = h_0 … h_{T-1}, one step late.
    def step(h, x):
        return _cell(params, h, x), h

    return lax.scan(step, h0, xs)


def rnn_hs_includes_h0(params, h0, xs):
    h_last, hs = lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs)
    return h_last, jnp.concatenate([h0[None], hs])


def rnn_swapped_outputs(params, h0, xs):
    h_last, hs = lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs)
    return hs, h_last


def rnn_only_hs(params, h0, xs):
    return lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs)[1]


def rnn_no_bias(params, h0, xs):
    def step(h, x):
        h = jnp.tanh(x @ params["Wx"] + h @ params["Wh"])
        return h, h

    return lax.scan(step, h0, xs)


WEIGHTS = {"Wx": jnp.full((3, 4), 0.1), "Wh": jnp.eye(4) * 0.5, "b": jnp.zeros(4)}


def rnn_global_weights(params, h0, xs):
    # The body reads module-level weights: they are constants of the trace, so the
    # gradient with respect to `params` is zero (and the values belong to other weights).
    def step(h, x):
        h = jnp.tanh(x @ params["Wx"] + h @ WEIGHTS["Wh"] + params["b"])
        return h, h

    return lax.scan(step, h0, xs)


def rnn_while_loop(params, h0, xs):
    # Right values and a loop primitive, but reverse mode cannot differentiate while_loop.
    def cond(state):
        return state[0] < xs.shape[0]

    def body(state):
        t, h, hs = state
        h = _cell(params, h, xs[t])
        return t + 1, h, hs.at[t].set(h)

    hs = jnp.zeros((xs.shape[0], h0.shape[0]), h0.dtype)
    _, h_last, hs = lax.while_loop(cond, body, (0, h0, hs))
    return h_last, hs


def rnn_fori_buffer(params, h0, xs):
    # Static bounds: fori_loop lowers to scan, so reverse mode works.
    def body(t, state):
        h, hs = state
        h = _cell(params, h, xs[t])
        return h, hs.at[t].set(h)

    hs = jnp.zeros((xs.shape[0], h0.shape[0]), h0.dtype)
    return lax.fori_loop(0, xs.shape[0], body, (h0, hs))


def rnn_projected_inputs(params, h0, xs):
    # The input projection of every step at once, outside the loop; only Wh stays inside.
    drive = xs @ params["Wx"] + params["b"]

    def step(h, d):
        h = jnp.tanh(d + h @ params["Wh"])
        return h, h

    return lax.scan(step, h0, drive)


# 9.2 ---------------------------------------------------------------------------------


def ema_python_loop(xs, alpha):
    ys = [xs[0]]
    for x in xs[1:]:
        ys.append(alpha * x + (1 - alpha) * ys[-1])
    return jnp.stack(ys)


def ema_starts_at_zero(xs, alpha):
    # y_0 = alpha * x_0: the carry starts at 0 instead of x_0.
    def step(y, x):
        y = alpha * x + (1 - alpha) * y
        return y, y

    return lax.scan(step, jnp.zeros_like(xs[0]), xs)[1]


def ema_swapped_weights(xs, alpha):
    def step(y, x):
        y = (1 - alpha) * x + alpha * y
        return y, y

    return lax.scan(step, xs[0], xs)[1]


def ema_last_only(xs, alpha):
    def step(y, x):
        return alpha * x + (1 - alpha) * y, None

    return lax.scan(step, xs[0], xs[1:])[0]


ALPHA = 0.25


def ema_global_alpha(xs, alpha):
    def step(y, x):
        y = ALPHA * x + (1 - ALPHA) * y
        return y, y

    return lax.scan(step, xs[0], xs)[1]


def ema_weight_matrix(xs, alpha):
    # The closed form y = W @ xs: right values, no loop at all (and O(T^2) work).
    t = jnp.arange(xs.shape[0])
    lag = t[:, None] - t[None, :]
    weights = jnp.where(lag >= 0, alpha * (1 - alpha) ** jnp.maximum(lag, 0), 0.0)
    weights = weights.at[:, 0].set(jnp.where(t == 0, 1.0, (1 - alpha) ** t))
    return weights @ xs


def ema_associative_scan(xs, alpha):
    # A parallel prefix: right values, but unrolled into log2(T) levels of slices at trace time.
    decay = jnp.full_like(xs, 1 - alpha).at[0].set(0.0)
    drive = (alpha * xs).at[0].set(xs[0])

    def combine(earlier, later):
        return earlier[0] * later[0], later[0] * earlier[1] + later[1]

    return lax.associative_scan(combine, (decay, drive))[1]


def ema_scan_unrolled(xs, alpha):
    # "unroll for speed": one body in the jaxpr, T copies in the compiled program.
    def step(y, x):
        y = alpha * x + (1 - alpha) * y
        return y, y

    return lax.scan(step, xs[0], xs, unroll=True)[1]


def ema_scan_unrolled_by_four(xs, alpha):  # right: a constant factor
    def step(y, x):
        y = alpha * x + (1 - alpha) * y
        return y, y

    return lax.scan(step, xs[0], xs, unroll=4)[1]


def ema_scan_from_x0(xs, alpha):
    # Starting the carry at x_0 and scanning over all of xs: step 0 gives alpha*x_0 + (1-alpha)*x_0 = x_0.
    def step(y, x):
        y = alpha * x + (1 - alpha) * y
        return y, y

    return lax.scan(step, xs[0], xs)[1]


def ema_fori_buffer(xs, alpha):
    def body(t, ys):
        return ys.at[t].set(alpha * xs[t] + (1 - alpha) * ys[t - 1])

    return lax.fori_loop(1, xs.shape[0], body, xs)



# 9.1 · more wrong answers ------------------------------------------------------------------

import jax  # noqa: E402
from collections import deque  # noqa: E402


def rnn_jitted_python_loop(params, h0, xs):
    # A Python loop inside a nested jax.jit: the top level of the jaxpr is one pjit equation,
    # but inside it the loop is unrolled, one copy of the cell per step.
    @jax.jit
    def unrolled(params, h0, xs):
        return rnn_python_loop(params, h0, xs)

    return unrolled(params, h0, xs)


def rnn_swapped_weights(params, h0, xs):
    # Wx and Wh exchanged: with square matrices it would run; here n_in != n_hidden.
    def step(h, x):
        h = jnp.tanh(x @ params["Wh"] + h @ params["Wx"] + params["b"])
        return h, h

    return lax.scan(step, h0, xs)


def rnn_ignores_h0(params, h0, xs):
    return lax.scan(lambda h, x: (_cell(params, h, x),) * 2, jnp.zeros_like(h0), xs)


def rnn_fixed_length(params, h0, xs):
    # The loop bound is the length of the sequence the author tested with.
    def body(t, state):
        h, hs = state
        h = _cell(params, h, xs[t])
        return h, hs.at[t].set(h)

    return lax.fori_loop(0, 5, body, (h0, jnp.zeros((5, h0.shape[0]), h0.dtype)))


def rnn_fixed_hidden_size(params, h0, xs):
    def body(t, state):
        h, hs = state
        h = _cell(params, h, xs[t])
        return h, hs.at[t].set(h)

    return lax.fori_loop(0, xs.shape[0], body, (h0, jnp.zeros((xs.shape[0], 4))))


def rnn_half_buffer(params, h0, xs):
    # The states are written into a float16 buffer: values rounded to three digits.
    def body(t, state):
        h, hs = state
        h = _cell(params, h, xs[t])
        return h, hs.at[t].set(h)

    return lax.fori_loop(0, xs.shape[0], body, (h0, jnp.zeros((xs.shape[0], h0.shape[0]), jnp.float16)))


debug_states = []


def rnn_logs_states(params, h0, xs):
    # Keeps every state for debugging: under jit (and inside scan) they are tracers.
    def step(h, x):
        h = _cell(params, h, x)
        debug_states.append(h)
        return h, h

    return lax.scan(step, h0, xs)


def rnn_caches_in_params(params, h0, xs):
    # Stores the input projection in the caller's params dict, "to save work next time".
    params["drive"] = xs @ params["Wx"] + params["b"]

    def step(h, d):
        h = jnp.tanh(d + h @ params["Wh"])
        return h, h

    return lax.scan(step, h0, params["drive"])


calls_seen = deque(maxlen=100)


def rnn_records_calls(params, h0, xs):
    calls_seen.append(xs.shape)
    return lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs)


def rnn_counts_calls(params, h0, xs):
    rnn_counts_calls.calls = getattr(rnn_counts_calls, "calls", 0) + 1
    return lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs)


def rnn_einsum(params, h0, xs):
    # Right: einsum instead of @, and the scan emits the carry.
    def step(h, x):
        h = jnp.tanh(jnp.einsum("i,ij->j", x, params["Wx"]) + jnp.einsum("i,ij->j", h, params["Wh"]) + params["b"])
        return h, h

    h_last, hs = lax.scan(step, h0, xs)
    return h_last, hs


def rnn_stack_outputs_after(params, h0, xs):
    # Right: emits nothing but the carry's history through a buffer indexed by step, via scan over indices.
    def step(h, t):
        h = _cell(params, h, xs[t])
        return h, h

    return lax.scan(step, h0, jnp.arange(xs.shape[0]))


# 9.2 · more wrong answers ------------------------------------------------------------------


def ema_jitted_python_loop(xs, alpha):
    return jax.jit(ema_python_loop)(xs, alpha)


def ema_fixed_length(xs, alpha):
    def body(t, ys):
        return ys.at[t].set(alpha * xs[t] + (1 - alpha) * ys[t - 1])

    return lax.fori_loop(1, 6, body, xs)


def ema_half_buffer(xs, alpha):
    def body(t, ys):
        return ys.at[t].set(alpha * xs[t] + (1 - alpha) * ys[t - 1])

    return lax.fori_loop(1, xs.shape[0], body, xs.astype(jnp.float16))


def ema_unnormalised(xs, alpha):
    # Carries s_t = y_t / (1 - alpha)**t: right for 0 < alpha < 1, inf * 0 = nan at alpha = 1.
    def step(carry, x):
        s, scale = carry
        scale = scale * (1 - alpha)
        s = s + alpha * x / scale
        return (s, scale), s * scale

    _, rest = lax.scan(step, (xs[0], jnp.ones_like(xs[0])), xs[1:])
    return jnp.concatenate([xs[:1], rest])


def ema_skips_nan(xs, alpha):
    # Treats NaN as a missing value and keeps the previous average: not the recurrence asked for.
    def step(y, x):
        y = jnp.where(jnp.isnan(x), y, alpha * x + (1 - alpha) * y)
        return y, y

    return lax.scan(step, xs[0], xs)[1]


ema_history = []


def ema_logs(xs, alpha):
    def step(y, x):
        y = alpha * x + (1 - alpha) * y
        ema_history.append(y)
        return y, y

    return lax.scan(step, xs[0], xs)[1]


def ema_counts_calls(xs, alpha):
    ema_counts_calls.calls = getattr(ema_counts_calls, "calls", 0) + 1
    return lax.scan(lambda y, x: (alpha * x + (1 - alpha) * y,) * 2, xs[0], xs)[1]


def ema_increment_form(xs, alpha):
    # Right: y + alpha * (x - y) is the same recurrence, rounded differently.
    def step(y, x):
        y = y + alpha * (x - y)
        return y, y

    return lax.scan(step, xs[0], xs)[1]


# 9.3 ---------------------------------------------------------------------------------


def lif_given(xs, decay, threshold):
    # The exercise's code: the potential lives outside the carry, the spike count in it.
    v = jnp.float32(0.0)

    def step(n_spikes, x):
        nonlocal v
        v = decay * v + x
        spike = v > threshold
        v = jnp.where(spike, 0.0, v)
        return n_spikes + spike, spike

    n_spikes, spikes = lax.scan(step, jnp.int32(0), xs)
    return v, spikes


def _lif(xs, decay, threshold, fire=lambda v, th: v > th, reset=lambda v, s, th: jnp.where(s, 0.0, v)):
    def step(v, x):
        v = decay * v + x
        spike = fire(v, threshold)
        return reset(v, spike, threshold), spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_greater_equal(xs, decay, threshold):
    return _lif(xs, decay, threshold, fire=lambda v, th: v >= th)


def lif_no_reset(xs, decay, threshold):
    return _lif(xs, decay, threshold, reset=lambda v, s, th: v)


def lif_reset_by_subtraction(xs, decay, threshold):
    return _lif(xs, decay, threshold, reset=lambda v, s, th: jnp.where(s, v - th, v))


def lif_fires_on_old_potential(xs, decay, threshold):
    # Compares the potential the step started from, before the new input is added.
    def step(v, x):
        spike = v > threshold
        v = jnp.where(spike, 0.0, decay * v + x)
        return v, spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_python_loop(xs, decay, threshold):
    v, spikes = jnp.float32(0.0), []
    for x in xs:
        v = decay * v + x
        spikes.append(v > threshold)
        v = jnp.where(spikes[-1], 0.0, v)
    return v, jnp.stack(spikes)


def lif_jitted_python_loop(xs, decay, threshold):
    return jax.jit(lif_python_loop)(xs, decay, threshold)


DECAY = 0.5


def lif_global_decay(xs, decay, threshold):
    def step(v, x):
        v = DECAY * v + x
        spike = v > threshold
        return jnp.where(spike, 0.0, v), spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_float_spikes(xs, decay, threshold):
    def step(v, x):
        v = decay * v + x
        spike = (v > threshold).astype(jnp.float32)
        return v * (1 - spike), spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_stale_global_potential(xs, decay, threshold):
    # The potential kept in a module-level dict and read back in the body.
    def step(n, x):
        _potential["v"] = decay * _potential["v"] + x
        spike = _potential["v"] > threshold
        _potential["v"] = jnp.where(spike, 0.0, _potential["v"])
        return n + 1, spike

    _potential["v"] = jnp.float32(0.0)
    _, spikes = lax.scan(step, 0, xs)
    return jnp.float32(0.0) + 0.0 * jnp.sum(xs), spikes


_potential = {}


def lif_cond(xs, decay, threshold):
    # Right: lax.cond for the reset, and the count carried along (unused).
    def step(carry, x):
        v, n = carry
        v = decay * v + x
        spike = v > threshold
        v = lax.cond(spike, lambda: jnp.float32(0.0), lambda: v)
        return (v, n + spike.astype(jnp.int32)), spike

    (v, _), spikes = lax.scan(step, (jnp.float32(0.0), jnp.int32(0)), xs)
    return v, spikes


def lif_fori(xs, decay, threshold):
    # Right: fori_loop and a boolean buffer.
    def body(t, carry):
        v, spikes = carry
        v = decay * v + xs[t]
        spikes = spikes.at[t].set(v > threshold)
        return jnp.where(spikes[t], 0.0, v), spikes

    return lax.fori_loop(0, xs.shape[0], body, (jnp.float32(0.0), jnp.zeros(xs.shape[0], bool)))


def lif_multiply_mask(xs, decay, threshold):
    # Right: the reset as a multiplication by the negated spike.
    def step(v, x):
        v = decay * v + x
        spike = v > threshold
        return v * ~spike, spike

    return lax.scan(step, jnp.zeros(()), xs)


# 9.1 · more answers ------------------------------------------------------------------------


def rnn_relu(params, h0, xs):
    return lax.scan(lambda h, x: (jnp.maximum(x @ params["Wx"] + h @ params["Wh"] + params["b"], 0.0),) * 2, h0, xs)


def rnn_bias_after_tanh(params, h0, xs):
    def step(h, x):
        h = jnp.tanh(x @ params["Wx"] + h @ params["Wh"]) + params["b"]
        return h, h

    return lax.scan(step, h0, xs)


def rnn_stops_gradient_through_time(params, h0, xs):
    # "Truncated backprop" by habit: no gradient flows from one step to the previous one.
    def step(h, x):
        h = _cell(params, lax.stop_gradient(h), x)
        return h, h

    return lax.scan(step, h0, xs)


def rnn_unrolled_scan(params, h0, xs):
    # One scan in the jaxpr, but unroll=True hands XLA one copy of the cell per step.
    return lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs, unroll=True)


def rnn_checkpointed_step(params, h0, xs):
    # Right: the step under jax.checkpoint.
    return lax.scan(jax.checkpoint(lambda h, x: (_cell(params, h, x),) * 2), h0, xs)


def rnn_transposed_products(params, h0, xs):
    # Right: W.T @ v instead of v @ W.
    def step(h, x):
        h = jnp.tanh(params["Wx"].T @ x + params["Wh"].T @ h + params["b"])
        return h, h

    return lax.scan(step, h0, xs)


# 9.2 · more answers ------------------------------------------------------------------------


def _ema_scan(xs, alpha):
    return lax.scan(lambda y, x: ((alpha * x + (1 - alpha) * y),) * 2, xs[0], xs)[1]


def ema_nan_to_num(xs, alpha):
    return _ema_scan(jnp.nan_to_num(xs), alpha)  # the task says a NaN propagates


def ema_starts_at_mean(xs, alpha):
    return lax.scan(lambda y, x: ((alpha * x + (1 - alpha) * y),) * 2, jnp.mean(xs), xs)[1]


def ema_clipped_alpha(xs, alpha):
    return _ema_scan(xs, jnp.clip(alpha, 0.01, 0.99))  # "keeps the average moving": wrong at 0 and 1


def ema_emits_previous(xs, alpha):
    def step(y, x):
        return alpha * x + (1 - alpha) * y, y  # emits the average before the update

    return lax.scan(step, xs[0], xs)[1]


def ema_python_branch_on_alpha(xs, alpha):
    if alpha == 1.0:  # a shortcut that needs alpha's value: a tracer under jit
        return xs
    return _ema_scan(xs, alpha)


def ema_while_loop(xs, alpha):
    # Right: a while_loop writing into a buffer (no gradient is asked for in 9.2).
    def body(carry):
        t, y, ys = carry
        y = alpha * xs[t] + (1 - alpha) * y
        return t + 1, y, ys.at[t].set(y)

    return lax.while_loop(lambda carry: carry[0] < xs.shape[0], body, (1, xs[0], xs))[2]


def ema_fori_where(xs, alpha):
    # Right: fori_loop over every index, the first one handled with jnp.where.
    def body(t, ys):
        previous = jnp.where(t == 0, xs[0], ys[t - 1])
        return ys.at[t].set(jnp.where(t == 0, xs[0], alpha * xs[t] + (1 - alpha) * previous))

    return lax.fori_loop(0, xs.shape[0], body, jnp.zeros_like(xs))


# 9.3 · more answers ------------------------------------------------------------------------


def lif_decays_after_input(xs, decay, threshold):
    def step(v, x):
        v = decay * (v + x)  # the input leaks too
        spike = v > threshold
        return jnp.where(spike, 0.0, v), spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_clipped_at_zero(xs, decay, threshold):
    # Keeps the potential from going negative: not in the model asked for.
    return _lif(xs, decay, threshold, reset=lambda v, s, th: jnp.maximum(jnp.where(s, 0.0, v), 0.0))


def lif_returns_potential_before_reset(xs, decay, threshold):
    def step(carry, x):
        v, _ = carry
        v = decay * v + x
        spike = v > threshold
        return (jnp.where(spike, 0.0, v), v), spike

    (_, last), spikes = lax.scan(step, (jnp.float32(0.0), jnp.float32(0.0)), xs)
    return last, spikes


def lif_int_spikes(xs, decay, threshold):
    v, spikes = _lif(xs, decay, threshold)
    return v, spikes.astype(jnp.int32)  # the task asks for a boolean array


def lif_heaviside(xs, decay, threshold):
    # Right: the comparison written as a Heaviside step (0 at the threshold itself).
    return _lif(xs, decay, threshold, fire=lambda v, th: jnp.heaviside(v - th, 0.0).astype(bool))


def lif_while(xs, decay, threshold):
    # Right: a while_loop with a boolean buffer.
    def body(carry):
        t, v, spikes = carry
        v = decay * v + xs[t]
        spike = v > threshold
        return t + 1, jnp.where(spike, 0.0, v), spikes.at[t].set(spike)

    _, v, spikes = lax.while_loop(lambda c: c[0] < xs.shape[0], body, (0, jnp.float32(0.0), jnp.zeros(xs.shape, bool)))
    return v, spikes


def lif_python_float_start(xs, decay, threshold):
    # Right: the carry starts as a Python 0.0.
    def step(v, x):
        v = decay * v + x
        spike = v > threshold
        return jnp.where(spike, 0.0, v), spike

    return lax.scan(step, 0.0, xs)


# 9.3 · a potential kept in half precision, a spike on either side ---------------------------


def lif_float16_potential(xs, decay, threshold):
    # Keeps the potential in float16 "to save memory": exact on binary fractions only.
    def step(v, x):
        v = (decay * v + x).astype(jnp.float16)
        spike = v > threshold
        return jnp.where(spike, jnp.float16(0.0), v), spike

    v, spikes = lax.scan(step, jnp.float16(0.0), xs)
    return v.astype(jnp.float32), spikes


def lif_spikes_on_abs(xs, decay, threshold):
    # Fires when the potential is far from 0 on either side: not the model asked for.
    def step(v, x):
        v = decay * v + x
        spike = jnp.abs(v) > threshold
        return jnp.where(spike, 0.0, v), spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_reset_times_not_spike(xs, decay, threshold):
    # Right: the reset as a product with the negated spike.
    def step(v, x):
        v = decay * v + x
        spike = v > threshold
        return v * ~spike, spike

    return lax.scan(step, jnp.zeros((), jnp.float32), xs)


CASES = [
    wrong("9.1", "constant-program-size", rnn_python_loop),
    wrong("9.1", "uses-loop-primitive", rnn_python_loop, label="rnn_python_loop_no_primitive"),
    wrong("9.1", "matches-reference", rnn_emits_old_state),
    wrong("9.1", "matches-reference", rnn_hs_includes_h0),
    wrong("9.1", "matches-reference", rnn_swapped_outputs),
    wrong("9.1", "matches-reference", rnn_only_hs),
    wrong("9.1", "matches-reference", rnn_no_bias),
    wrong("9.1", "gradient", rnn_global_weights),
    wrong("9.1", "gradient", rnn_while_loop),
    right("9.1", rnn_fori_buffer),
    right("9.1", rnn_projected_inputs),
    wrong("9.2", "constant-program-size", ema_python_loop),
    wrong("9.2", "matches-reference", ema_starts_at_zero),
    wrong("9.2", "matches-reference", ema_swapped_weights),
    wrong("9.2", "matches-reference", ema_last_only),
    wrong("9.2", "matches-reference", ema_global_alpha),
    wrong("9.2", "uses-loop-primitive", ema_weight_matrix),
    wrong("9.2", "constant-program-size", ema_associative_scan),
    right("9.2", ema_scan_from_x0),
    wrong("9.2", "constant-program-size", ema_scan_unrolled),
    right("9.2", ema_scan_unrolled_by_four),
    right("9.2", ema_fori_buffer),
    wrong("9.1", "constant-program-size", rnn_jitted_python_loop),
    wrong("9.1", "matches-reference", rnn_swapped_weights),
    wrong("9.1", "matches-reference", rnn_ignores_h0),
    wrong("9.1", "matches-reference", rnn_fixed_length),
    wrong("9.1", "matches-reference", rnn_fixed_hidden_size),
    wrong("9.1", "matches-reference", rnn_half_buffer),
    wrong("9.1", "no-leaked-tracers", rnn_logs_states),
    wrong("9.1", "globals-unchanged", rnn_logs_states, label="rnn_logs_states_global"),
    wrong("9.1", "inputs-unchanged", rnn_caches_in_params),
    wrong("9.1", "globals-unchanged", rnn_records_calls),
    wrong("9.1", "globals-unchanged", rnn_counts_calls),
    right("9.1", rnn_einsum),
    right("9.1", rnn_stack_outputs_after),
    wrong("9.2", "constant-program-size", ema_jitted_python_loop),
    wrong("9.2", "matches-reference", ema_fixed_length),
    wrong("9.2", "matches-reference", ema_half_buffer),
    wrong("9.2", "matches-reference", ema_unnormalised),
    wrong("9.2", "matches-reference", ema_skips_nan),
    wrong("9.2", "no-leaked-tracers", ema_logs),
    wrong("9.2", "globals-unchanged", ema_counts_calls),
    right("9.2", ema_increment_form),
    wrong("9.3", "matches-reference", lif_given),
    wrong("9.3", "no-leaked-tracers", lif_given, label="lif_given_leaks"),
    wrong("9.3", "matches-reference", lif_greater_equal),
    wrong("9.3", "matches-reference", lif_no_reset),
    wrong("9.3", "matches-reference", lif_reset_by_subtraction),
    wrong("9.3", "matches-reference", lif_fires_on_old_potential),
    wrong("9.3", "constant-program-size", lif_python_loop),
    wrong("9.3", "constant-program-size", lif_jitted_python_loop),
    wrong("9.3", "matches-reference", lif_global_decay),
    wrong("9.3", "matches-reference", lif_float_spikes),
    wrong("9.3", "matches-reference", lif_stale_global_potential),
    wrong("9.3", "globals-unchanged", lif_stale_global_potential, label="lif_stale_global_potential_global"),
    right("9.3", lif_cond),
    right("9.3", lif_fori),
    right("9.3", lif_multiply_mask),
    wrong("9.1", "matches-reference", rnn_relu),
    wrong("9.1", "matches-reference", rnn_bias_after_tanh),
    wrong("9.1", "gradient", rnn_stops_gradient_through_time),
    wrong("9.1", "constant-program-size", rnn_unrolled_scan),
    right("9.1", rnn_checkpointed_step),
    right("9.1", rnn_transposed_products),
    wrong("9.2", "matches-reference", ema_nan_to_num),
    wrong("9.2", "matches-reference", ema_starts_at_mean),
    wrong("9.2", "matches-reference", ema_clipped_alpha),
    wrong("9.2", "matches-reference", ema_emits_previous),
    wrong("9.2", "jit-matches-eager", ema_python_branch_on_alpha),
    right("9.2", ema_while_loop),
    right("9.2", ema_fori_where),
    wrong("9.3", "matches-reference", lif_decays_after_input),
    wrong("9.3", "matches-reference", lif_clipped_at_zero),
    wrong("9.3", "matches-reference", lif_returns_potential_before_reset),
    wrong("9.3", "matches-reference", lif_int_spikes),
    right("9.3", lif_heaviside),
    right("9.3", lif_while),
    right("9.3", lif_python_float_start),
    wrong("9.3", "matches-reference", lif_float16_potential),
    wrong("9.3", "matches-reference", lif_spikes_on_abs),
    right("9.3", lif_reset_times_not_spike),
]


# Round 2: a jitted loop compiled once and kept in a module-level dict, "to compile only once":
# its trace froze the hyperparameters of the first call.
_EMA_COMPILED: dict = {}


def ema_compiled_once(xs, alpha):
    if "ema" not in _EMA_COMPILED:
        def run(xs):
            def step(y, x):
                y = alpha * x + (1 - alpha) * y
                return y, y

            return lax.scan(step, xs[0], xs)[1]

        _EMA_COMPILED["ema"] = jax.jit(run)
    return _EMA_COMPILED["ema"](xs)


_LIF_COMPILED: dict = {}


def lif_compiled_once(xs, decay, threshold):
    if "lif" not in _LIF_COMPILED:
        def run(xs):
            def step(v, x):
                v = decay * v + x
                spike = v > threshold
                return jnp.where(spike, 0.0, v), spike

            return lax.scan(step, jnp.float32(0.0), xs)

        _LIF_COMPILED["lif"] = jax.jit(run)
    return _LIF_COMPILED["lif"](xs)


CASES += [
    wrong("9.2", "matches-reference", ema_compiled_once),
    wrong("9.3", "matches-reference", lif_compiled_once),
]



# Round 3: a spike test with a tolerance, "because floats are never exactly equal": an input
# just above the threshold (0.5 + 2**-24 in the decay-0 case) must spike, and does not.


def lif_spikes_with_tolerance(xs, decay, threshold):
    def step(v, x):
        v = decay * v + x
        spike = v > threshold + 1e-6
        return jnp.where(spike, 0.0, v), spike

    return lax.scan(step, jnp.float32(0.0), xs)


def lif_spikes_unless_close(xs, decay, threshold):
    def step(v, x):
        v = decay * v + x
        spike = (v > threshold) & ~jnp.isclose(v, threshold)
        return jnp.where(spike, 0.0, v), spike

    return lax.scan(step, jnp.float32(0.0), xs)


CASES += [
    wrong("9.3", "matches-reference", lif_spikes_with_tolerance),
    wrong("9.3", "matches-reference", lif_spikes_unless_close),
]


# Round 4: shortcuts for the edge alphas, written with jnp.where or lax.cond so that they pass
# under jit: the text says a NaN makes every later y_t NaN, for alpha 0 and 1 as well
# (0 * NaN is NaN), and the alpha-0 and alpha-1 cases hold a NaN at index 2.


def ema_returns_xs_for_alpha_one(xs, alpha):
    return jnp.where(alpha == 1.0, xs, _ema_scan(xs, alpha))  # "alpha = 1 is just xs"


def ema_repeats_x0_for_alpha_zero(xs, alpha):
    return jnp.where(alpha == 0.0, jnp.full_like(xs, xs[0]), _ema_scan(xs, alpha))


def ema_cond_on_alpha_one(xs, alpha):
    return lax.cond(alpha == 1.0, lambda: xs, lambda: _ema_scan(xs, alpha))


def ema_optax_incremental_update(xs, alpha):
    # Right: optax.incremental_update(new, old, step_size) is step_size * new + (1 - step_size) * old.
    import optax

    return lax.scan(lambda y, x: (optax.incremental_update(x, y, alpha),) * 2, xs[0], xs)[1]


def ema_nan_mask_after_the_fact(xs, alpha):
    # Right: a scan over the NaN-free signal, then NaN from the first NaN on, as the text says.
    ys = _ema_scan(jnp.nan_to_num(xs), alpha)
    return jnp.where(jnp.cumsum(jnp.isnan(xs)) > 0, jnp.nan, ys)


CASES += [
    wrong("9.2", "matches-reference", ema_returns_xs_for_alpha_one),
    wrong("9.2", "matches-reference", ema_repeats_x0_for_alpha_zero),
    wrong("9.2", "matches-reference", ema_cond_on_alpha_one),
    right("9.2", ema_optax_incremental_update, needs=("optax",)),
    right("9.2", ema_nan_mask_after_the_fact),
]


# Round 4 (five learners): 9.1 and 9.3 from a NumPy veteran, a PyTorch user, a copier of
# chapter cells, a jit and cache enthusiast and a writer of one-liners; no escape.


def rnn_reversed_scan(params, h0, xs):
    # reverse=True "to get h_T last": the recurrence then runs from x_T back to x_1.
    return lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs, reverse=True)


def rnn_torch_convention(params, h0, xs):
    # PyTorch's W_hh @ h: with this task's (n_hidden, n_hidden) Wh it is h @ Wh.T.
    def step(h, x):
        h = jnp.tanh(x @ params["Wx"] + params["Wh"] @ h + params["b"])
        return h, h

    return lax.scan(step, h0, xs)


def rnn_no_recurrence_vmap(params, h0, xs):
    # Every step from h0, "in parallel": no state flows from step to step.
    hs = jax.vmap(lambda x: _cell(params, h0, x))(xs)
    return hs[-1], hs


def rnn_bfloat16(params, h0, xs):
    # "Mixed precision": the whole recurrence in bfloat16, cast back at the end.
    low = jax.tree.map(lambda a: a.astype(jnp.bfloat16), params)
    h, hs = lax.scan(lambda h, x: (_cell(low, h, x),) * 2, h0.astype(jnp.bfloat16), xs.astype(jnp.bfloat16))
    return h.astype(jnp.float32), hs.astype(jnp.float32)


def rnn_squeezed_states(params, h0, xs):
    h, hs = lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs)
    return h, jnp.squeeze(hs)  # a sequence of length 1 loses its time axis


@functools.lru_cache(maxsize=None)
def _compiled_rnn(length):
    return jax.jit(lambda params, h0, xs: lax.scan(lambda h, x: (_cell(params, h, x),) * 2, h0, xs))


def rnn_cached_jit_per_length(params, h0, xs):
    # Right: a cache keyed by a static length; the params stay arguments.
    return _compiled_rnn(xs.shape[0])(params, h0, xs)


def rnn_scan_over_indices(params, h0, xs):
    # Right: scan over time indices, reading xs[t] inside.
    def step(h, t):
        h = _cell(params, h, xs[t])
        return h, h

    return lax.scan(step, h0, jnp.arange(xs.shape[0]))


def rnn_scan_without_xs(params, h0, xs):
    # Right: xs=None with length=, a step counter in the carry.
    def step(carry, _):
        h, t = carry
        h = _cell(params, h, xs[t])
        return (h, t + 1), h

    (h, _), hs = lax.scan(step, (h0, 0), None, length=xs.shape[0])
    return h, hs


def rnn_fori_fully_unrolled(params, h0, xs):
    # fori_loop(unroll=True) with static bounds is a scan with unroll=True: one body in the
    # jaxpr, one copy per step in the compiled program.
    def body(t, carry):
        h, hs = carry
        h = _cell(params, h, xs[t])
        return h, hs.at[t].set(h)

    return lax.fori_loop(0, xs.shape[0], body, (h0, jnp.zeros((xs.shape[0],) + h0.shape, h0.dtype)), unroll=True)


def lif_reversed_scan(xs, decay, threshold):
    def step(v, x):
        v = decay * v + x
        return jnp.where(v > threshold, 0.0, v), v > threshold

    return lax.scan(step, jnp.float32(0.0), xs, reverse=True)


def lif_reset_one_step_late(xs, decay, threshold):
    # The spike is remembered and the reset applied at the start of the next step.
    def step(carry, x):
        v, spiked = carry
        v = decay * jnp.where(spiked, 0.0, v) + x
        return (v, v > threshold), v > threshold

    (v, _), spikes = lax.scan(step, (jnp.float32(0.0), False), xs)
    return v, spikes


def lif_bfloat16_potential(xs, decay, threshold):
    def step(v, x):
        v = (decay * v + x).astype(jnp.bfloat16)
        return jnp.where(v > threshold, jnp.bfloat16(0), v), v > threshold

    v, spikes = lax.scan(step, jnp.bfloat16(0), xs)
    return v.astype(jnp.float32), spikes


def lif_potential_as_vector(xs, decay, threshold):
    def step(v, x):
        v = decay * v + x
        return jnp.where(v > threshold, 0.0, v), (v > threshold)[0]

    return lax.scan(step, jnp.zeros(1, jnp.float32), xs)  # v_T of shape (1,), not a scalar


@functools.partial(jax.jit, static_argnums=(1, 2))
def lif_static_hyperparameters(xs, decay, threshold):
    # The text says decay and threshold are traced under jax.jit: hashing a tracer fails.
    return _lif(xs, decay, threshold)


def lif_decay_zero_shortcut(xs, decay, threshold):
    # Right: for decay = 0 the spikes are xs > threshold; the same values the scan gives.
    v, spikes = _lif(xs, decay, threshold)
    return v, jnp.where(decay == 0, xs > threshold, spikes)


def lif_carries_count_and_first_step(xs, decay, threshold):
    # Right: the first step unpeeled, the rest scanned with a spike count in the carry.
    v1 = xs[0]
    first = v1 > threshold

    def step(carry, x):
        v, count = carry
        v = decay * v + x
        spike = v > threshold
        return (jnp.where(spike, 0.0, v), count + spike), spike

    (v, _), rest = lax.scan(step, (jnp.where(first, 0.0, v1), first.astype(jnp.int32)), xs[1:])
    return v, jnp.concatenate([first[None], rest])


CASES += [
    wrong("9.1", "matches-reference", rnn_reversed_scan),
    wrong("9.1", "matches-reference", rnn_torch_convention),
    wrong("9.1", "matches-reference", rnn_no_recurrence_vmap),
    wrong("9.1", "matches-reference", rnn_bfloat16),
    wrong("9.1", "matches-reference", rnn_squeezed_states),
    right("9.1", rnn_cached_jit_per_length),
    right("9.1", rnn_scan_over_indices),
    right("9.1", rnn_scan_without_xs),
    wrong("9.1", "constant-program-size", rnn_fori_fully_unrolled),
    wrong("9.3", "matches-reference", lif_reversed_scan),
    wrong("9.3", "matches-reference", lif_reset_one_step_late),
    wrong("9.3", "matches-reference", lif_bfloat16_potential),
    wrong("9.3", "matches-reference", lif_potential_as_vector),
    wrong("9.3", "jit-matches-eager", lif_static_hyperparameters),
    right("9.3", lif_decay_zero_shortcut),
    right("9.3", lif_carries_count_and_first_step),
]

# Round 4: an O(T^2) closed form inside lax.map (a scan without a carry: each y_t from
# scratch), caught by the carries-state probe; Refs carried outside the scan's carry pass.


def ema_closed_form_lax_map(xs, alpha):
    steps = jnp.arange(xs.shape[0])

    def y_at(t):
        weights = jnp.where(steps == 0, (1 - alpha) ** t, alpha * (1 - alpha) ** jnp.maximum(t - steps, 0))
        return jnp.sum(jnp.where(steps <= t, weights * xs, 0.0))

    return lax.map(y_at, steps)


def ema_closed_form_lax_map_batched(xs, alpha):
    steps = jnp.arange(xs.shape[0])

    def y_at(t):
        weights = jnp.where(steps == 0, (1 - alpha) ** t, alpha * (1 - alpha) ** jnp.maximum(t - steps, 0))
        return jnp.sum(jnp.where(steps <= t, weights * xs, 0.0))

    return lax.map(y_at, steps, batch_size=4)


def ema_ref_in_carryless_scan(xs, alpha):
    # Right: the average lives in a Ref the scan body reads and writes; the scan's carry is None.
    average = jax.new_ref(xs[0])

    def step(carry, x):
        average[...] = alpha * x + (1 - alpha) * average[...]
        return carry, average[...]

    return lax.scan(step, None, xs)[1]


def ema_fori_into_ref(xs, alpha):
    # Right: fori_loop writing each y_t into a Ref that starts as a copy of xs.
    ys = jax.new_ref(xs)

    def body(t, carry):
        ys[t] = alpha * xs[t] + (1 - alpha) * ys[t - 1]
        return carry

    lax.fori_loop(1, xs.shape[0], body, None)
    return ys[...]


CASES += [
    wrong("9.2", "carries-state", ema_closed_form_lax_map),
    wrong("9.2", "carries-state", ema_closed_form_lax_map_batched),
    right("9.2", ema_ref_in_carryless_scan),
    right("9.2", ema_fori_into_ref),
]

def ema_frompyfunc_accumulate(xs, alpha):
    # A one-liner: the ufunc's accumulate is a scan that carries y. jax.jit caches the ufunc
    # (a static argument) with its lambda's closure over alpha, a tracer under jax.jit: the
    # leak checker finds it (the text says no tracer may outlive the trace, in a cache either).
    return jnp.frompyfunc(lambda y, x: alpha * x + (1 - alpha) * y, 2, 1).accumulate(xs)


CASES += [wrong("9.2", "no-leaked-tracers", ema_frompyfunc_accumulate)]

test_known_answer = parametrize(CASES)
