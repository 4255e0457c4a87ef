"""Known answers for chapter 1: mutation in plain Python."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
from collections import Counter, defaultdict, deque

import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# 1.1 add_item ------------------------------------------------------------------------

# Changes the caller's list.


def add_item_appends(items, item):
    items.append(item)
    return items


def add_item_plus_equals(items, item):
    items += [item]
    return items


def add_item_append_then_copy(items, item):
    items.append(item)
    return list(items)


# Wrong values, on cases a few fixed short lists would not show.


def add_item_returns_none(items, item):
    return [*items].append(item)


def add_item_prepends(items, item):
    return [item, *items]


def add_item_deduplicates(items, item):
    unique = []
    for x in items:
        if x not in unique:
            unique.append(x)
    return unique + [item]


def add_item_sorted(items, item):
    try:
        return sorted(items) + [item]
    except TypeError:
        return items + [item]


def add_item_skips_empty(items, item):
    return [x for x in items if x] + [item]


def add_item_skips_none_item(items, item):
    return [*items, item] if item is not None else list(items)


def add_item_extends(items, item):
    # `item` is "added" element by element when it is a list or tuple
    return [*items, *item] if isinstance(item, (list, tuple)) else [*items, item]


def add_item_tuple(items, item):
    return (*items, item)


def add_item_keeps_three(items, item):
    return [*items[-3:], item]


# Side effects the arguments do not show.


def add_item_counts_calls(items, item):
    add_item_counts_calls.calls += 1
    return [*items, item]


add_item_counts_calls.calls = 0

_ADDED = deque(maxlen=100)


def add_item_remembers_in_deque(items, item):
    _ADDED.append(item)
    return [*items, item]


class _Registry:
    added = 0


def add_item_class_counter(items, item):
    _Registry.added += 1
    return items + [item]


_MEMO_ADD: dict = {}


def add_item_memoised(items, item):
    # caches each result "for speed" and hands the same list out again
    key = repr((items, item))
    if key not in _MEMO_ADD:
        _MEMO_ADD[key] = [*items, item]
    return _MEMO_ADD[key]


# Right answers, written differently.


def add_item_copy_then_append(items, item):
    result = items.copy()
    result.append(item)
    return result


def add_item_concatenates(items, item):
    return items + [item]


def add_item_deepcopy(items, item):
    return copy.deepcopy(items) + [item]


def add_item_comprehension_insert(items, item):
    result = [x for x in items]
    result.insert(len(result), item)
    return result


# 1.2 set_nested ---------------------------------------------------------------------


def set_nested_in_place(config, path, value):
    node = config
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return config


def set_nested_shallow_copy(config, path, value):
    result = dict(config)
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return result


def set_nested_copies_two_levels(config, path, value):
    result = dict(config)
    if len(path) > 1:
        result[path[0]] = dict(config.get(path[0], {}))
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return result


def set_nested_pops_path(config, path, value):
    path = path if isinstance(path, list) else list(path)
    last = path.pop()
    result = dict(config)
    node = result
    for key in path:
        node[key] = dict(node.get(key, {}))
        node = node[key]
    node[last] = value
    return result


def set_nested_no_missing_levels(config, path, value):
    head, *rest = path
    inner = set_nested_no_missing_levels(config[head], rest, value) if rest else value
    return {**config, head: inner}


def set_nested_one_missing_level(config, path, value):
    # creates a missing level only right above the value
    head, *rest = path
    if not rest:
        return {**config, head: value}
    if len(rest) == 1:
        return {**config, head: {**config.get(head, {}), rest[0]: value}}
    return {**config, head: set_nested_one_missing_level(config[head], rest, value)}


def set_nested_two_levels(config, path, value):
    if len(path) == 1:
        return {**config, path[0]: value}
    return {**config, path[0]: {**config.get(path[0], {}), path[1]: value}}


def set_nested_merges_dicts(config, path, value):
    head, *rest = path
    if rest:
        return {**config, head: set_nested_merges_dicts(config.get(head, {}), rest, value)}
    old = config.get(head)
    if isinstance(old, dict) and isinstance(value, dict):
        value = {**old, **value}
    return {**config, head: value}


def set_nested_json_copy(config, path, value):
    result = json.loads(json.dumps(config))
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return result


def set_nested_string_keys(config, path, value):
    head, *rest = path
    key = str(head)
    inner = set_nested_string_keys(config.get(key, {}), rest, value) if rest else value
    return {**config, key: inner}


_CHANGES = []


def set_nested_logs_changes(config, path, value):
    _CHANGES.append((tuple(path), value))
    head, *rest = path
    inner = set_nested_logs_changes(config.get(head, {}), rest, value) if rest else value
    return {**config, head: inner}


def set_nested_counts_calls(config, path, value):
    set_nested_counts_calls.calls += 1
    result = copy.deepcopy(config)
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return result


set_nested_counts_calls.calls = 0


_MEMO_SET: dict = {}


def set_nested_memoised(config, path, value):
    key = repr((config, list(path), value))
    if key not in _MEMO_SET:
        head, *rest = path
        inner = set_nested_memoised(config.get(head, {}), rest, value) if rest else value
        _MEMO_SET[key] = {**config, head: inner}
    return _MEMO_SET[key]


def set_nested_deepcopy(config, path, value):
    result = copy.deepcopy(config)
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return result


def set_nested_iterative(config, path, value):
    result = dict(config)
    node = result
    for key in path[:-1]:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, dict) else {}
        node = node[key]
    node[path[-1]] = value
    return result


def set_nested_copy_per_level(config, path, value):
    if len(path) == 1:
        new = copy.copy(config)
        new[path[0]] = value
        return new
    new = copy.copy(config)
    new[path[0]] = set_nested_copy_per_level(config[path[0]] if path[0] in config else {}, path[1:], value)
    return new


# 1.3 append_log ---------------------------------------------------------------------


def append_log_mutable_default(message, log=[]):
    log.append(message)
    return log


def append_log_appends_to_given(message, log=None):
    if log is None:
        log = []
    log.append(message)
    return log


def append_log_or_then_append(message, log=None):
    log = log or []
    log.append(message)
    return log


def append_log_module_list(message, log=None):
    _shared.append(message)
    return [*(log or []), *_shared[-1:]] if log else _shared


_shared: list[str] = []


def append_log_forgets_log(message, log=None):
    return [message]


def append_log_prepends(message, log=None):
    return [message, *(log or [])]


def append_log_tuple_default(message, log=()):
    return [*log, message]


def append_log_returns_tuple(message, log=None):
    return (*(log or ()), message)


def append_log_deduplicates(message, log=None):
    log = log or []
    return log + [message] if message not in log else list(log)


_FRESH: dict[str, list[str]] = {}


def append_log_cached_by_message(message, log=None):
    if log is None:
        return _FRESH.setdefault(message, [message])
    return [*log, message]


_EMPTY: list[str] = []


def append_log_shared_empty(message, log=None):
    base = _EMPTY if log is None else log
    return base + [message] if log is not None else (base.append(message) or base)


_HISTORY = deque()


def append_log_keeps_history(message, log=None):
    _HISTORY.append(message)
    return [*(log or []), message]


def append_log_function_attribute(message, log=None):
    append_log_function_attribute.seen = [*getattr(append_log_function_attribute, "seen", []), message]
    return [*(log or []), message]


def append_log_cleared_buffer(message, log=None):
    # reuses one module-level list, cleared on each call, and returns a copy of it
    _buffer.clear()
    _buffer.extend(log or [])
    _buffer.append(message)
    return list(_buffer)


_buffer: list[str] = []


def append_log_explicit_none(message, log=None):
    new_log = [] if log is None else list(log)
    new_log.append(message)
    return new_log


def append_log_concatenates(message, log=None):
    if log:
        return log + [message]
    return [message]


def append_log_copy_module(message, log=None):
    return copy.copy(log) + [message] if log is not None else [message]


# 1.4 new_history / record -----------------------------------------------------------


def new_history_fromkeys(names):
    return dict.fromkeys(names, [])


def new_history_good(names):
    return {name: [] for name in names}


def new_history_multiplied(names):
    names = list(names)
    return dict(zip(names, [[]] * len(names)))


def new_history_fromkeys_list_call(names):
    return dict.fromkeys(names, list())


_TEMPLATE: dict = {}


def new_history_template(names):
    for name in names:
        _TEMPLATE.setdefault(name, [])
    return {name: _TEMPLATE[name] for name in names}


def new_history_loop(names):
    history = {}
    for name in names:
        history[name] = list()
    return history


def record_shallow_append(history, name, value):
    updated = history.copy()
    updated[name].append(value)
    return updated


def record_shallow_plus_equals(history, name, value):
    updated = dict(history)
    updated.setdefault(name, [])
    updated[name] += [value]
    return updated


def record_setdefault_append(history, name, value):
    updated = dict(history)
    updated.setdefault(name, []).append(value)
    return updated


def record_missing_name(history, name, value):
    return {**history, name: history[name] + [value]}


def record_in_place(history, name, value):
    history[name] = history.get(name, []) + [value]
    return history


def record_drops_other_names(history, name, value):
    return {name: [*history.get(name, []), value]}


def record_deduplicates(history, name, value):
    values = history.get(name, [])
    return {**history, name: values if value in values else [*values, value]}


_RECORDED = []


def record_logs_globally(history, name, value):
    _RECORDED.append((name, value))
    return {**history, name: [*history.get(name, []), value]}


_NEW_LISTS: dict = {}


def record_reuses_new_lists(history, name, value):
    # the list for a name seen for the first time comes from a module-level cache
    if name in history:
        return {**history, name: [*history[name], value]}
    return {**history, name: _NEW_LISTS.setdefault((name, value), [value])}


def record_good(history, name, value):
    return {**history, name: [*history.get(name, []), value]}


def record_deepcopy(history, name, value):
    updated = copy.deepcopy(history)
    updated.setdefault(name, []).append(value)
    return updated


def record_rebinds(history, name, value):
    updated = dict(history)
    updated[name] = updated.get(name, []) + [value]
    return updated


def record_copies_every_list(history, name, value):
    updated = {key: list(values) for key, values in history.items()}
    if name not in updated:
        updated[name] = []
    updated[name].append(value)
    return updated


# Found by an adversarial pass over the task texts ------------------------------------


def add_item_if_absent(items, item):
    # set semantics: an item that is already there is not added again
    return items + [item] if item not in items else list(items)


def add_item_skips_repeat(items, item):
    # "no double entries": skips an item equal to the last one
    return list(items) if items and items[-1] == item else items + [item]


def add_item_json_copy(items, item):
    # a deep copy through JSON: dict keys become strings (None becomes "null"), tuples lists
    return json.loads(json.dumps(items)) + [item]


_ITEM_IDS = itertools.count()


def add_item_numbers_items(items, item):
    next(_ITEM_IDS)  # "an id for every added item": a counter kept between calls
    return [*items, item]


class _AddItem:
    def __init__(self):
        self.calls = 0

    def __call__(self, items, item):
        self.calls += 1
        return [*items, item]


add_item_callable_object = _AddItem()


def add_item_slice_copy(items, item):
    return items[:] + [item]


def add_item_extend_new(items, item):
    result = []
    result.extend(items)
    result.extend([item])
    return result


def set_nested_setdefault_on_input(config, path, value):
    # copies each level, but creates missing levels in the caller's dicts first
    result = dict(config)
    node, original = result, config
    for key in path[:-1]:
        child = original.setdefault(key, {})
        node[key] = dict(child)
        node, original = node[key], child
    node[path[-1]] = value
    return result


def set_nested_none_deletes(config, path, value):
    # "None means unset": deletes the key instead of storing None
    head, *rest = path
    updated = dict(config)
    if rest:
        updated[head] = set_nested_none_deletes(config.get(head, {}), rest, value)
    elif value is None:
        updated.pop(head, None)
    else:
        updated[head] = value
    return updated


def set_nested_union(config, path, value):
    head, *rest = path
    return config | {head: set_nested_union(config.get(head, {}), rest, value) if rest else value}


def set_nested_slices(config, path, value):
    if len(path) == 1:
        return {**config, path[0]: value}
    inner = config[path[0]] if isinstance(config.get(path[0]), dict) else {}
    return {**config, path[0]: set_nested_slices(inner, path[1:], value)}


def append_log_keeps_last_three(message, log=None):
    # a bounded log: older messages are dropped
    return [*(log or [])[-3:], message]


def append_log_strips(message, log=None):
    return [*(log or []), message.strip()]


def append_log_skips_repeat(message, log=None):
    log = list(log or [])
    if not log or log[-1] != message:
        log.append(message)
    return log


class _AppendLog:
    def __init__(self):
        self.calls = 0

    def __call__(self, message, log=None):
        self.calls += 1
        return [*(log or []), message]


append_log_callable_object = _AppendLog()


def append_log_or_concat(message, log=None):
    return (log or []) + [message]


def append_log_unpacks(message, log=None):
    if log is None:
        return [message]
    return [*log, message]


def new_history_from_set(names):
    return {name: [] for name in set(names)}


def new_history_defaultdict(names):
    return defaultdict(list, {name: [] for name in names})


def new_history_fromkeys_none(names):
    return dict.fromkeys(names)


def record_extends_lists(history, name, value):
    # a list value is spliced in, element by element
    values = list(history.get(name, []))
    if isinstance(value, (list, tuple)):
        values.extend(value)
    else:
        values.append(value)
    return {**history, name: values}


def record_as_float(history, name, value):
    return {**history, name: [*history.get(name, []), value if value is None else float(value)]}


def record_keeps_last_five(history, name, value):
    return {**history, name: [*history.get(name, []), value][-5:]}


def record_setdefault_on_input(history, name, value):
    history.setdefault(name, [])  # adds the missing name to the caller's history
    return {**history, name: history[name] + [value]}


def record_union(history, name, value):
    return history | {name: history.get(name, []) + [value]}


def record_iadd_on_copy(history, name, value):
    values = list(history.get(name, []))
    values += [value]
    updated = copy.copy(history)
    updated[name] = values
    return updated



def add_item_globals_dict(items, item):
    # a counter written through globals(): the code never names it
    globals()["_add_item_calls"] = globals().get("_add_item_calls", 0) + 1
    return [*items, item]


_ITEM_NUMBERS = (n for n in itertools.count())


def add_item_generator_ids(items, item):
    next(_ITEM_NUMBERS)  # a generator advanced on every call
    return [*items, item]


def _counting(fn):
    calls = []

    @functools.wraps(fn)
    def wrapper(*args):
        calls.append(args)  # the decorator keeps every call's arguments
        return fn(*args)

    return wrapper


@_counting
def add_item_decorated(items, item):
    return [*items, item]


_MESSAGE_COUNTS: Counter = Counter()


def append_log_counts_messages(message, log=None):
    _MESSAGE_COUNTS[message] += 1
    return [*(log or []), message]



_LOGGER = logging.getLogger("purestate.tests.answers")


def append_log_also_logs(message, log=None):
    _LOGGER.debug("append_log(%r)", message)  # logging is output, not state the answer keeps
    return [*(log or []), message]


CASES = [
    wrong("1.1", "inputs-unchanged", add_item_appends),
    wrong("1.1", "inputs-unchanged", add_item_plus_equals),
    wrong("1.1", "inputs-unchanged", add_item_append_then_copy),
    wrong("1.1", "matches-reference", add_item_returns_none),
    wrong("1.1", "matches-reference", add_item_prepends),
    wrong("1.1", "matches-reference", add_item_deduplicates),
    wrong("1.1", "matches-reference", add_item_sorted),
    wrong("1.1", "matches-reference", add_item_skips_empty),
    wrong("1.1", "matches-reference", add_item_skips_none_item),
    wrong("1.1", "matches-reference", add_item_extends),
    wrong("1.1", "matches-reference", add_item_tuple),
    wrong("1.1", "matches-reference", add_item_keeps_three),
    wrong("1.1", "globals-unchanged", add_item_counts_calls),
    wrong("1.1", "globals-unchanged", add_item_remembers_in_deque),
    wrong("1.1", "globals-unchanged", add_item_class_counter),
    wrong("1.1", "new-result-each-call", add_item_memoised),
    right("1.1", add_item_copy_then_append),
    right("1.1", add_item_concatenates),
    right("1.1", add_item_deepcopy),
    right("1.1", add_item_comprehension_insert),
    wrong("1.2", "inputs-unchanged", set_nested_in_place),
    wrong("1.2", "copies-path", set_nested_shallow_copy),
    wrong("1.2", "copies-path", set_nested_copies_two_levels),
    wrong("1.2", "inputs-unchanged", set_nested_copies_two_levels, label="set_nested_copies_two_levels_deep"),
    wrong("1.2", "inputs-unchanged", set_nested_pops_path),
    wrong("1.2", "matches-reference", set_nested_no_missing_levels),
    wrong("1.2", "matches-reference", set_nested_one_missing_level),
    wrong("1.2", "matches-reference", set_nested_two_levels),
    wrong("1.2", "matches-reference", set_nested_merges_dicts),
    wrong("1.2", "matches-reference", set_nested_json_copy),
    wrong("1.2", "matches-reference", set_nested_string_keys),
    wrong("1.2", "globals-unchanged", set_nested_logs_changes),
    wrong("1.2", "globals-unchanged", set_nested_counts_calls),
    wrong("1.2", "new-result-each-call", set_nested_memoised),
    right("1.2", set_nested_deepcopy),
    right("1.2", set_nested_iterative),
    right("1.2", set_nested_copy_per_level),
    wrong("1.3", "default-not-shared", append_log_mutable_default),
    wrong("1.3", "inputs-unchanged", append_log_appends_to_given),
    wrong("1.3", "inputs-unchanged", append_log_or_then_append),
    wrong("1.3", "default-not-shared", append_log_module_list),
    wrong("1.3", "matches-reference", append_log_forgets_log),
    wrong("1.3", "matches-reference", append_log_prepends),
    wrong("1.3", "matches-reference", append_log_tuple_default),
    wrong("1.3", "matches-reference", append_log_returns_tuple),
    wrong("1.3", "matches-reference", append_log_deduplicates),
    wrong("1.3", "default-not-shared", append_log_cached_by_message),
    wrong("1.3", "default-not-shared", append_log_shared_empty),
    wrong("1.3", "globals-unchanged", append_log_keeps_history),
    wrong("1.3", "globals-unchanged", append_log_function_attribute),
    wrong("1.3", "globals-unchanged", append_log_cleared_buffer),
    right("1.3", append_log_explicit_none),
    right("1.3", append_log_concatenates),
    right("1.3", append_log_copy_module),
    # 1.4: the buggy pair as given, each half fixed alone, and other first attempts
    wrong("1.4", "separate-lists", new_history_fromkeys, record_shallow_append),
    wrong("1.4", "inputs-unchanged", new_history_fromkeys, record_shallow_append, label="given_pair_record"),
    wrong("1.4", "inputs-unchanged", new_history_good, record_shallow_append),
    wrong("1.4", "keeps-every-version", new_history_good, record_shallow_append, label="fixed_new_history_only"),
    wrong("1.4", "separate-lists", new_history_fromkeys, record_good),
    wrong("1.4", "separate-lists", new_history_multiplied, record_good),
    wrong("1.4", "separate-lists", new_history_fromkeys_list_call, record_rebinds),
    wrong("1.4", "separate-lists", new_history_template, record_good),
    wrong("1.4", "inputs-unchanged", new_history_good, record_shallow_plus_equals),
    wrong("1.4", "inputs-unchanged", new_history_good, record_setdefault_append),
    wrong("1.4", "record-matches-reference", new_history_good, record_missing_name),
    wrong("1.4", "inputs-unchanged", new_history_good, record_in_place),
    wrong("1.4", "returns-new-object", new_history_good, record_in_place, label="record_in_place_same_object"),
    wrong("1.4", "record-matches-reference", new_history_good, record_drops_other_names),
    wrong("1.4", "record-matches-reference", new_history_good, record_deduplicates),
    wrong("1.4", "globals-unchanged", new_history_good, record_logs_globally),
    wrong("1.4", "new-result-each-call", new_history_good, record_reuses_new_lists),
    right("1.4", new_history_good, record_good),
    right("1.4", new_history_loop, record_deepcopy),
    right("1.4", new_history_good, record_rebinds),
    right("1.4", new_history_loop, record_copies_every_list),
    # adversarial pass
    wrong("1.1", "matches-reference", add_item_if_absent),
    wrong("1.1", "matches-reference", add_item_skips_repeat),
    wrong("1.1", "matches-reference", add_item_json_copy),
    wrong("1.1", "globals-unchanged", add_item_numbers_items),
    wrong("1.1", "globals-unchanged", add_item_callable_object, label="add_item_callable_object"),
    wrong("1.1", "globals-unchanged", add_item_globals_dict),
    wrong("1.1", "globals-unchanged", add_item_generator_ids),
    wrong("1.1", "globals-unchanged", add_item_decorated),
    right("1.1", add_item_slice_copy),
    right("1.1", add_item_extend_new),
    wrong("1.2", "inputs-unchanged", set_nested_setdefault_on_input),
    wrong("1.2", "matches-reference", set_nested_none_deletes),
    right("1.2", set_nested_union),
    right("1.2", set_nested_slices),
    wrong("1.3", "matches-reference", append_log_keeps_last_three),
    wrong("1.3", "matches-reference", append_log_strips),
    wrong("1.3", "matches-reference", append_log_skips_repeat),
    wrong("1.3", "globals-unchanged", append_log_callable_object, label="append_log_callable_object"),
    wrong("1.3", "globals-unchanged", append_log_counts_messages),
    right("1.3", append_log_or_concat),
    right("1.3", append_log_unpacks),
    right("1.3", append_log_also_logs),
    wrong("1.4", "matches-reference", new_history_fromkeys_none, record_union),
    wrong("1.4", "record-matches-reference", new_history_good, record_extends_lists),
    wrong("1.4", "record-matches-reference", new_history_good, record_as_float),
    wrong("1.4", "record-matches-reference", new_history_good, record_keeps_last_five),
    wrong("1.4", "inputs-unchanged", new_history_good, record_setdefault_on_input),
    right("1.4", new_history_from_set, record_union),
    right("1.4", new_history_defaultdict, record_iadd_on_copy),
]

# Round 3 ------------------------------------------------------------------------------


def append_log_formats_message(message, log=None):
    return (log or []) + [f"{message}"]  # a message that is not a string becomes its text


_NEXT_ID = iter(range(1_000_000))


def add_item_ids_from_iterator(items, item):
    next(_NEXT_ID)  # "a unique id per added item": an iterator advanced on every call
    return [*items, item]


_LABELS = map("item-{}".format, itertools.count())


def add_item_labels_from_map(items, item):
    next(_LABELS)
    return [*items, item]


CASES += [
    wrong("1.3", "matches-reference", append_log_formats_message),
    wrong("1.1", "globals-unchanged", add_item_ids_from_iterator),
    wrong("1.1", "globals-unchanged", add_item_labels_from_map),
]

# Round 4 ------------------------------------------------------------------------------


def set_nested_bottom_up(config, path, value):
    nodes = [config]  # the dicts along the path, as far as they exist
    for key in path[:-1]:
        nodes.append(nodes[-1].get(key, {}))
    for node, key in zip(reversed(nodes), reversed(path)):
        value = {**node, key: value}
    return value


def record_numpy_append(history, name, value):
    return {**history, name: np.append(history.get(name, []), value)}  # a NumPy array, not a list


def add_item_numpy_append(items, item):
    return np.append(items, item).tolist()  # flattens nested items, stringifies mixed ones


def set_nested_skips_unchanged(config, path, value):
    head, *rest = path
    if not rest:
        if head in config and config[head] == value:
            return config  # "nothing changes, so no copy": the caller's dict comes back
        return {**config, head: value}
    return {**config, head: set_nested_skips_unchanged(config.get(head, {}), rest, value)}


CASES += [
    wrong("1.2", "copies-path", set_nested_skips_unchanged),
    right("1.2", set_nested_bottom_up),
    wrong("1.4", "record-matches-reference", new_history_good, record_numpy_append),
    wrong("1.1", "matches-reference", add_item_numpy_append),
]

test_known_answer = parametrize(CASES)
