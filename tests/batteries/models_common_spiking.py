"""Batteries for models/common/spiking.py (the spiking core of papers 11 and 34).

The spike's backward pass is a surrogate (γ·max(0, 1 − |z|)), not the derivative of the step, so finite differences
can only check derivatives where the surrogate is zero or not on the path: membranes with |U/θ − 1| > 1 (never
near threshold), the summed readout's kernel with the spikes held fixed, and the smooth helpers. The surrogate
itself is checked against its formula in tests/models/test_spiking.py.
"""
import jax
import jax.numpy as jnp
import numpy as np

from models.common import spiking as S
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.common.spiking",)

F = "models.common.spiking."
KEY = jax.random.PRNGKey(0)
U = np.array([-0.4, 0.3, 2.5])          # with I below: pre-reset U/θ − 1 in (−∞, −1) ∪ (1, ∞) for θ = 1
I_ = np.array([-0.3, -0.6, 0.4])
CUR = -np.abs(np.random.default_rng(0).normal(size=(3, 4))) - 0.1   # negative currents: never near threshold
W1 = np.random.default_rng(1).normal(size=(3, 4))
W2 = np.random.default_rng(2).normal(size=(4, 2))
XS = np.random.default_rng(3).uniform(size=(2, 2, 3))
SPK = (np.random.default_rng(4).uniform(size=(4, 3)) < 0.5).astype(np.float64)
_MLP = S.SpikingMLP(features=(4, 2), timesteps=2, theta_init=0.5, leak_init=0.9)
_MLP_P = _MLP.init(KEY, jnp.ones((2, 3)))["params"]


def _mlp_readout(k):
  return _MLP.apply({"params": {**jax.tree.map(lambda a: a.astype(k.dtype), _MLP_P), "kernel_1": k}},
                    jnp.asarray(XS[0], k.dtype))


BAD_INPUTS = [
    BadInput(F + "spike", "gamma <= 0", lambda: S.spike(jnp.zeros(2), 0.0), match="gamma"),
    BadInput(F + "spike", "int z", lambda: S.spike(jnp.zeros(2, jnp.int32)), match="z", error=TypeError),
    BadInput(F + "surrogate_grad", "gamma <= 0", lambda: S.surrogate_grad(jnp.zeros(2), -1.0), match="gamma"),
    BadInput(F + "neuron_step", "theta <= 0", lambda: S.neuron_step(jnp.zeros(2), jnp.ones(2), 0.0), match="theta"),
    BadInput(F + "neuron_step", "leak > 1", lambda: S.neuron_step(jnp.zeros(2), jnp.ones(2), 1.0, 1.2), match="leak"),
    BadInput(F + "neuron_step", "shape mismatch", lambda: S.neuron_step(jnp.zeros(2), jnp.ones(3), 1.0),
             match="current"),
    BadInput(F + "run_neuron", "no timesteps", lambda: S.run_neuron(jnp.ones((0, 2)), 1.0), match="currents"),
    BadInput(F + "run_neuron", "leak 0", lambda: S.run_neuron(jnp.ones((3, 2)), 1.0, 0.0), match="leak"),
    BadInput(F + "run_neuron", "u0 shape", lambda: S.run_neuron(jnp.ones((3, 2)), 1.0, u0=jnp.zeros(3)), match="u0"),
    BadInput(F + "encode", "T < 1", lambda: S.encode(jnp.ones(3), 0), match="timesteps"),
    BadInput(F + "encode", "rate outside [0, 1]", lambda: S.encode(jnp.full(3, 2.0), 2, "rate", KEY), match="x"),
    BadInput(F + "encode", "rate without key", lambda: S.encode(jnp.ones(3), 2, "rate"), match="key"),
    BadInput(F + "encode", "unknown encoding", lambda: S.encode(jnp.ones(3), 2, "phase"), match="encoding"),
    BadInput(F + "dropout_masks", "rate 1", lambda: S.dropout_masks(KEY, [(2,)], 1.0), match="rate"),
    BadInput(F + "run_mlp", "layers not a list", lambda: S.run_mlp(W1, [], [], jnp.ones((1, 1, 3))), match="layers",
             error=TypeError),
    BadInput(F + "run_mlp", "x_seq rank", lambda: S.run_mlp([(W1, None), (W2, None)], [1.0], [1.0], jnp.ones((1, 3))),
             match="x_seq"),
    BadInput(F + "run_mlp", "kernel rows", lambda: S.run_mlp([(W1, None), (W1, None)], [1.0], [1.0],
                                                             jnp.ones((1, 1, 3))), match=r"layers\[1\]"),
    BadInput(F + "run_mlp", "theta count", lambda: S.run_mlp([(W1, None), (W2, None)], [], [], jnp.ones((1, 1, 3))),
             match="thetas"),
    BadInput(F + "run_mlp", "theta <= 0", lambda: S.run_mlp([(W1, None), (W2, None)], [-1.0], [1.0],
                                                            jnp.ones((1, 1, 3))), match=r"thetas\[0\]"),
    BadInput(F + "run_mlp", "leak > 1", lambda: S.run_mlp([(W1, None), (W2, None)], [1.0], [1.5],
                                                          jnp.ones((1, 1, 3))), match=r"leaks\[0\]"),
    BadInput(F + "run_mlp", "record out of range", lambda: S.run_mlp([(W1, None), (W2, None)], [1.0], [1.0],
                                                                     jnp.ones((1, 1, 3)), record=2), match="record"),
    BadInput(F + "weighted_rate", "weights length", lambda: S.weighted_rate(jnp.ones((3, 2)), jnp.ones(2)),
             match="weights"),
    BadInput(F + "weighted_rate", "zero weights", lambda: S.weighted_rate(jnp.ones((3, 2)), jnp.zeros(3)),
             match="weights"),
    BadInput(F + "exp_weights", "tau <= 0", lambda: S.exp_weights(3, tau=0.0), match="tau"),
    BadInput(F + "exp_weights", "T < 1", lambda: S.exp_weights(0), match="timesteps"),
    BadInput(F + "percentile", "p > 100", lambda: S.percentile(jnp.ones(3), 101.0), match="p"),
    BadInput(F + "percentile", "empty", lambda: S.percentile(jnp.ones(0), 50.0), match="x"),
    BadInput(F + "percentile", "method", lambda: S.percentile(jnp.ones(3), 50.0, "midpoint"), match="method"),
    BadInput(F + "clamp_leak", "max_leak <= 0", lambda: S.clamp_leak({"leak_0": 1.0}, 0.0), match="max_leak"),
    BadInput(F + "use_leak", "max_leak <= 0", lambda: S.use_leak({"leak_0": 1.0}, -1.0), match="max_leak"),
    BadInput(F + "SpikingMLP", "T < 1", lambda: S.SpikingMLP(features=(3, 2), timesteps=0).init(KEY, jnp.ones((1, 2))),
             match="timesteps"),
    BadInput(F + "SpikingMLP", "neuron", lambda: S.SpikingMLP(features=(3, 2), neuron="izh").init(KEY, jnp.ones((1, 2))),
             match="neuron"),
    BadInput(F + "SpikingMLP", "leak_init > 1", lambda: S.SpikingMLP(features=(3, 2), leak_init=1.5).init(
        KEY, jnp.ones((1, 2))), match="leak_init"),
    BadInput(F + "SpikingMLP", "theta_init <= 0", lambda: S.SpikingMLP(features=(3, 2), theta_init=0.0).init(
        KEY, jnp.ones((1, 2))), match="theta_init"),
]

GRADIENTS = [
    Grad(F + "surrogate_grad", jit_functional(S.surrogate_grad), lambda: (np.array([-1.7, -0.4, 0.3, 0.8, 2.0]),)),
    Grad(F + "neuron_step", jit_functional(lambda u, i, lam: S.neuron_step(u, i, 1.0, lam)),
         lambda: (U, I_, np.float64(0.8)), case="membrane away from threshold"),
    Grad(F + "run_neuron", jit_functional(lambda c, lam: S.run_neuron(c, 1.0, lam)[1]), lambda: (CUR, np.float64(0.7)),
         case="sub-threshold currents and leak"),
    Grad(F + "encode", jit_functional(lambda x: S.encode(x, 3)), lambda: (XS[0],), case="direct"),
    Grad(F + "run_mlp", jit_functional(lambda w: S.run_mlp([(jnp.asarray(W1, w.dtype), None), (w, None)], [0.5], [0.9],
                                                           jnp.asarray(XS, w.dtype)).logits),
         lambda: (W2,), case="readout kernel (spikes fixed)"),
    Grad(F + "weighted_rate", jit_functional(S.weighted_rate), lambda: (SPK, np.array([0.2, 0.5, 0.9, 1.0]))),
    Grad(F + "exp_weights", jit_functional(lambda dt, tau: S.exp_weights(4, dt, tau)),
         lambda: (np.float64(0.05), np.float64(1.3))),
    Grad(F + "percentile", jit_functional(lambda x: S.percentile(x, 37.0)), lambda: (np.array([0.3, -1.2, 2.2, 0.9, 0.1]),)),
    Grad(F + "clamp_leak", jit_functional(lambda a, b: S.clamp_leak({"leak_0": a, "theta_0": b})),
         lambda: (np.float64(0.8), np.float64(1.5))),
    Grad(F + "use_leak", jit_functional(lambda a, b: S.use_leak({"leak_0": a, "theta_0": b})),
         lambda: (np.float64(0.8), np.float64(1.5))),
    Grad(F + "SpikingMLP", jit_functional(_mlp_readout), lambda: (np.asarray(_MLP_P["kernel_1"]),),
         case="readout kernel (spikes fixed)"),
    NoGrad(F + "dropout_masks", lambda k: S.dropout_masks(k, [(3,)], 0.5), lambda: (KEY,),
           match="real- or complex|uint32|integer", case="random mask from a key"),
]

EXEMPT = {
    F + "spike": "grad: surrogate by design: the backward is γ·max(0, 1 − |z|), not the step's derivative (0 almost "
             "everywhere); tested against that formula in tests/models/test_spiking.py",
    F + "MLPOutput": "result container",
    F + "NEURONS": "constant",
    F + "ENCODINGS": "constant",
}
