"""Batteries for theory/onehot_glm (paper 19): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import onehot_glm as G
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.onehot_glm",)

_KEY = jax.random.PRNGKey(19)
_X = np.array([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0]]])          # [R=1, T=4, N=2]
_NEG = _X.copy()
_NEG[0, 1, 0] = -1.0
_FRAC = _X.copy()
_FRAC[0, 2, 1] = 0.5
_PHI = G.exp_basis(2)
_W = np.array([[[0.0, 0.5], [-0.4, 0.0]], [[0.0, -0.3], [0.2, 0.0]]])      # [S=2, N=2, N=2]
_B = np.array([0.1, -0.2])
_PI = np.array([[0.9, 0.1], [0.2, 0.8]])
_BAD_PI = np.array([[0.9, 0.2], [0.2, 0.8]])
_LL = np.array([[-1.0, -2.0], [-0.5, -0.1], [-3.0, -1.0], [-0.2, -0.7]])
_TRUTH = G.make_truth(_KEY, 2, 2)
_FIT = G.FitResult(jnp.asarray(_W), jnp.asarray(_B), jnp.asarray(_PI), jnp.zeros((2, 2, 2), jnp.int32),
                   jnp.full((2, 2, 3), 1 / 3), jnp.zeros(1), {})


def _h(x):
  return G.spike_history(jnp.asarray(x), jnp.asarray(_PHI))


BAD_INPUTS = [
    BadInput("theory.onehot_glm.exp_basis", "K = 0", lambda: G.exp_basis(0), match="window"),
    BadInput("theory.onehot_glm.exp_basis", "decay <= 0", lambda: G.exp_basis(3, 0.0), match="decay"),
    BadInput("theory.onehot_glm.spike_history", "negative count", lambda: G.spike_history(_NEG, _PHI),
             match=r"spike_history: x: .*non-negative integer.*index \(0, 1, 0\)"),
    BadInput("theory.onehot_glm.spike_history", "non-integer count", lambda: G.spike_history(_FRAC, _PHI),
             match=r"x: .*0.5"),
    BadInput("theory.onehot_glm.spike_history", "2-d basis", lambda: G.spike_history(_X, np.ones((2, 2))),
             match="basis"),
    BadInput("theory.onehot_glm.emission_loglik", "W not square", lambda: G.emission_loglik(
        _X, _h(_X), np.zeros((2, 2, 3)), _B), match="W"),
    BadInput("theory.onehot_glm.emission_loglik", "negative count", lambda: G.emission_loglik(
        _NEG, _h(_X), _W, _B), match="x"),
    BadInput("theory.onehot_glm.emission_loglik", "unknown link", lambda: G.emission_loglik(
        _X, _h(_X), _W, _B, link="exp"), match="link"),
    BadInput("theory.onehot_glm.forward_backward", "Pi rows not summing to 1", lambda: G.forward_backward(
        _LL, _BAD_PI), match=r"Pi: .*rows summing to 1"),
    BadInput("theory.onehot_glm.forward_backward", "Pi shape", lambda: G.forward_backward(_LL, np.eye(3)),
             match="Pi"),
    BadInput("theory.onehot_glm.hmm_loglik", "p0 not a distribution", lambda: G.hmm_loglik(
        _LL, _PI, np.array([0.7, 0.7])), match="p0"),
    BadInput("theory.onehot_glm.viterbi", "Pi rows", lambda: G.viterbi(_LL, _BAD_PI), match="Pi"),
    BadInput("theory.onehot_glm.sample_states", "Pi rows", lambda: G.sample_states(_KEY, _BAD_PI, 5), match="Pi"),
    BadInput("theory.onehot_glm.sample_states", "n_bins 0", lambda: G.sample_states(_KEY, _PI, 0), match="n_bins"),
    BadInput("theory.onehot_glm.sample_states", "not a key", lambda: G.sample_states(3, _PI, 5), match="key",
             error=TypeError),
    BadInput("theory.onehot_glm.sticky_transitions", "S = 0", lambda: G.sticky_transitions(0), match="n_states"),
    BadInput("theory.onehot_glm.sticky_transitions", "stay > 1", lambda: G.sticky_transitions(3, 1.5),
             match="stay"),
    BadInput("theory.onehot_glm.make_truth", "S = 0", lambda: G.make_truth(_KEY, 0, 3), match="n_states"),
    BadInput("theory.onehot_glm.make_truth", "base shape", lambda: G.make_truth(_KEY, 2, 3, base=(1.0, 1.0)),
             match="base"),
    BadInput("theory.onehot_glm.simulate", "truth type", lambda: G.simulate(_KEY, (1, 2), 5), match="truth",
             error=TypeError),
    BadInput("theory.onehot_glm.simulate", "n_seq 0", lambda: G.simulate(_KEY, _TRUTH, 5, 0), match="n_seq"),
    BadInput("theory.onehot_glm.concrete_log_density", "tau <= 0", lambda: G.concrete_log_density(
        np.array([0.3, 0.7]), np.zeros(2), 0.0), match="tau"),
    BadInput("theory.onehot_glm.concrete_log_density", "log_pi dims", lambda: G.concrete_log_density(
        np.array([0.3, 0.7]), np.zeros(3), 0.2), match="log_pi"),
    BadInput("theory.onehot_glm.gumbel_softmax", "tau <= 0", lambda: G.gumbel_softmax(_KEY, np.zeros(3), -0.1),
             match="tau"),
    BadInput("theory.onehot_glm.gumbel_softmax", "k = 1", lambda: G.gumbel_softmax(_KEY, np.zeros(1), 0.2),
             match="logits"),
    BadInput("theory.onehot_glm.onehot_weights", "3 classes", lambda: G.onehot_weights(np.ones((2, 2)), np.ones(2)),
             match="a"),
    BadInput("theory.onehot_glm.onehot_weights", "strength shape", lambda: G.onehot_weights(
        np.ones((2, 3)), np.ones(3)), match="strength_raw"),
    BadInput("theory.onehot_glm.fit", "S = 0", lambda: G.fit(_KEY, _X, 0, "naive"), match="n_states"),
    BadInput("theory.onehot_glm.fit", "unknown variant", lambda: G.fit(_KEY, _X, 2, "laplace"), match="variant"),
    BadInput("theory.onehot_glm.fit", "negative count", lambda: G.fit(_KEY, _NEG, 2, "naive"), match="x"),
    BadInput("theory.onehot_glm.fit", "tau <= 0", lambda: G.fit(_KEY, _X, 2, "onehot", tau=0.0), match="tau"),
    BadInput("theory.onehot_glm.fit", "tau_w <= 0", lambda: G.fit(_KEY, _X, 2, "onehot", tau_w=-1.0),
             match="tau_w"),
    BadInput("theory.onehot_glm.fit_batch", "batch mismatch", lambda: G.fit_batch(
        jax.random.split(_KEY, 3), _X[None], 2, "naive"), match="x"),
    BadInput("theory.onehot_glm.fit_batch", "unknown keyword", lambda: G.fit_batch(
        jax.random.split(_KEY, 1), _X[None], 2, "naive", n_steps=3), match="n_steps", error=TypeError),
    BadInput("theory.onehot_glm.state_posterior", "not a FitResult", lambda: G.state_posterior((1,), _X[0]),
             match="result", error=TypeError),
    BadInput("theory.onehot_glm.state_posterior", "N mismatch", lambda: G.state_posterior(_FIT, np.ones((4, 3))),
             match="x"),
    BadInput("theory.onehot_glm.loglik_per_bin", "negative count", lambda: G.loglik_per_bin(_FIT, _NEG),
             match="x"),
    BadInput("theory.onehot_glm.match_states", "label out of range", lambda: G.match_states(
        np.array([0, 3]), np.array([0, 1]), 2), match="z_true"),
    BadInput("theory.onehot_glm.match_states", "S = 0", lambda: G.match_states(np.zeros(2, int), np.zeros(2, int),
                                                                               0), match="n_states"),
    BadInput("theory.onehot_glm.adjacency_scores", "value 2", lambda: G.adjacency_scores(
        np.array([0, 2]), np.array([0, 1])), match="true_types"),
    BadInput("theory.onehot_glm.weight_correlation", "shape mismatch", lambda: G.weight_correlation(
        np.ones(3), np.ones(4)), match="W_true, W_hat"),
    BadInput("theory.onehot_glm.recovery", "shape mismatch", lambda: G.recovery(
        _TRUTH, _FIT, np.array([0, 1]), np.array([0])), match="z_true, z_hat"),
    BadInput("theory.onehot_glm.recovery_experiment", "K sizes empty", lambda: G.recovery_experiment(
        _KEY, train_sizes=()), match="train_sizes"),
    BadInput("theory.onehot_glm.recovery_experiment", "unknown variant", lambda: G.recovery_experiment(
        _KEY, variants=("bayes",)), match="variants"),
    BadInput("theory.onehot_glm.single_neuron_demo", "2 neurons", lambda: G.single_neuron_demo(_KEY, _X[0]),
             match="counts"),
    BadInput("theory.onehot_glm.load_spike_counts", "which 3", lambda: G.load_spike_counts(3, path="."),
             match="which"),
    BadInput("theory.onehot_glm.load_spike_counts", "missing file", lambda: G.load_spike_counts(
        1, path="no-such-dir-onehot"), match="path", error=FileNotFoundError),
]

R = ("rev",)
_A = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])

GRADIENTS = [
    Grad("theory.onehot_glm.concrete_log_density", jax.jit(lambda a, lp: G.concrete_log_density(a, lp, 0.2)),
         lambda: (_A, np.log(np.array([0.1, 0.8, 0.1]))), modes=R),
    Grad("theory.onehot_glm.gumbel_softmax", jax.jit(lambda l: G.gumbel_softmax(_KEY, l, 0.5)),
         lambda: (np.array([[0.1, -0.3, 0.4]]),), modes=R),
    Grad("theory.onehot_glm.onehot_weights", jax.jit(G.onehot_weights), lambda: (_A, np.array([0.3, -0.2])),
         modes=R),
    Grad("theory.onehot_glm.spike_history", jax.jit(lambda x: G.spike_history(x, jnp.asarray(_PHI))),
         lambda: (_X,), modes=R),
    Grad("theory.onehot_glm.emission_loglik", jax.jit(lambda w, b: G.emission_loglik(
        jnp.asarray(_X), _h(_X), w, b)), lambda: (_W, _B), modes=R),
    Grad("theory.onehot_glm.forward_backward", jax.jit(lambda ll: G.forward_backward(ll, jnp.asarray(_PI))),
         lambda: (_LL,), modes=R),
    Grad("theory.onehot_glm.hmm_loglik", jax.jit(lambda ll, p: G.hmm_loglik(ll, p)), lambda: (_LL, _PI), modes=R),
    Grad("theory.onehot_glm.state_posterior", jax.jit(lambda w: G.state_posterior(
        _FIT._replace(W=w), jnp.asarray(_X[0]), basis=jnp.asarray(_PHI)).gamma), lambda: (_W,), modes=R),
    Grad("theory.onehot_glm.loglik_per_bin", jax.jit(lambda w, b: G.loglik_per_bin(
        _FIT._replace(W=w, b=b), jnp.asarray(_X), basis=jnp.asarray(_PHI))), lambda: (_W, _B), modes=R),
    NoGrad("theory.onehot_glm.viterbi", lambda ll: G.viterbi(ll, _PI).astype(jnp.float32), lambda: (_LL,)),
    NoGrad("theory.onehot_glm.sample_states", lambda p: G.sample_states(_KEY, p, 3).astype(jnp.float32),
           lambda: (_PI,)),
    NoGrad("theory.onehot_glm.simulate", lambda w: G.simulate(_KEY, _TRUTH._replace(W=w), 3)[0],
           lambda: (_W,)),
    NoGrad("theory.onehot_glm.fit", lambda x: G.fit(_KEY, x, 1, "naive", n_iter=1, n_mstep=1).W, lambda: (_X,)),
    NoGrad("theory.onehot_glm.fit_batch", lambda x: G.fit_batch(jax.random.split(_KEY, 1), x, 1, "naive",
                                                                  n_iter=1, n_mstep=1).W, lambda: (_X[None],)),
]

_HOST = "grad: host-side numpy on labels/integers (piecewise constant, returns Python floats or int arrays)"
EXEMPT = {
    "theory.onehot_glm.CLASSES": "constant", "theory.onehot_glm.LINKS": "constant",
    "theory.onehot_glm.METRICS": "constant", "theory.onehot_glm.VARIANTS": "constant",
    "theory.onehot_glm.DemoResult": "result container", "theory.onehot_glm.FitResult": "result container",
    "theory.onehot_glm.Posterior": "result container", "theory.onehot_glm.Recovery": "result container",
    "theory.onehot_glm.RecoveryResults": "result container", "theory.onehot_glm.Truth": "result container",
    "theory.onehot_glm.adjacency_scores": _HOST, "theory.onehot_glm.match_states": _HOST,
    "theory.onehot_glm.weight_correlation": _HOST, "theory.onehot_glm.recovery": _HOST,
    "theory.onehot_glm.exp_basis": "grad: host numpy basis from Python numbers (window is an int)",
    "theory.onehot_glm.sticky_transitions": "grad: host numpy matrix from Python numbers",
    "theory.onehot_glm.make_truth": "grad: takes only a key and Python numbers (discrete types by argmax)",
    "theory.onehot_glm.load_spike_counts": "grad: file reader (integer counts)",
    "theory.onehot_glm.nitime_data_dir": "no arguments (returns a path or None)",
    "theory.onehot_glm.recovery_experiment": "grad: host-side experiment driver returning numpy metrics",
    "theory.onehot_glm.single_neuron_demo": "grad: host-side experiment driver returning Python floats",
}
