"""Known answers for chapter 1: mutation in plain Python."""

from __future__ import annotations

import copy

from tests.wrong_answers.helpers import parametrize, right, wrong

# 1.1 add_item ------------------------------------------------------------------------


def add_item_appends(items, item):
    items.append(item)
    return items


def add_item_plus_equals(items, item):
    items += [item]
    return items


def add_item_returns_none(items, item):
    return [*items].append(item)


def add_item_prepends(items, item):
    return [item, *items]


def add_item_copy_then_append(items, item):
    result = items.copy()
    result.append(item)
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


def set_nested_no_missing_levels(config, path, value):
    head, *rest = path
    inner = set_nested_no_missing_levels(config[head], rest, value) if rest else value
    return {**config, head: inner}


def set_nested_deepcopy(config, path, value):
    result = copy.deepcopy(config)
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return result


# 1.3 append_log ---------------------------------------------------------------------


def append_log_mutable_default(message, log=[]):
    log.append(message)
    return log


def append_log_appends_to_given(message, log=None):
    if log is None:
        log = []
    log.append(message)
    return log


def append_log_module_list(message, log=None):
    _shared.append(message)
    return [*(log or []), *_shared[-1:]] if log else _shared


_shared: list[str] = []


def append_log_forgets_log(message, log=None):
    return [message]


def append_log_explicit_none(message, log=None):
    new_log = [] if log is None else list(log)
    new_log.append(message)
    return new_log


CASES = [
    wrong("1.1", "inputs-unchanged", add_item_appends),
    wrong("1.1", "inputs-unchanged", add_item_plus_equals),
    wrong("1.1", "matches-reference", add_item_returns_none),
    wrong("1.1", "matches-reference", add_item_prepends),
    right("1.1", add_item_copy_then_append),
    wrong("1.2", "inputs-unchanged", set_nested_in_place),
    wrong("1.2", "copies-path", set_nested_shallow_copy),
    wrong("1.2", "matches-reference", set_nested_no_missing_levels),
    right("1.2", set_nested_deepcopy),
    wrong("1.3", "default-not-shared", append_log_mutable_default),
    wrong("1.3", "inputs-unchanged", append_log_appends_to_given),
    wrong("1.3", "default-not-shared", append_log_module_list),
    wrong("1.3", "matches-reference", append_log_forgets_log),
    right("1.3", append_log_explicit_none),
]

test_known_answer = parametrize(CASES)
