"""Known answers for chapter 9 · State through loops."""

from __future__ import annotations

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
    right("9.2", ema_fori_buffer),
]

test_known_answer = parametrize(CASES)
