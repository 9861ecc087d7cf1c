"""Self-supervised pre-training of encoders (BYOL / MYOW / MYOW-merged): task and runtime code
over the methods of :mod:`mtneuro.ssl`.

- :mod:`~mtneuro.tasks.pretrain.config` (no torch): :class:`PretrainConfig`, ``PRESETS``,
  :func:`make_config`, :func:`task_pretrain_values` (a task's nested pre-training);
- :mod:`~mtneuro.tasks.pretrain.run`: :func:`pretrain_encoder` (in memory),
  :func:`run_pretrain` (``mtneuro pretrain``);
- :mod:`~mtneuro.tasks.pretrain.records`: ``encoder.pt`` and the numbers of ``metrics.json``
  (``mtneuro pretrain`` and ``mtneuro.pretrain(out=...)``).
"""
