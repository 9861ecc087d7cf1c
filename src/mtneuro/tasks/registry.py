"""The benchmark tasks by name: one line per task, its module imported on first use.

Adding a task is one module that defines a :class:`~mtneuro.tasks.api.Task` (config,
presets, run, card, headline) plus one line in :data:`TASKS`, or, from outside the
package, :func:`register_task` (docs/ARCHITECTURE.md shows a toy task).
"""

from __future__ import annotations

import fnmatch

from mtneuro.errors import ConfigError
from mtneuro.registry import import_object, unknown_name_message
from mtneuro.tasks.api import Task

#: task name -> ``"module:attribute"`` of its :class:`~mtneuro.tasks.api.Task`.
TASKS: dict[str, str] = {
    "task1": "mtneuro.tasks.region_task:TASK1",
    "task2": "mtneuro.tasks.segmentation.task:TASK2",
    "task3": "mtneuro.tasks.semantic_task:TASK3",
    "neural": "mtneuro.tasks.neural.task:NEURAL",
}
_REGISTERED: dict[str, Task] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Make ``task`` nameable (suites, ``mtneuro.evaluate``); plugins and tests add theirs."""
    if (task.name in TASKS or task.name in _REGISTERED) and not replace:
        raise ValueError(f"task {task.name!r} is already registered")
    _REGISTERED[task.name] = task
    return task


def unregister_task(name: str) -> None:
    """Remove a task added with :func:`register_task` (a test's toy task)."""
    _REGISTERED.pop(name, None)


def task_names() -> list[str]:
    """Every task name: the built-in ones, then registered ones."""
    return [*TASKS, *(n for n in _REGISTERED if n not in TASKS)]


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name fails listing the valid ones."""
    reference = task_reference(name)
    if isinstance(reference, Task):
        return reference
    task = import_object(reference, "task")
    if not isinstance(task, Task):
        raise ConfigError(f"task {name!r}: {TASKS[name]} is not a Task")
    return task


def list_tasks(pattern: str = "*") -> list[str]:
    """``"<task>/<setting>"`` of every task and setting matching the wildcard ``pattern``,
    sorted (a task without a fixed list of settings is listed as ``"<task>"``). A pattern
    without wildcards (``*?[``) is a name: ``"task2"`` lists every setting of task2, as
    ``"task2/*"`` does, and ``"task2/2d-4class"`` that setting alone; a name that is
    neither raises :class:`~mtneuro.errors.ConfigError` with the closest names."""
    if not isinstance(pattern, str):
        raise ConfigError(f"pattern: expected a task name or wildcard pattern (str), e.g. "
                          f"'task1/*', got {pattern!r:.80} ({type(pattern).__name__})")
    names = []
    for name in task_names():
        settings = get_task(name).settings
        names += [f"{name}/{s}" for s in settings] if settings else [name]
    if not any(c in pattern for c in "*?["):
        # without wildcards fnmatch is equality, and a task with settings is never listed
        # by its name alone: "task2" listed nothing
        found = sorted(n for n in names if n == pattern or n.startswith(pattern + "/"))
        if not found:  # a name, not a pattern: a typo is an error, not an empty list
            raise ConfigError(unknown_name_message("task or task/setting", pattern,
                                                   [*task_names(), *names]))
        return found
    return sorted(n for n in names if fnmatch.fnmatch(n, pattern))


def task_reference(name: str) -> Task | str:
    """What another process needs to find task ``name``: its registry line, or a task
    registered at run time itself (pickled by reference to its module)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in TASKS:
        raise ConfigError(unknown_name_message("task", name, task_names()))
    return TASKS[name]


def split_task_setting(name: str) -> tuple[Task, str]:
    """``"task1/roi-c1"`` -> (the task, ``"roi-c1"``), the setting checked."""
    task_name, sep, setting = name.partition("/")
    task = get_task(task_name)
    if not sep or not setting:
        example = (list_tasks(task_name + "/*") or ["task1/roi-c1"])[0]
        raise ConfigError(f"task {name!r}: expected '<task>/<setting>', e.g. {example!r}")
    return task, task.check_setting(setting)
