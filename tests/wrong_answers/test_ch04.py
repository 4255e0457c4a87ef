"""Chapter 4 · Broken gradients: realistic wrong answers, and alternative right ones."""

from __future__ import annotations

import collections
import functools

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# 4.1 mse_loss(params, x, y) ---------------------------------------------------------

b = 0.0  # a notebook global left over from an earlier cell
w = 1.0
_loss_history = []  # "to plot the training curve"
_debug_errors = collections.deque(maxlen=1)  # "the last errors, for a quick look"


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


def mse_loss_stop_gradient_b(params, x, y):
    bias = jax.lax.stop_gradient(params["b"])  # "the intercept is fitted separately"
    return jnp.mean((params["w"] * x + bias - y) ** 2)


def mse_loss_sum(params, x, y):
    return jnp.sum((params["w"] * x + params["b"] - y) ** 2)


def mse_loss_divides_by_five(params, x, y):
    return jnp.sum((params["w"] * x + params["b"] - y) ** 2) / 5  # the example had 5 points


def mse_loss_float16(params, x, y):
    errors = (params["w"] * x + params["b"] - y).astype(jnp.float16)  # "halves the memory"
    return jnp.mean(errors**2)


def mse_loss_pops_params(params, x, y):
    w, b = params.pop("w"), params.pop("b")  # empties the caller's dict
    return jnp.mean((w * x + b - y) ** 2)


def mse_loss_logs_history(params, x, y):
    value = jnp.mean((params["w"] * x + params["b"] - y) ** 2)
    _loss_history.append(value)
    return value


def mse_loss_counts_calls(params, x, y):
    mse_loss_counts_calls.calls = getattr(mse_loss_counts_calls, "calls", 0) + 1
    return jnp.mean((params["w"] * x + params["b"] - y) ** 2)


def mse_loss_keeps_errors(params, x, y):
    errors = params["w"] * x + params["b"] - y
    _debug_errors.append(errors)  # under jit or grad: a tracer outlives its trace
    return jnp.mean(errors**2)


def mse_loss_numpy_mean(params, x, y):
    # np.mean on a JAX array (or tracer) calls the array's own .mean method.
    return np.mean((params["w"] * x + params["b"] - y) ** 2)


def mse_loss_dot(params, x, y):
    errors = params["w"] * x + params["b"] - y
    return jnp.dot(errors, errors) / errors.size


def mse_loss_len(params, x, y):
    total = 0.0
    for name, value in (("w", x), ("b", 1.0)):
        total = total + params[name] * value
    return jnp.sum(jnp.square(y - total)) / len(x)


def mse_loss_average(params, x, y):
    return jnp.average(jnp.square(jnp.polyval(jnp.stack([params["w"], params["b"]]), x) - y))


# 4.2 set_row(m, i, row) ----------------------------------------------------------------

_row_log = []
_last_update = collections.deque(maxlen=1)


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


def set_row_fixed_mask(m, i, row):
    is_row_i = (jnp.arange(4) == i)[:, None]  # the example matrix had 4 rows
    return jnp.where(is_row_i, jnp.asarray(row)[None, :], jnp.asarray(m))


def set_row_mask_no_negative(m, i, row):
    m = jnp.asarray(m)
    is_row_i = (jnp.arange(m.shape[0]) == i)[:, None]  # no row equals -1
    return jnp.where(is_row_i, jnp.asarray(row)[None, :], m)


def set_row_concatenate_no_negative(m, i, row):
    m = jnp.asarray(m)
    return jnp.concatenate([m[:i], jnp.asarray(row)[None, :], m[i + 1:]])  # m[0:] when i = -1


def set_row_float16(m, i, row):
    return jnp.asarray(m).at[i].set(row).astype(jnp.float16)  # "half the memory"


def set_row_logs(m, i, row):
    _row_log.append(i)  # "which rows were replaced"
    return jnp.asarray(m).at[i].set(row)


def set_row_keeps_last(m, i, row):
    updated = jnp.asarray(m).at[i].set(row)
    _last_update.append(updated)  # under jit: a tracer outlives its trace
    return updated


class _EditLog:
    def __init__(self):
        self.rows = {"replaced": []}


edit_log = _EditLog()  # an object reachable from a global, holding a dict of lists


def set_row_logs_in_object(m, i, row):
    edit_log.rows["replaced"].append(i)
    return jnp.asarray(m).at[i].set(row)


def set_row_where(m, i, row):
    m = jnp.asarray(m)
    is_row_i = (jnp.arange(m.shape[0]) == i % m.shape[0])[:, None]
    return jnp.where(is_row_i, jnp.asarray(row)[None, :], m)


def set_row_concatenate(m, i, row):
    m = jnp.asarray(m)
    i = i % m.shape[0]
    return jnp.concatenate([m[:i], jnp.asarray(row)[None, :], m[i + 1:]])


def set_row_dynamic_update_slice(m, i, row):
    m = jnp.asarray(m)
    start = i + m.shape[0] if i < 0 else i
    return jax.lax.dynamic_update_slice(m, jnp.asarray(row, m.dtype)[None, :], (start, 0))


def set_row_dynamic_update_slice_negative(m, i, row):
    m = jnp.asarray(m)  # dynamic_update_slice counts a negative start from the end, as NumPy does
    return jax.lax.dynamic_update_slice(m, jnp.asarray(row, m.dtype)[None, :], (i, 0))


def set_row_two_indices(m, i, row):
    return jnp.array(m).at[i, :].set(jnp.asarray(row))


# 4.3 loss_with_aux(params, x, y) ----------------------------------------------------------

_logged_predictions = []
_predictions_for_plot = collections.deque(maxlen=3)


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


def loss_with_aux_deque(params, x, y):
    preds = params["w"] * x + params["b"]
    _predictions_for_plot.append(preds)  # a deque "so that it cannot grow"
    return jnp.mean((preds - y) ** 2), preds


def loss_with_aux_counts_calls(params, x, y):
    loss_with_aux_counts_calls.calls = getattr(loss_with_aux_counts_calls, "calls", 0) + 1
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), preds


def loss_with_aux_loss_twice(params, x, y):
    preds = params["w"] * x + params["b"]
    loss = jnp.mean((preds - y) ** 2)
    return loss, loss


def loss_with_aux_numpy_preds(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), np.asarray(preds)  # "aux is for logging"


def loss_with_aux_divides_by_five(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.sum((preds - y) ** 2) / 5, preds


def loss_with_aux_float16_preds(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), preds.astype(jnp.float16)  # "aux is only for plots"


def loss_with_aux_dict(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), {"preds": preds}  # the chapter returned a dict


def loss_with_aux_detached_preds(params, x, y):
    preds = jax.lax.stop_gradient(params["w"] * x + params["b"])  # "aux must not be differentiated"
    return jnp.mean((preds - y) ** 2), preds


def loss_with_aux_metrics_first(params, x, y):
    preds = params["w"] * x + params["b"]
    residuals = preds - y
    return jnp.mean(jnp.square(residuals)), preds


def loss_with_aux_list(params, x, y):
    preds = params["w"] * x + params["b"]
    return [jnp.mean((preds - y) ** 2), preds]


def loss_with_aux_stop_gradient_aux(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), jax.lax.stop_gradient(preds)


# 4.4 train_step(params, x, y, lr) --------------------------------------------------------

c = jnp.float32(0.0)  # the offset of the first plot, as in the exercise's buggy code
_last_grads = collections.deque(maxlen=1)

# The cached answers are built by factories: each known answer gets a cache of its own, so
# that one test's filled cache does not change what the next one sees.


def make_train_step_as_given():
    feature_cache = {}

    def quadratic(params, x):
        if "x2" not in feature_cache:  # x ** 2 computed once, "for speed"
            feature_cache["x2"] = x**2
        return params["a"] * feature_cache["x2"] + params["b"] * x + c

    def train_step_as_given(params, x, y, lr):
        def loss_fn(p):
            return jnp.mean((quadratic(p, x) - y) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return {name: params[name] - lr * grads[name] for name in params}, loss

    return train_step_as_given


def train_step_global_c(params, x, y, lr):  # the cache is gone, the global offset is not
    def loss_fn(p):
        return jnp.mean((p["a"] * x**2 + p["b"] * x + c - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def make_train_step_cache_kept():
    feature_cache = {}

    def train_step_cache_kept(params, x, y, lr):  # the offset is fixed, the cache is not
        def loss_fn(p):
            if "x2" not in feature_cache:
                feature_cache["x2"] = x**2
            return jnp.mean((p["a"] * feature_cache["x2"] + p["b"] * x + p["c"] - y) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return {name: params[name] - lr * grads[name] for name in params}, loss

    return train_step_cache_kept


def make_train_step_cache_by_shape():
    features_by_shape = {}

    def train_step_cache_by_shape(params, x, y, lr):  # "a new shape is a new batch"
        def loss_fn(p):
            if x.shape not in features_by_shape:
                features_by_shape[x.shape] = np.asarray(x) ** 2
            return jnp.mean((p["a"] * features_by_shape[x.shape] + p["b"] * x + p["c"] - y) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return {name: params[name] - lr * grads[name] for name in params}, loss

    return train_step_cache_by_shape


def train_step_closes_over_params(params, x, y, lr):
    def loss_fn(p):
        return jnp.mean((params["a"] * x**2 + params["b"] * x + params["c"] - y) ** 2)  # `params`, not `p`

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def train_step_detached_offset(params, x, y, lr):
    def loss_fn(p):
        offset = jax.lax.stop_gradient(p["c"])  # "the offset is only a constant"
        return jnp.mean((p["a"] * x**2 + p["b"] * x + offset - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def train_step_in_place(params, x, y, lr):
    def loss_fn(p):
        return jnp.mean((p["a"] * x**2 + p["b"] * x + p["c"] - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    for name in params:
        params[name] = params[name] - lr * grads[name]  # updates the caller's dict
    return params, loss


def train_step_loss_after(params, x, y, lr):
    def loss_fn(p):
        return jnp.mean((p["a"] * x**2 + p["b"] * x + p["c"] - y) ** 2)

    grads = jax.grad(loss_fn)(params)
    new_params = {name: params[name] - lr * grads[name] for name in params}
    return new_params, loss_fn(new_params)  # the loss after the step, not before


def train_step_divides_by_six(params, x, y, lr):
    def loss_fn(p):
        return jnp.sum((p["a"] * x**2 + p["b"] * x + p["c"] - y) ** 2) / 6  # the first batch had 6

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def train_step_float16(params, x, y, lr):
    def loss_fn(p):
        return jnp.mean((p["a"] * x**2 + p["b"] * x + p["c"] - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: (params[name] - lr * grads[name]).astype(jnp.float16) for name in params}, loss


def train_step_keeps_grads(params, x, y, lr):
    def loss_fn(p):
        return jnp.mean((p["a"] * x**2 + p["b"] * x + p["c"] - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    _last_grads.append(grads)  # "to inspect the gradients later"
    return {name: params[name] - lr * grads[name] for name in params}, loss


def train_step_tree_map(params, x, y, lr):
    def loss_fn(p, x, y):
        predictions = p["a"] * jnp.square(x) + p["b"] * x + p["c"]
        return jnp.mean(jnp.square(predictions - y))

    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def train_step_polyval(params, x, y, lr):
    def loss_fn(p):
        predictions = jnp.polyval(jnp.stack([p["a"], p["b"], p["c"]]), x)
        return jnp.mean((predictions - y) ** 2)

    grads = jax.grad(loss_fn)(params)
    new_params = dict(params)
    for name, g in grads.items():
        new_params[name] = params[name] - lr * g
    return new_params, loss_fn(params)


# Found by an adversarial pass (answers written from the task text alone) ---------------------


def mse_loss_unpacks_values(params, x, y):
    w, b = params.values()  # jax.grad hands over the dict with its keys sorted: b, w
    return jnp.mean((w * x + b - y) ** 2)


def mse_loss_variance(params, x, y):
    return jnp.var(params["w"] * x + params["b"] - y)  # the mean residual is not 0


def mse_loss_vdot(params, x, y):
    residuals = jnp.subtract(jnp.add(jnp.multiply(params["w"], x), params["b"]), y)
    return jnp.vdot(residuals, residuals) / jnp.size(residuals)


def mse_loss_sorted_values(params, x, y):
    b, w = dict(sorted(params.items())).values()
    return ((jnp.polyval(jnp.array([w, b]), x) - y) ** 2).sum() / x.shape[0]


def set_row_in_place_if_numpy(m, i, row):
    if isinstance(m, np.ndarray):  # "NumPy arrays can be assigned into"
        m[i] = row
        return jnp.asarray(m)
    return m.at[i].set(row)


def set_row_clamped_start(m, i, row):
    m = jnp.asarray(m)  # "a negative start is clamped to 0, so start at max(i, 0)"
    return jax.lax.dynamic_update_slice(m, jnp.asarray(row)[None], (jnp.maximum(i, 0), 0))


def set_row_concatenate_rest(m, i, row):
    m = jnp.asarray(m)  # m[i:][1:] is every row after row i, for a negative i too
    return jnp.concatenate([m[:i], jnp.asarray(row)[None], m[i:][1:]])


def set_row_update_index(m, i, row):
    return jax.lax.dynamic_update_index_in_dim(jnp.asarray(m), jnp.asarray(row), i % np.shape(m)[0], 0)


def set_row_stack(m, i, row):
    m = jnp.asarray(m)
    i = i + m.shape[0] if i < 0 else i
    return jnp.stack([row if k == i else m[k] for k in range(m.shape[0])])


_latest_predictions = None


def loss_with_aux_global_latest(params, x, y):
    global _latest_predictions
    preds = params["w"] * x + params["b"]
    _latest_predictions = preds  # "the last predictions, for the plot"
    return jnp.mean((preds - y) ** 2), preds


def loss_with_aux_residuals(params, x, y):
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), preds - y  # the residuals, not the predictions


def loss_with_aux_inner_loss(params, x, y):
    def mse(p):
        return jnp.mean((p["w"] * x + p["b"] - y) ** 2)

    return mse(params), params["w"] * x + params["b"]


def _quadratic_loss(p, x, y):
    return jnp.mean((p["a"] * x**2 + p["b"] * x + p["c"] - y) ** 2)


def train_step_zips_values(params, x, y, lr):
    loss, grads = jax.value_and_grad(_quadratic_loss)(params, x, y)
    # grads has its keys sorted; params keeps the caller's order
    return {name: value - lr * g for (name, value), g in zip(params.items(), grads.values())}, loss


def train_step_unpacks_values(params, x, y, lr):
    a, b, c = params.values()  # the caller's key order, not necessarily a, b, c
    loss = jnp.mean((a * x**2 + b * x + c - y) ** 2)
    grads = jax.grad(_quadratic_loss)(params, x, y)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def train_step_python_floats(params, x, y, lr):
    loss, grads = jax.value_and_grad(_quadratic_loss)(params, x, y)
    return {name: float(params[name] - lr * grads[name]) for name in params}, loss  # "plain numbers"


def train_step_by_hand(params, x, y, lr):
    a, b, c = params["a"], params["b"], params["c"]
    residuals = a * x**2 + b * x + c - y
    grads = {"a": 2 * jnp.mean(residuals * x**2), "b": 2 * jnp.mean(residuals * x), "c": 2 * jnp.mean(residuals)}
    return {name: params[name] - lr * grads[name] for name in ("a", "b", "c")}, jnp.mean(residuals**2)


def train_step_argnums(params, x, y, lr):
    names = sorted(params)

    def loss_fn(a, b, c):
        return jnp.mean((a * jnp.square(x) + b * x + c - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn, argnums=(0, 1, 2))(*(params[n] for n in names))
    return {n: params[n] - lr * g for n, g in zip(names, grads)}, loss


_logged_losses = []


def mse_loss_callback_log(params, x, y):
    loss = jnp.mean((params["w"] * x + params["b"] - y) ** 2)
    jax.debug.callback(lambda value: _logged_losses.append(float(value)), loss)  # "works under jit"
    return loss


@jax.jit
def set_row_jitted(m, i, row):
    return jnp.asarray(m).at[i].set(row)

CASES = [
    wrong("4.1", "gradient", mse_loss_reads_global_b),
    wrong("4.1", "gradient", mse_loss_reads_global_w),
    wrong("4.1", "gradient", mse_loss_numpy_conversion),
    wrong("4.1", "gradient", mse_loss_numpy_ufunc),
    wrong("4.1", "gradient", mse_loss_returns_float),
    wrong("4.1", "gradient", mse_loss_stop_gradient_b),
    wrong("4.1", "matches-reference", mse_loss_sum),
    wrong("4.1", "matches-reference", mse_loss_divides_by_five),
    wrong("4.1", "matches-reference", mse_loss_float16),
    wrong("4.1", "inputs-unchanged", mse_loss_pops_params),
    wrong("4.1", "globals-unchanged", mse_loss_logs_history),
    wrong("4.1", "globals-unchanged", mse_loss_counts_calls),
    wrong("4.1", "no-leaked-tracers", mse_loss_keeps_errors),
    right("4.1", mse_loss_numpy_mean),
    right("4.1", mse_loss_dot),
    right("4.1", mse_loss_len),
    right("4.1", mse_loss_average),
    wrong("4.2", "inputs-unchanged", set_row_assigns_in_place),
    wrong("4.2", "gradient", set_row_numpy_copy),
    wrong("4.2", "jit-matches-eager", set_row_numpy_copy, label="set_row_numpy_copy_jit"),
    wrong("4.2", "matches-reference", set_row_adds),
    wrong("4.2", "matches-reference", set_row_discards_update),
    wrong("4.2", "gradient", set_row_stop_gradient),
    wrong("4.2", "matches-reference", set_row_fixed_mask),
    wrong("4.2", "matches-reference", set_row_mask_no_negative),
    wrong("4.2", "matches-reference", set_row_concatenate_no_negative),
    wrong("4.2", "matches-reference", set_row_float16),
    wrong("4.2", "globals-unchanged", set_row_logs),
    wrong("4.2", "globals-unchanged", set_row_logs_in_object),
    wrong("4.2", "no-leaked-tracers", set_row_keeps_last),
    right("4.2", set_row_where),
    right("4.2", set_row_concatenate),
    right("4.2", set_row_dynamic_update_slice),
    right("4.2", set_row_two_indices),
    right("4.2", set_row_dynamic_update_slice_negative),
    wrong("4.3", "gradient", loss_with_aux_swapped),
    wrong("4.3", "globals-unchanged", loss_with_aux_stashes_preds),
    wrong("4.3", "globals-unchanged", loss_with_aux_stashes_and_returns),
    wrong("4.3", "no-leaked-tracers", loss_with_aux_deque),
    wrong("4.3", "globals-unchanged", loss_with_aux_counts_calls),
    wrong("4.3", "matches-reference", loss_with_aux_loss_twice),
    wrong("4.3", "gradient", loss_with_aux_numpy_preds),
    wrong("4.3", "matches-reference", loss_with_aux_divides_by_five),
    wrong("4.3", "matches-reference", loss_with_aux_float16_preds),
    wrong("4.3", "matches-reference", loss_with_aux_dict),
    wrong("4.3", "gradient", loss_with_aux_detached_preds),
    right("4.3", loss_with_aux_metrics_first),
    right("4.3", loss_with_aux_list),
    right("4.3", loss_with_aux_stop_gradient_aux),
    wrong("4.4", "every-parameter-trains", make_train_step_as_given()),
    wrong("4.4", "globals-unchanged", make_train_step_as_given(), label="train_step_as_given_cache"),
    wrong("4.4", "every-parameter-trains", train_step_global_c),
    wrong("4.4", "globals-unchanged", make_train_step_cache_kept()),
    wrong("4.4", "matches-reference", make_train_step_cache_kept(), label="train_step_cache_kept_values"),
    wrong("4.4", "matches-reference", make_train_step_cache_by_shape()),
    wrong("4.4", "every-parameter-trains", train_step_closes_over_params),
    wrong("4.4", "every-parameter-trains", train_step_detached_offset),
    wrong("4.4", "inputs-unchanged", train_step_in_place),
    wrong("4.4", "matches-reference", train_step_loss_after),
    wrong("4.4", "matches-reference", train_step_divides_by_six),
    wrong("4.4", "matches-reference", train_step_float16),
    wrong("4.4", "no-leaked-tracers", train_step_keeps_grads),
    right("4.4", train_step_tree_map),
    right("4.4", train_step_polyval),
    wrong("4.1", "gradient", mse_loss_unpacks_values),
    wrong("4.1", "matches-reference", mse_loss_variance),
    right("4.1", mse_loss_vdot),
    right("4.1", mse_loss_sorted_values),
    wrong("4.2", "inputs-unchanged", set_row_in_place_if_numpy),
    wrong("4.2", "matches-reference", set_row_clamped_start),
    right("4.2", set_row_concatenate_rest),
    right("4.2", set_row_update_index),
    right("4.2", set_row_stack),
    wrong("4.3", "globals-unchanged", loss_with_aux_global_latest),
    wrong("4.3", "matches-reference", loss_with_aux_residuals),
    right("4.3", loss_with_aux_inner_loss),
    wrong("4.4", "matches-reference", train_step_zips_values),
    wrong("4.4", "matches-reference", train_step_unpacks_values),
    wrong("4.4", "jit-matches-eager", train_step_python_floats),
    right("4.4", train_step_by_hand),
    right("4.4", train_step_argnums),
    wrong("4.1", "globals-unchanged", mse_loss_callback_log),
    right("4.2", set_row_jitted),
]

# Round 3 ------------------------------------------------------------------------------


def set_row_numpy_stays_numpy(m, i, row):
    if isinstance(m, np.ndarray):  # a copy, so the caller's array is safe, but a NumPy result
        updated = m.copy()
        updated[i] = np.asarray(row)
        return updated
    return m.at[i].set(row)


def set_row_lax_index_in_dim(m, i, row):
    return jax.lax.dynamic_update_index_in_dim(jnp.asarray(m), row, i, 0)


def set_row_add_difference(m, i, row):
    m = jnp.asarray(m)
    # the gradient for the old row i cancels, as for set, but the value does not: a NaN in the
    # old row stays NaN, and 1e8 + (0.1 - 1e8) is 0.0 in float32
    return m.at[i].add(row - m[i])


@functools.partial(jax.jit, static_argnums=1, donate_argnums=0)
def _set_row_in_donated_buffer(m, i, row):
    return m.at[i].set(row)


def set_row_donates(m, i, row):
    # "update in place, no copy": jnp.asarray of a JAX array is that array, now deleted
    return _set_row_in_donated_buffer(jnp.asarray(m), i, row)


@functools.partial(jax.jit, donate_argnums=0)
def train_step_donates_params(params, x, y, lr):
    loss, grads = jax.value_and_grad(_quadratic_loss)(params, x, y)
    return {name: params[name] - lr * grads[name] for name in params}, loss


CASES += [
    wrong("4.2", "returns-jax-array", set_row_numpy_stays_numpy),
    wrong("4.2", "inputs-unchanged", set_row_donates),
    wrong("4.4", "inputs-unchanged", train_step_donates_params),
    right("4.2", set_row_lax_index_in_dim),
    wrong("4.2", "matches-reference", set_row_add_difference),  # NaN in the old row stays NaN
]

# Round 4 ------------------------------------------------------------------------------


def set_row_blend(m, i, row):
    m = jnp.asarray(m)
    mask = (jnp.arange(m.shape[0]) == i % m.shape[0])[:, None]
    return m * (1 - mask) + row * mask  # 0 * NaN is NaN: the old row leaks through


def set_row_zero_then_add(m, i, row):
    return jnp.asarray(m).at[i].multiply(0.0).at[i].add(row)  # "zero the row, add the new one"


def set_row_scatter_indices(m, i, row):
    return jnp.asarray(m).at[jnp.array([i])].set(jnp.asarray(row)[None])


def set_row_restack(m, i, row):
    rows = list(jnp.asarray(m))
    rows[i] = jnp.asarray(row)
    return jnp.stack(rows)


def set_row_dynamic_update_slice_in_dim(m, i, row):
    m = jnp.asarray(m)
    return jax.lax.dynamic_update_slice_in_dim(m, jnp.asarray(row)[None], i % m.shape[0], axis=0)


@functools.partial(jax.jit, static_argnums=3)  # "lr is a Python float: hashable, so static"
def train_step_static_lr(params, x, y, lr):
    loss, grads = jax.value_and_grad(_quadratic_loss)(params, x, y)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def train_step_stacked_parameters(params, x, y, lr):
    names = list(params)
    theta = jnp.stack([params[name] for name in names])

    def loss_fn(t):
        return _quadratic_loss(dict(zip(names, t)), x, y)

    loss, grad = jax.value_and_grad(loss_fn)(theta)
    updated = theta - lr * grad
    return {name: updated[k] for k, name in enumerate(names)}, loss


def train_step_vander(params, x, y, lr):
    features = jnp.vander(x, 3)  # x**2, x, 1: computed on every call

    def loss_fn(p):
        return jnp.mean((features @ jnp.stack([p["a"], p["b"], p["c"]]) - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def mse_loss_squared_norm(params, x, y):
    return jnp.linalg.norm(params["w"] * x + params["b"] - y) ** 2 / x.size


def mse_loss_sorted_leaves(params, x, y):
    b, w = jax.tree.leaves(params)  # leaves come in sorted key order: b, then w
    return jnp.mean((w * x + b - y) ** 2)


def mse_loss_enables_x64(params, x, y):
    jax.config.update("jax_enable_x64", True)  # "a precise loss": every later array is 64-bit
    return jnp.mean((params["w"] * x + params["b"] - y) ** 2)


CASES += [
    wrong("4.1", "globals-unchanged", mse_loss_enables_x64),
    wrong("4.2", "matches-reference", set_row_blend),
    wrong("4.2", "matches-reference", set_row_zero_then_add),
    right("4.2", set_row_scatter_indices),
    right("4.2", set_row_restack),
    right("4.2", set_row_dynamic_update_slice_in_dim),
    wrong("4.4", "jit-matches-eager", train_step_static_lr),
    right("4.4", train_step_stacked_parameters),
    right("4.4", train_step_vander),
    right("4.1", mse_loss_squared_norm),
    right("4.1", mse_loss_sorted_leaves),
]

test_known_answer = parametrize(CASES)
