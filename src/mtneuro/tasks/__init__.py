"""mtneuro.tasks: task 1, 2, 3 and neural decoding behind one task contract.

The names below are imported on first use::

    from mtneuro.tasks import get_task
    result = get_task("task1").execute(get_task("task1").make_config("quick", {"method": "pca"}))
"""

from mtneuro.registry import lazy_dir, lazy_exports

_EXPORTS = {
    "Task": "api",
    "Result": "api",
    "get_task": "registry",
    "list_tasks": "registry",
    "task_names": "registry",
    "register_task": "registry",
    "unregister_task": "registry",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "Result",
    "Task",
    "get_task",
    "list_tasks",
    "register_task",
    "task_names",
    "unregister_task",
]
__dir__ = lazy_dir(globals(), _EXPORTS)
