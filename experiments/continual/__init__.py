"""Continual-learning harness shared by papers 34 (HLOP), 26 (HyperInterval) and 35 (sequential Bayes CL).

* :mod:`experiments.continual.tasks`: task sequences (Permuted / Split Digits, MNIST, Fashion-MNIST, user
  files) in the task-, class- or domain-incremental scenario;
* :mod:`experiments.continual.driver`: :class:`Method` (init / train_task / predict over a pytree carry) and
  :func:`run_sequence` (task after task, orbax checkpoint at every task boundary, resume = uninterrupted);
* :mod:`experiments.continual.metrics`: ACC, BWT and forgetting of the accuracy matrix ``A[i, j]``.
"""
from experiments.continual.driver import ContinualResult, Method, evaluate, run_sequence, task_key
from experiments.continual.metrics import acc, accuracy, bwt, forgetting
from experiments.continual.tasks import (FASHION_MNIST_DIR, SCENARIOS, ContinualTask, TaskSequence, load_image_set,
                                         make_sequence, permuted_digits, permuted_sequence, split_digits,
                                         split_sequence, task_permutations, train_test_split)

__all__ = ["ContinualResult", "Method", "evaluate", "run_sequence", "task_key", "acc", "accuracy", "bwt",
           "forgetting", "FASHION_MNIST_DIR", "SCENARIOS", "ContinualTask", "TaskSequence", "load_image_set",
           "make_sequence", "permuted_digits", "permuted_sequence", "split_digits", "split_sequence",
           "task_permutations", "train_test_split"]
