"""Batteries for experiments/continual (the continual-learning harness): bad inputs; nothing is differentiated."""
import numpy as np

from experiments import continual as C
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("experiments.continual",)

_R = np.random.default_rng(0)
_X, _Y = _R.random((8, 4)).astype(np.float32), np.array([0, 1, 2, 3] * 2)
_T = C.ContinualTask("t", _X, _Y, _X, _Y, (0, 1, 2, 3))

BAD_INPUTS = [
    BadInput("experiments.continual.acc", "not square", lambda: C.acc(np.ones((2, 3))), match="acc: matrix"),
    BadInput("experiments.continual.bwt", "one task", lambda: C.bwt(np.ones((1, 1))), match="bwt: matrix"),
    BadInput("experiments.continual.forgetting", "NaN below the diagonal",
             lambda: C.forgetting(np.array([[1.0, 0], [np.nan, 1.0]])), match="matrix"),
    BadInput("experiments.continual.accuracy", "label length", lambda: C.accuracy(np.zeros((3, 2)), np.zeros(2)),
             match="labels"),
    BadInput("experiments.continual.make_sequence", "unknown scenario", lambda: C.make_sequence([_T], "online", 4),
             match="scenario"),
    BadInput("experiments.continual.make_sequence", "label out of range", lambda: C.make_sequence([_T], "class", 3),
             match="y_train"),
    BadInput("experiments.continual.permuted_sequence", "non-permutation",
             lambda: C.permuted_sequence(_X, _Y, _X, _Y, num_tasks=2, permutations=np.zeros((2, 4), int)),
             match="permutations"),
    BadInput("experiments.continual.permuted_sequence", "feature mismatch",
             lambda: C.permuted_sequence(_X, _Y, _X[:, :3], _Y, num_tasks=2), match="x_test"),
    BadInput("experiments.continual.split_sequence", "classes_per_task not a divisor",
             lambda: C.split_sequence(_X, _Y, _X, _Y, classes_per_task=3), match="classes_per_task"),
    BadInput("experiments.continual.split_sequence", "float labels",
             lambda: C.split_sequence(_X, _Y.astype(float), _X, _Y), match="y", error=TypeError),
    BadInput("experiments.continual.task_permutations", "no tasks", lambda: C.task_permutations(0, 4, 0),
             match="num_tasks"),
    BadInput("experiments.continual.train_test_split", "fraction 1",
             lambda: C.train_test_split(_X, _Y, test_fraction=1.0, seed=0), match="test_fraction"),
    BadInput("experiments.continual.permuted_digits", "no tasks", lambda: C.permuted_digits(0), match="num_tasks"),
    BadInput("experiments.continual.split_digits", "domain scenario", lambda: C.split_digits("domain"),
             match="scenario"),
    BadInput("experiments.continual.load_image_set", "unknown set", lambda: C.load_image_set("cifar10"),
             match="name"),
    BadInput("experiments.continual.run_sequence", "not a Method",
             lambda: C.run_sequence(None, C.make_sequence([_T], "class", 4)), match="method", error=TypeError),
    BadInput("experiments.continual.run_sequence", "stop_after out of range",
             lambda: C.run_sequence(C.Method("m", None, None, None), C.make_sequence([_T], "class", 4), stop_after=3),
             match="stop_after"),
    BadInput("experiments.continual.evaluate", "task out of range",
             lambda: C.evaluate(C.Method("m", None, None, lambda c, x: np.zeros((len(x), 4))), None,
                                C.make_sequence([_T], "class", 4), 2), match="after_task"),
]

GRADIENTS = []

EXEMPT = {
    "experiments.continual.acc": "grad: a metric on numpy accuracy matrices",
    "experiments.continual.bwt": "grad: a metric on numpy accuracy matrices",
    "experiments.continual.forgetting": "grad: a metric on numpy accuracy matrices",
    "experiments.continual.accuracy": "grad: an argmax count",
    "experiments.continual.make_sequence": "grad: data plumbing (numpy)",
    "experiments.continual.permuted_sequence": "grad: data plumbing (numpy)",
    "experiments.continual.split_sequence": "grad: data plumbing (numpy)",
    "experiments.continual.task_permutations": "grad: integer permutations",
    "experiments.continual.train_test_split": "grad: data plumbing (numpy)",
    "experiments.continual.permuted_digits": "grad: a data loader",
    "experiments.continual.split_digits": "grad: a data loader",
    "experiments.continual.load_image_set": "grad: a data loader",
    "experiments.continual.run_sequence": "grad: a Python training driver",
    "experiments.continual.evaluate": "grad: an accuracy evaluation",
    "experiments.continual.task_key": "integer PRNG key arithmetic (fold_in); no invalid input beyond jax's own",
    "experiments.continual.Method": "a plain dataclass of three callables",
}
