"""Batteries for theory/paging (paper 08): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import paging as P
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.paging",)

_PAGES = np.array([0, 1, 2, 0, 3, 1], np.int32)
_OUT = np.array([0, 1, 5, 0], np.int32)       # id 5 >= n_pages = 4 at index 2
_NEG = np.array([0, -1, 1], np.int32)
_KEY = jax.random.PRNGKey(0)
_BITS = np.array([0, 1, 1, 0, 1, 0], np.int32)


BAD_INPUTS = [
    BadInput("theory.paging.simulate", "id >= n_pages", lambda: P.simulate(_OUT, 2, "lru", n_pages=4),
             match=r"pages.*\[0, 4\).*index \(2,\)"),
    BadInput("theory.paging.simulate", "negative id", lambda: P.simulate(_NEG, 2, "lru"),
             match=r"pages.*index \(1,\)"),
    BadInput("theory.paging.simulate", "float ids", lambda: P.simulate(np.array([0.5, 1.0]), 2, "lru"),
             match="pages", error=TypeError),
    BadInput("theory.paging.simulate", "k = 0", lambda: P.simulate(_PAGES, 0, "lru"), match="k"),
    BadInput("theory.paging.simulate", "unknown algorithm", lambda: P.simulate(_PAGES, 2, "opt"),
             match="algorithm"),
    BadInput("theory.paging.simulate", "bit = 2", lambda: P.simulate(_PAGES, 2, "discard",
                                                                      bits=_BITS * 2), match=r"bits.*index"),
    BadInput("theory.paging.simulate", "bits shape", lambda: P.simulate(_PAGES, 2, "discard", bits=_BITS[:3]),
             match="bits"),
    BadInput("theory.paging.simulate", "no key", lambda: P.simulate(_PAGES, 2, "rand_marker"), match="key"),
    BadInput("theory.paging.simulate", "traced without n_pages",
             lambda: jax.jit(lambda p: P.simulate(p, 2, "lru").cost)(jnp.asarray(_PAGES)), match="n_pages"),
    BadInput("theory.paging.simulate_many", "id >= n_pages",
             lambda: P.simulate_many(np.stack([_PAGES[:4], _OUT]), 2, "lru", n_pages=4),
             match=r"pages.*index \(1, 2\)"),
    BadInput("theory.paging.simulate_many", "replication mismatch",
             lambda: P.simulate_many(np.stack([_PAGES, _PAGES]), 2, "discard", bits=np.stack([_BITS] * 3)),
             match="replications"),
    BadInput("theory.paging.simulate_many", "rank 3", lambda: P.simulate_many(_PAGES[None, None], 2, "lru"),
             match="pages"),
    BadInput("theory.paging.next_use", "negative id", lambda: P.next_use(_NEG), match=r"pages.*index \(1,\)"),
    BadInput("theory.paging.next_use", "id >= n_pages", lambda: P.next_use(_OUT, n_pages=4),
             match=r"pages.*index \(2,\)"),
    BadInput("theory.paging.phase_partition", "id >= n_pages", lambda: P.phase_partition(_OUT, 2, n_pages=4),
             match=r"pages.*index \(2,\)"),
    BadInput("theory.paging.phase_partition", "k = 0", lambda: P.phase_partition(_PAGES, 0), match="k"),
    BadInput("theory.paging.phase_bits", "negative id", lambda: P.phase_bits(_NEG, 2), match=r"pages.*index"),
    BadInput("theory.paging.phase_bits", "rank 3", lambda: P.phase_bits(_PAGES[None, None], 2), match="pages"),
    BadInput("theory.paging.discard_bits", "id >= n_pages", lambda: P.discard_bits(_OUT, 2, n_pages=4),
             match=r"pages.*index \(2,\)"),
    BadInput("theory.paging.discard_bits", "traced without n_pages",
             lambda: jax.jit(lambda p: P.discard_bits(p, 2))(jnp.asarray(_PAGES)), match="n_pages"),
    BadInput("theory.paging.perturb", "rate > 1", lambda: P.perturb(_KEY, _BITS, "flip", 1.5), match="rate"),
    BadInput("theory.paging.perturb", "rate NaN", lambda: P.perturb(_KEY, _BITS, "flip", float("nan")),
             match="rate"),
    BadInput("theory.paging.perturb", "unknown mode", lambda: P.perturb(_KEY, _BITS, "sometimes", 0.1),
             match="mode"),
    BadInput("theory.paging.perturb", "bit = 3", lambda: P.perturb(_KEY, _BITS * 3, "flip", 0.1),
             match=r"bits.*index \(1,\)"),
    BadInput("theory.paging.prediction_errors", "shape mismatch",
             lambda: P.prediction_errors(_BITS[:3], _BITS), match="predicted"),
    BadInput("theory.paging.prediction_errors", "true = 2", lambda: P.prediction_errors(_BITS, _BITS * 2),
             match=r"true.*index"),
    BadInput("theory.paging.zipf", "alpha < 0", lambda: P.zipf(_KEY, 5, 4, -1.0), match="alpha"),
    BadInput("theory.paging.zipf", "alpha inf", lambda: P.zipf(_KEY, 5, 4, float("inf")), match="alpha"),
    BadInput("theory.paging.zipf", "length 0", lambda: P.zipf(_KEY, 0, 4), match="length"),
    BadInput("theory.paging.loop_scan", "p_loop > 1", lambda: P.loop_scan(_KEY, 8, 6, 2, 1.2), match="p_loop"),
    BadInput("theory.paging.loop_scan", "loop_len >= n_pages", lambda: P.loop_scan(_KEY, 8, 3, 3),
             match="loop_len"),
    BadInput("theory.paging.markov_phase", "p_switch < 0",
             lambda: P.markov_phase(_KEY, 8, 6, 2, 3, p_switch=-0.1), match="p_switch"),
    BadInput("theory.paging.markov_phase", "set_size > n_pages", lambda: P.markov_phase(_KEY, 8, 6, 2, 7),
             match="set_size"),
    BadInput("theory.paging.markov_phase", "alpha NaN",
             lambda: P.markov_phase(_KEY, 8, 6, 2, 3, alpha=float("nan")), match="alpha"),
    BadInput("theory.paging.cyclic", "n_pages 0", lambda: P.cyclic(5, 0), match="n_pages"),
    BadInput("theory.paging.follower_trap", "length <= k", lambda: P.follower_trap(3, 3), match="length"),
    BadInput("theory.paging.load_trace", "missing file", lambda: P.load_trace("/nonexistent/trace.txt"),
             match="path"),
    BadInput("theory.paging.load_trace", "not a path", lambda: P.load_trace(3), match="path", error=TypeError),
    BadInput("theory.paging.workload", "unknown name", lambda: P.workload("scan", _KEY, 8, 6, 2), match="name"),
    BadInput("theory.paging.workload", "k = 0", lambda: P.workload("zipf", _KEY, 8, 6, 0), match="workload: k"),
    BadInput("theory.paging.max_faults_per_phase", "float faults",
             lambda: P.max_faults_per_phase(np.ones((2, 6)), np.zeros(6, np.int32)), match="faults"),
    BadInput("theory.paging.max_faults_per_phase", "phase length",
             lambda: P.max_faults_per_phase(np.ones((2, 6), bool), np.zeros(5, np.int32)), match="phase"),
    BadInput("theory.paging.slope_through_origin", "shape mismatch",
             lambda: P.slope_through_origin(np.ones(3), np.ones(4)), match="x, y"),
    BadInput("theory.paging.sweep", "rate > 1",
             lambda: P.sweep(0, ks=(2,), length=8, n_pages=6, reps=1, rates=(1.5,)), match="rates"),
    BadInput("theory.paging.sweep", "no cache size",
             lambda: P.sweep(0, ks=(), length=8, n_pages=6, reps=1, rates=(0.0,)), match="ks"),
    BadInput("theory.paging.sweep", "reps 0",
             lambda: P.sweep(0, ks=(2,), length=8, n_pages=6, reps=0, rates=(0.0,)), match="reps"),
    BadInput("theory.paging.sweep", "seed float",
             lambda: P.sweep(0.5, ks=(2,), length=8, n_pages=6, reps=1, rates=(0.0,)), match="seed",
             error=TypeError),
]

GRADIENTS = [
    NoGrad("theory.paging.perturb", lambda rate: P.perturb(_KEY, _BITS, "flip", rate),
           lambda: (np.float64(0.3),)),
    NoGrad("theory.paging.zipf", lambda alpha: P.zipf(_KEY, 6, 4, alpha), lambda: (np.float64(1.0),)),
    NoGrad("theory.paging.loop_scan", lambda p: P.loop_scan(_KEY, 8, 6, 2, p), lambda: (np.float64(0.5),)),
    NoGrad("theory.paging.markov_phase", lambda p: P.markov_phase(_KEY, 8, 6, 2, 3, p_switch=p),
           lambda: (np.float64(0.2),)),
    NoGrad("theory.paging.markov_phase", lambda a: P.markov_phase(_KEY, 8, 6, 2, 3, alpha=a),
           lambda: (np.float64(0.5),), case="no-grad alpha"),
    NoGrad("theory.paging.workload", lambda a: P.workload("zipf", _KEY, 6, 4, 2, a), lambda: (np.float64(1.0),)),
]

_INT = "grad: integer inputs only (page ids, bits, sizes)"
EXEMPT = {
    "theory.paging.simulate": _INT,
    "theory.paging.simulate_many": _INT,
    "theory.paging.next_use": _INT,
    "theory.paging.phase_partition": _INT,
    "theory.paging.phase_bits": _INT,
    "theory.paging.discard_bits": _INT,
    "theory.paging.prediction_errors": _INT,
    "theory.paging.cyclic": _INT,
    "theory.paging.follower_trap": _INT,
    "theory.paging.load_trace": "grad: reads integer page ids from a file path; no floating input",
    "theory.paging.max_faults_per_phase": "grad: host (numpy) count of bool faults; no floating input",
    "theory.paging.slope_through_origin": "grad: host (numpy float64) summary statistic of measured counts",
    "theory.paging.sweep": "grad: host-side experiment over integer traces; returns Python numbers",
}
