"""Chapter 13 · Capstone: known answers to 13.1 and 13.2."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from tests.wrong_answers.helpers import parametrize, right, wrong

# 13.1 · make_train_step(loss_fn, optimizer) ---------------------------------------------


def _step_body(loss_fn, optimizer, state, batch, *, dropout_key=None, stats_out=True, step_dtype=None,
               advance=True, key_out=None):
    """The right step, with one of the wrong turns a learner takes switched on."""
    x, y = batch
    if dropout_key is None:
        dropout_key = jax.random.fold_in(state["key"], state["step"])
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state["params"], state["stats"], dropout_key, x, y
    )
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    params = jax.tree.map(jnp.add, state["params"], updates)
    step = state["step"] + 1 if advance else state["step"]
    if step_dtype is not None:
        step = step.astype(step_dtype)
    return {
        "params": params,
        "stats": stats if stats_out else state["stats"],
        "opt_state": opt_state,
        "key": state["key"] if key_out is None else key_out,
        "step": step,
    }, loss


def make_train_step_key_as_dropout_key(loss_fn, optimizer):  # the state's key consumed at every step
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch, dropout_key=state["key"])

    return train_step


def make_train_step_splits_key(loss_fn, optimizer):  # a new key each step: not the specified fold_in
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        key, dropout_key = jax.random.split(state["key"])
        return _step_body(loss_fn, optimizer, state, batch, dropout_key=dropout_key, key_out=key)

    return train_step


def make_train_step_not_jitted(loss_fn, optimizer):  # right numbers, one operation at a time
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch)

    return train_step


def make_train_step_not_donated(loss_fn, optimizer):
    @jax.jit
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch)

    return train_step


def make_train_step_donates_batch(loss_fn, optimizer):  # donates the wrong argument
    @functools.partial(jax.jit, donate_argnums=1)
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch)

    return train_step


def make_train_step_drops_stats(loss_fn, optimizer):  # has_aux's statistics thrown away
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch, stats_out=False)

    return train_step


def make_train_step_step_not_advanced(loss_fn, optimizer):  # same dropout mask at every step
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch, advance=False)

    return train_step


def make_train_step_int8_step(loss_fn, optimizer):  # "a small counter": wraps after 127 steps
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch, step_dtype=jnp.int8)

    return train_step


def make_train_step_python_step(loss_fn, optimizer):  # the step number as a static Python int
    @functools.partial(jax.jit, donate_argnums=0, static_argnums=2)
    def inner(state, batch, step):
        state = {**state, "step": jnp.int32(step)}
        return _step_body(loss_fn, optimizer, state, batch)

    @functools.wraps(inner)
    def train_step(state, batch):
        return inner(state, batch, int(state["step"]))

    train_step._cache_size = inner._cache_size  # it is "a jit function", as far as it can tell
    return train_step


LOSS_LOG = []


def make_train_step_logs_losses(loss_fn, optimizer):  # a tracer kept in a global list
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        new_state, loss = _step_body(loss_fn, optimizer, state, batch)
        LOSS_LOG.append(loss)
        return new_state, loss

    return train_step


def make_train_step_counts_on_attribute(loss_fn, optimizer):  # a counter on the function itself
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        make_train_step_counts_on_attribute.calls = getattr(make_train_step_counts_on_attribute, "calls", 0) + 1
        return _step_body(loss_fn, optimizer, state, batch)

    return train_step


def make_train_step_grad_with_aux(loss_fn, optimizer):  # right: jax.grad with the loss in the aux
    def loss_and_aux(params, stats, key, x, y):
        loss, new_stats = loss_fn(params, stats, key, x, y)
        return loss, (loss, new_stats)

    def train_step(state, batch):
        grads, (loss, stats) = jax.grad(loss_and_aux, has_aux=True)(
            state["params"], state["stats"], jax.random.fold_in(state["key"], state["step"]), *batch
        )
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        params = jax.tree_util.tree_map(lambda p, u: p + u, state["params"], updates)
        return dict(state, params=params, stats=stats, opt_state=opt_state, step=state["step"] + 1), loss

    return jax.jit(train_step, donate_argnames="state")


def make_train_step_folds_next_step(loss_fn, optimizer):  # the counter advanced before the fold
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        step = state["step"] + 1
        new_state, loss = _step_body(loss_fn, optimizer, state, batch,
                                     dropout_key=jax.random.fold_in(state["key"], step))
        return new_state, loss

    return train_step


def make_train_step_float_step(loss_fn, optimizer):  # + 1.0 turns the counter into a float32
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        new_state, loss = _step_body(loss_fn, optimizer, state, batch)
        return {**new_state, "step": state["step"] + 1.0}, loss

    return train_step


def make_train_step_subtracts_updates(loss_fn, optimizer):  # "gradient descent subtracts"
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        x, y = batch
        key = jax.random.fold_in(state["key"], state["step"])
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"], state["stats"], key, x, y)
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(lambda p, u: p - u, state["params"], updates)
        return {"params": params, "stats": stats, "opt_state": opt_state, "key": state["key"],
                "step": state["step"] + 1}, loss

    return train_step


def make_train_step_assigns_into_state(loss_fn, optimizer):  # right: the dict inside jit is the trace's own
    @functools.partial(jax.jit, donate_argnames="state")
    def train_step(state, batch):
        x, y = batch
        key = jax.random.fold_in(state["key"], state["step"])
        (loss, state["stats"]), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state["params"], state["stats"], key, x, y
        )
        updates, state["opt_state"] = optimizer.update(grads, state["opt_state"], state["params"])
        state["params"] = jax.tree_util.tree_map(jnp.add, state["params"], updates)
        state["step"] = state["step"] + jnp.int32(1)
        return state, loss

    return train_step


def make_train_step_closure_loss(loss_fn, optimizer):  # right: grad of a closure, update without params
    def train_step(state, batch):
        x, y = batch
        key = jax.random.fold_in(state["key"], state["step"])

        def loss_of(params):
            return loss_fn(params, state["stats"], key, x, y)

        (loss, stats), grads = jax.value_and_grad(loss_of, has_aux=True)(state["params"])
        updates, opt_state = optimizer.update(grads, state["opt_state"])
        new_state = dict(state)
        new_state.update(params=jax.tree.map(lambda p, u: p + u, state["params"], updates), stats=stats,
                         opt_state=opt_state, step=state["step"] + 1)
        return new_state, loss

    return jax.jit(train_step, donate_argnums=(0,))


CASES = [
    wrong("13.1", "no-key-reuse", make_train_step_key_as_dropout_key),
    wrong("13.1", "state-matches", make_train_step_splits_key),
    wrong("13.1", "traces-once", make_train_step_not_jitted),
    wrong("13.1", "donates-state", make_train_step_not_jitted, label="not-jitted-donates"),
    wrong("13.1", "donates-state", make_train_step_not_donated),
    wrong("13.1", "donates-state", make_train_step_donates_batch),
    wrong("13.1", "state-matches", make_train_step_drops_stats),
    wrong("13.1", "losses-match", make_train_step_step_not_advanced),
    wrong("13.1", "state-matches", make_train_step_int8_step),
    wrong("13.1", "traces-once", make_train_step_python_step),
    wrong("13.1", "no-leaked-tracers", make_train_step_logs_losses),
    wrong("13.1", "globals-unchanged", make_train_step_counts_on_attribute),
    right("13.1", make_train_step_grad_with_aux),
    wrong("13.1", "losses-match", make_train_step_folds_next_step),
    wrong("13.1", "traces-once", make_train_step_float_step),
    wrong("13.1", "losses-match", make_train_step_subtracts_updates),
    right("13.1", make_train_step_assigns_into_state),
    right("13.1", make_train_step_closure_loss),
]

# 13.2 · train_epochs(train_step, state, batches, epochs) ------------------------------------


def train_epochs_python_epochs(train_step, state, batches, epochs):  # scan of steps, Python epochs
    rows = []
    for _ in range(epochs):
        state, losses = jax.lax.scan(train_step, state, batches)
        rows.append(losses)
    return state, jnp.stack(rows)


def train_epochs_python_steps(train_step, state, batches, epochs):  # Python steps, inside a jit
    @jax.jit
    def epoch(state, batches):
        losses = []
        for t in range(jax.tree.leaves(batches)[0].shape[0]):
            state, loss = train_step(state, jax.tree.map(lambda b: b[t], batches))
            losses.append(loss)
        return state, jnp.stack(losses)

    return jax.lax.scan(lambda s, _: epoch(s, batches), state, None, length=epochs)


def train_epochs_flat_losses(train_step, state, batches, epochs):  # one row of epochs * steps
    state, losses = jax.lax.scan(lambda s, _: jax.lax.scan(train_step, s, batches), state, None, length=epochs)
    return state, losses.reshape(-1)


def train_epochs_restarts(train_step, state, batches, epochs):  # every epoch from the initial state
    def epoch(carry, _):
        new_state, losses = jax.lax.scan(train_step, state, batches)
        return new_state, losses

    return jax.lax.scan(epoch, state, None, length=epochs)


def train_epochs_last_epoch_only(train_step, state, batches, epochs):  # the other rows dropped
    state, losses = jax.lax.scan(lambda s, _: jax.lax.scan(train_step, s, batches), state, None, length=epochs)
    return state, losses[-1:]


EPOCH_LOG = []


def train_epochs_logs(train_step, state, batches, epochs):  # keeps every epoch's losses (tracers)
    def epoch(s, _):
        s, losses = jax.lax.scan(train_step, s, batches)
        EPOCH_LOG.append(losses)
        return s, losses

    return jax.lax.scan(epoch, state, None, length=epochs)


RUNS = {"count": 0}


def train_epochs_counts_runs(train_step, state, batches, epochs):  # a run counter kept in a global dict
    RUNS["count"] += 1
    return jax.lax.scan(lambda s, _: jax.lax.scan(train_step, s, batches), state, None, length=epochs)


def train_epochs_fori(train_step, state, batches, epochs):  # right: fori_loop writing rows
    steps = jax.tree.leaves(batches)[0].shape[0]

    def body(e, carry):
        state, table = carry
        state, row = jax.lax.scan(train_step, state, batches)
        return state, table.at[e].set(row)

    _, first = jax.eval_shape(lambda: jax.lax.scan(train_step, state, batches))
    table = jnp.zeros((epochs, steps), first.dtype)
    return jax.lax.fori_loop(0, epochs, body, (state, table))


def train_epochs_unpacks_tuple(train_step, state, batches, epochs):  # only a pair (xs, ys) of batches
    xs, ys = batches

    def epoch(state, _):
        return jax.lax.scan(lambda s, xy: train_step(s, (xy[0], xy[1])), state, (xs, ys))

    return jax.lax.scan(epoch, state, None, length=epochs)


def train_epochs_transposed(train_step, state, batches, epochs):  # (steps, epochs)
    final, losses = jax.lax.scan(lambda s, _: jax.lax.scan(train_step, s, batches), state, None, length=epochs)
    return final, losses.T


def train_epochs_mean_per_epoch(train_step, state, batches, epochs):  # one mean loss per epoch
    def epoch(state, _):
        state, losses = jax.lax.scan(train_step, state, batches)
        return state, losses.mean()

    return jax.lax.scan(epoch, state, None, length=epochs)


def train_epochs_vmapped(train_step, state, batches, epochs):  # epochs side by side, none carried
    states, losses = jax.vmap(lambda _: jax.lax.scan(train_step, state, batches))(jnp.arange(epochs))
    return jax.tree.map(lambda leaf: leaf[-1], states), losses


def train_epochs_jitted_epoch(train_step, state, batches, epochs):  # one compiled epoch, Python epochs
    one_epoch = jax.jit(lambda s: jax.lax.scan(train_step, s, batches))
    rows = []
    for _ in range(epochs):
        state, row = one_epoch(state)
        rows.append(row)
    return state, jnp.stack(rows)


def train_epochs_fori_flat(train_step, state, batches, epochs):  # right: one fori_loop, traced indices
    steps = jax.tree.leaves(batches)[0].shape[0]

    def body(i, carry):
        state, table = carry
        state, loss = train_step(state, jax.tree.map(lambda b: b[i % steps], batches))
        return state, table.at[i // steps, i % steps].set(loss)

    start = (jax.tree.map(jnp.asarray, state), jnp.zeros((epochs, steps)))
    return jax.lax.fori_loop(0, epochs * steps, body, start)


def train_epochs_while(train_step, state, batches, epochs):  # right: a while_loop of scans
    steps = jax.tree.leaves(batches)[0].shape[0]

    def body(carry):
        e, state, table = carry
        state, row = jax.lax.scan(train_step, state, batches)
        return e + 1, state, table.at[e].set(row)

    _, state, table = jax.lax.while_loop(
        lambda carry: carry[0] < epochs, body, (0, state, jnp.zeros((epochs, steps), jnp.float32))
    )
    return state, table


def train_epochs_arange(train_step, state, batches, epochs):  # right: scans over a range of epochs
    return jax.lax.scan(lambda s, _: jax.lax.scan(train_step, s, batches), state, xs=jnp.arange(epochs))


CASES += [
    wrong("13.2", "constant-size-in-epochs", train_epochs_python_epochs),
    wrong("13.2", "constant-size-in-steps", train_epochs_python_steps),
    wrong("13.2", "results", train_epochs_flat_losses),
    wrong("13.2", "results", train_epochs_restarts),
    wrong("13.2", "results", train_epochs_last_epoch_only),
    wrong("13.2", "no-leaked-tracers", train_epochs_logs),
    wrong("13.2", "globals-unchanged", train_epochs_counts_runs),
    right("13.2", train_epochs_fori),
    wrong("13.2", "results", train_epochs_unpacks_tuple),
    wrong("13.2", "results", train_epochs_transposed),
    wrong("13.2", "results", train_epochs_mean_per_epoch),
    wrong("13.2", "results", train_epochs_vmapped),
    wrong("13.2", "constant-size-in-epochs", train_epochs_jitted_epoch),
    right("13.2", train_epochs_fori_flat),
    right("13.2", train_epochs_while),
    right("13.2", train_epochs_arange),
]


# Round 2.


def make_train_step_loss_twice(loss_fn, optimizer):
    # The statistics from a second call of loss_fn: the dropout key is used twice.
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        x, y = batch
        key = jax.random.fold_in(state["key"], state["step"])
        loss, grads = jax.value_and_grad(lambda p: loss_fn(p, state["stats"], key, x, y)[0])(state["params"])
        _, stats = loss_fn(state["params"], state["stats"], key, x, y)
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(jnp.add, state["params"], updates)
        return {**state, "params": params, "stats": stats, "opt_state": opt_state, "step": state["step"] + 1}, loss

    return train_step


def make_train_step_unpacked(loss_fn, optimizer):
    # Right: the state unpacked by name, the batch starred, donate_argnames.
    @functools.partial(jax.jit, donate_argnames=("state",))
    def train_step(state, batch):
        params, stats, opt_state, key, step = (state[k] for k in ("params", "stats", "opt_state", "key", "step"))
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, stats, jax.random.fold_in(key, step), *batch
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = jax.tree.map(jnp.add, params, updates)
        return {"params": params, "stats": stats, "opt_state": opt_state, "key": key, "step": step + jnp.int32(1)}, loss

    return train_step


def train_epochs_fori_inside_scan(train_step, state, batches, epochs):
    # Right: a fori_loop over the steps, indexing every leaf, inside a scan over arange(epochs).
    steps = jax.tree.leaves(batches)[0].shape[0]

    def epoch(state, _):
        first = jax.tree.map(lambda b: b[0], batches)
        loss_shape = jax.eval_shape(train_step, state, first)[1]

        def body(t, carry):
            state, losses = carry
            batch = jax.tree.map(lambda b: jax.lax.dynamic_index_in_dim(b, t, keepdims=False), batches)
            state, loss = train_step(state, batch)
            return state, losses.at[t].set(loss)

        return jax.lax.fori_loop(0, steps, body, (state, jnp.zeros((steps,), loss_shape.dtype)))

    return jax.lax.scan(epoch, state, jnp.arange(epochs))


CASES += [
    wrong("13.1", "no-key-reuse", make_train_step_loss_twice),
    right("13.1", make_train_step_unpacked),
    right("13.2", train_epochs_fori_inside_scan),
]



# Round 3.


@functools.partial(jax.jit, static_argnums=(0, 1), donate_argnums=2)
def _train_step_static(loss_fn, optimizer, state, batch):
    return _step_body(loss_fn, optimizer, state, batch)


def make_train_step_partial_of_jit(loss_fn, optimizer):
    # Right: one jit at module level, loss_fn and optimizer static, bound with functools.partial.
    return functools.partial(_train_step_static, loss_fn, optimizer)


_TRAINING = {}


@functools.partial(jax.jit, donate_argnums=0)
def _train_step_of_globals(state, batch):
    return _step_body(_TRAINING["loss_fn"], _TRAINING["optimizer"], state, batch)


def make_train_step_sets_globals(loss_fn, optimizer):
    # The step is jitted once, at module level, and reads its loss from a global: a second
    # make_train_step with another loss changes what the first step would trace with, and its
    # own step, already traced, keeps the first loss.
    _TRAINING["loss_fn"], _TRAINING["optimizer"] = loss_fn, optimizer
    return _train_step_of_globals


CASES += [
    right("13.1", make_train_step_partial_of_jit),
    wrong("13.1", "globals-unchanged", make_train_step_sets_globals),
]


# Round 4: Equinox's jit for the step; unroll=True, which the jaxpr hides (one scan equation)
# and XLA unrolls; right answers from other idioms.


def make_train_step_filter_jit(loss_fn, optimizer):  # right: Equinox's jit donates too
    import equinox as eqx

    @eqx.filter_jit(donate="all")
    def train_step(state, batch):
        return _step_body(loss_fn, optimizer, state, batch)

    return train_step


def make_train_step_filter_jit_donates_batch(loss_fn, optimizer):  # "all-except-first" keeps the state
    import equinox as eqx

    return eqx.filter_jit(lambda state, batch: _step_body(loss_fn, optimizer, state, batch), donate="all-except-first")


@functools.lru_cache(maxsize=None)
def make_train_step_lru_cached(loss_fn, optimizer):  # right: one jitted step per (loss_fn, optimizer)
    return jax.jit(functools.partial(_step_body, loss_fn, optimizer), donate_argnums=0)


def make_train_step_method_of_trainer(loss_fn, optimizer):  # right: a jitted method, self static
    class Trainer:
        @functools.partial(jax.jit, static_argnums=0, donate_argnums=1)
        def step(self, state, batch):
            return _step_body(loss_fn, optimizer, state, batch)

    return functools.partial(Trainer.step, Trainer())


def make_train_step_dropout_key_split(loss_fn, optimizer):  # one more split after the fold_in
    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, batch):
        _, dropout_key = jax.random.split(jax.random.fold_in(state["key"], state["step"]))
        return _step_body(loss_fn, optimizer, state, batch, dropout_key=dropout_key)

    return train_step


def train_epochs_unrolled_steps(train_step, state, batches, epochs):  # "unroll for speed"
    def epoch(state, _):
        return jax.lax.scan(train_step, state, batches, unroll=True)

    return jax.lax.scan(epoch, state, None, length=epochs)


def train_epochs_unrolled_epochs(train_step, state, batches, epochs):
    def epoch(state, _):
        return jax.lax.scan(train_step, state, batches)

    return jax.lax.scan(epoch, state, None, length=epochs, unroll=True)


def train_epochs_fori_unrolled(train_step, state, batches, epochs):
    steps = jax.tree.leaves(batches)[0].shape[0]

    def epoch(e, carry):
        state, losses = carry
        state, row = jax.lax.scan(train_step, state, batches)
        return state, losses.at[e].set(row)

    return jax.lax.fori_loop(0, epochs, epoch, (state, jnp.zeros((epochs, steps))), unroll=True)


def train_epochs_unroll_by_four(train_step, state, batches, epochs):  # right: 4 > 2 steps, still constant
    def epoch(state, _):
        return jax.lax.scan(train_step, state, batches, unroll=4)

    return jax.lax.scan(epoch, state, None, length=epochs, unroll=3)


def train_epochs_unroll_by_two(train_step, state, batches, epochs):  # right: a constant factor
    def epoch(state, _):
        return jax.lax.scan(jax.checkpoint(train_step), state, batches, unroll=2)

    return jax.lax.scan(epoch, state, None, length=epochs)


def train_epochs_tiled(train_step, state, batches, epochs):  # right: one scan over epochs * steps
    steps = jax.tree.leaves(batches)[0].shape[0]
    repeated = jax.tree.map(lambda b: jnp.tile(b, (epochs,) + (1,) * (b.ndim - 1)), batches)
    state, losses = jax.lax.scan(train_step, state, repeated)
    return state, losses.reshape(epochs, steps)


@functools.partial(jax.jit, static_argnums=(0, 3))
def train_epochs_jitted(train_step, state, batches, epochs):  # right: jitted, the step static
    return jax.lax.scan(lambda s, _: jax.lax.scan(train_step, s, batches), state, None, length=epochs)


def train_epochs_shuffled(train_step, state, batches, epochs):  # "shuffle every epoch", by habit
    steps = jax.tree.leaves(batches)[0].shape[0]

    def epoch(state, e):
        order = jax.random.permutation(jax.random.key(e), steps)
        return jax.lax.scan(train_step, state, jax.tree.map(lambda b: b[order], batches))

    return jax.lax.scan(epoch, state, jnp.arange(epochs))


def train_epochs_len_of_batches(train_step, state, batches, epochs):  # len of the pair: 2
    def epoch(state, _):
        def step(state, t):
            return train_step(state, jax.tree.map(lambda b: b[t], batches))

        return jax.lax.scan(step, state, jnp.arange(len(batches)))

    return jax.lax.scan(epoch, state, None, length=epochs)


CASES += [
    right("13.1", make_train_step_filter_jit, needs=("equinox",)),
    wrong("13.1", "donates-state", make_train_step_filter_jit_donates_batch, needs=("equinox",)),
    right("13.1", make_train_step_lru_cached),
    right("13.1", make_train_step_method_of_trainer),
    wrong("13.1", "losses-match", make_train_step_dropout_key_split),
    wrong("13.2", "constant-size-in-steps", train_epochs_unrolled_steps),
    wrong("13.2", "constant-size-in-epochs", train_epochs_unrolled_epochs),
    wrong("13.2", "constant-size-in-epochs", train_epochs_fori_unrolled),
    right("13.2", train_epochs_unroll_by_two),
    right("13.2", train_epochs_unroll_by_four),
    right("13.2", train_epochs_tiled),
    right("13.2", train_epochs_jitted),
    wrong("13.2", "results", train_epochs_shuffled),
    wrong("13.2", "results", train_epochs_len_of_batches),
]

test_known_answer = parametrize(CASES)
