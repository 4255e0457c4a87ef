"""Chapter 4 · Broken gradients: realistic wrong answers, and alternative right ones."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# 4.1 mse_loss(params, x, y) ---------------------------------------------------------

b = 0.0  # a notebook global left over from an earlier cell
w = 1.0


def mse_loss_reads_global_b(params, x, y):
    return jnp.mean((params["w"] * x + b - y) ** 2)


def mse_loss_reads_global_w(params, x, y):
    return jnp.mean((w * x + params["b"] - y) ** 2)


def mse_loss_numpy_conversion(params, x, y):
    errors = np.asarray(params["w"] * x + params["b"] - y)  # "to use NumPy's helpers"
    return jnp.mean(errors**2)


def mse_loss_numpy_ufunc(params, x, y):
    return np.mean(np.square(params["w"] * x + params["b"] - y))


def mse_loss_returns_float(params, x, y):
    return float(jnp.mean((params["w"] * x + params["b"] - y) ** 2))


def mse_loss_sum(params, x, y):
    return jnp.sum((params["w"] * x + params["b"] - y) ** 2)


def mse_loss_numpy_mean(params, x, y):
    # np.mean on a JAX array (or tracer) calls the array's own .mean method.
    return np.mean((params["w"] * x + params["b"] - y) ** 2)


def mse_loss_dot(params, x, y):
    errors = params["w"] * x + params["b"] - y
    return jnp.dot(errors, errors) / errors.size


# 4.2 set_row(m, i, row) ----------------------------------------------------------------


def set_row_assigns_in_place(m, i, row):
    m[i] = row  # works on a NumPy array, by changing the caller's array
    return m


def set_row_numpy_copy(m, i, row):
    copy = np.array(m)
    copy[i] = row
    return jnp.asarray(copy)


def set_row_adds(m, i, row):
    return jnp.asarray(m).at[i].add(row)


def set_row_discards_update(m, i, row):
    m = jnp.asarray(m)
    m.at[i].set(row)  # the new array is thrown away
    return m


def set_row_stop_gradient(m, i, row):
    # "the row is data, not a parameter"
    return jnp.asarray(m).at[i].set(jax.lax.stop_gradient(row))


def set_row_where(m, i, row):
    m = jnp.asarray(m)
    is_row_i = (jnp.arange(m.shape[0]) == i)[:, None]
    return jnp.where(is_row_i, jnp.asarray(row)[None, :], m)


def set_row_concatenate(m, i, row):
    m = jnp.asarray(m)
    return jnp.concatenate([m[:i], jnp.asarray(row)[None, :], m[i + 1:]])


def set_row_dynamic_update_slice(m, i, row):
    m = jnp.asarray(m)
    return jax.lax.dynamic_update_slice(m, jnp.asarray(row, m.dtype)[None, :], (i, 0))


# 4.3 loss_with_aux(params, x, y) ----------------------------------------------------------

_logged_predictions = []


def loss_with_aux_swapped(params, x, y):
    preds = params["w"] * x + params["b"]
    return preds, jnp.mean((preds - y) ** 2)


def loss_with_aux_stashes_preds(params, x, y):
    preds = params["w"] * x + params["b"]
    _logged_predictions.append(preds)  # "for plotting later"
    return jnp.mean((preds - y) ** 2)


def loss_with_aux_stashes_and_returns(params, x, y):
    preds = params["w"] * x + params["b"]
    _logged_predictions.append(preds)
    return jnp.mean((preds - y) ** 2), preds


def loss_with_aux_loss_twice(params, x, y):
    preds = params["w"] * x + params["b"]
    loss = jnp.mean((preds - y) ** 2)
    return loss, loss


def loss_with_aux_numpy_preds(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), np.asarray(preds)  # "aux is for logging"


def loss_with_aux_metrics_first(params, x, y):
    preds = params["w"] * x + params["b"]
    residuals = preds - y
    return jnp.mean(jnp.square(residuals)), preds


def loss_with_aux_list(params, x, y):
    preds = params["w"] * x + params["b"]
    return [jnp.mean((preds - y) ** 2), preds]


CASES = [
    wrong("4.1", "gradient", mse_loss_reads_global_b),
    wrong("4.1", "gradient", mse_loss_reads_global_w),
    wrong("4.1", "gradient", mse_loss_numpy_conversion),
    wrong("4.1", "gradient", mse_loss_numpy_ufunc),
    wrong("4.1", "gradient", mse_loss_returns_float),
    wrong("4.1", "matches-reference", mse_loss_sum),
    right("4.1", mse_loss_numpy_mean),
    right("4.1", mse_loss_dot),
    wrong("4.2", "inputs-unchanged", set_row_assigns_in_place),
    wrong("4.2", "gradient", set_row_numpy_copy),
    wrong("4.2", "jit-matches-eager", set_row_numpy_copy, label="set_row_numpy_copy_jit"),
    wrong("4.2", "matches-reference", set_row_adds),
    wrong("4.2", "matches-reference", set_row_discards_update),
    wrong("4.2", "gradient", set_row_stop_gradient),
    right("4.2", set_row_where),
    right("4.2", set_row_concatenate),
    right("4.2", set_row_dynamic_update_slice),
    wrong("4.3", "gradient", loss_with_aux_swapped),
    wrong("4.3", "globals-unchanged", loss_with_aux_stashes_preds),
    wrong("4.3", "globals-unchanged", loss_with_aux_stashes_and_returns),
    wrong("4.3", "matches-reference", loss_with_aux_loss_twice),
    wrong("4.3", "gradient", loss_with_aux_numpy_preds),
    right("4.3", loss_with_aux_metrics_first),
    right("4.3", loss_with_aux_list),
]

test_known_answer = parametrize(CASES)
