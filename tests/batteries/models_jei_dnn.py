"""Batteries for models/jei_dnn (paper 01): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import jei_dnn as J
from battery import BadInput, Grad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.jei_dnn",)

_R = np.random.default_rng(1)
_L, _K, _B = 3, 3, 4
_M = J.JEIDNN(width=6, bottleneck=3, n_blocks=3, num_exits=_L, num_classes=_K)
_X = _R.normal(size=(_B, 5)).astype(np.float32)
_SHAPES = jax.eval_shape(lambda k: _M.init(k, _X), jax.random.PRNGKey(0))
_P = jax.tree.map(lambda s: 0.5 * _R.normal(size=s.shape), _SHAPES)["params"]
_Z = _R.normal(size=(_B, _L, _K))
_PR = np.asarray(jax.nn.softmax(jnp.asarray(_Z), -1))
_G = _R.uniform(0.1, 0.9, (_B, _L - 1))
_Y = jnp.asarray([0, 1, 2, 1], jnp.int32)
_C = jnp.asarray([0.3, 0.6, 1.0])
_F = _R.normal(size=(_B, _L, 6))
_FZ = _R.normal(size=(_B, _K))
_D = {"feats": _F.astype(np.float32), "final": _FZ.astype(np.float32), "y": np.asarray(_Y)}
_BAD_PROBS = np.full((_B, _L, _K), 0.5)   # rows sum to 1.5
R = ("rev",)

BAD_INPUTS = [
    BadInput("models.jei_dnn.gate_features", "not summing to 1", lambda: J.gate_features(_BAD_PROBS), match="probs"),
    BadInput("models.jei_dnn.exit_distribution", "rank 1", lambda: J.exit_distribution(_G[0]), match="gates"),
    BadInput("models.jei_dnn.cumulative_costs", "gate count", lambda: J.cumulative_costs([1, 1], [1, 1], [1, 1]),
             match="gate_macs"),
    BadInput("models.jei_dnn.expected_cost", "costs not increasing",
             lambda: J.expected_cost(J.exit_distribution(_G), jnp.asarray([0.5, 0.4, 1.0])), match="costs"),
    BadInput("models.jei_dnn.cross_entropies", "logits not [B, L, K]", lambda: J.cross_entropies(_Z[0], _Y),
             match="logits"),
    BadInput("models.jei_dnn.oracle_exit", "lam < 0", lambda: J.oracle_exit(_Z[..., 0], _C, -0.1), match="lam"),
    BadInput("models.jei_dnn.oracle_exit", "costs not increasing",
             lambda: J.oracle_exit(_Z[..., 0], jnp.asarray([0.5, 0.5, 1.0]), 0.1), match="costs"),
    BadInput("models.jei_dnn.gate_targets", "num_exits < 2", lambda: J.gate_targets(jnp.zeros(3, jnp.int32), 1),
             match="num_exits"),
    BadInput("models.jei_dnn.positive_weights", "clip <= 0",
             lambda: J.positive_weights(jnp.zeros(3, jnp.int32), 3, clip=0.0), match="clip"),
    BadInput("models.jei_dnn.gate_loss", "weight shape", lambda: J.gate_loss(_G, _G, jnp.ones(5)), match="pos_weight"),
    BadInput("models.jei_dnn.im_loss", "pi shape", lambda: J.im_loss(_Z, _Y, _G), match="pi"),
    BadInput("models.jei_dnn.official_im_loss", "gates shape", lambda: J.official_im_loss(_Z, _Y, _G[:, :1]),
             match="gates"),
    BadInput("models.jei_dnn.warmup_loss", "float labels", lambda: J.warmup_loss(_Z, jnp.zeros(_B)), match="labels"),
    BadInput("models.jei_dnn.gated_exit", "threshold > 1", lambda: J.gated_exit(_G, 1.5), match="threshold"),
    BadInput("models.jei_dnn.threshold_exit", "probs not [B, L, K]", lambda: J.threshold_exit(_PR[0], 0.5),
             match="probs"),
    BadInput("models.jei_dnn.threshold_exit", "theta > 1", lambda: J.threshold_exit(_PR, 1.5), match="theta"),
    BadInput("models.jei_dnn.take_exit", "batch mismatch", lambda: J.take_exit(_Z, jnp.zeros(2, jnp.int32)),
             match="x"),
    BadInput("models.jei_dnn.ece", "confidence > 1", lambda: J.ece(np.array([1.5, 0.2]), np.array([1, 0])),
             match="confidence"),
    BadInput("models.jei_dnn.reliability", "n_bins = 0", lambda: J.reliability(np.ones(3), np.ones(3), 0),
             match="n_bins"),
    BadInput("models.jei_dnn.conformal_quantile", "alpha = 1", lambda: J.conformal_quantile(np.ones(5), 1.0),
             match="alpha"),
    BadInput("models.jei_dnn.per_exit_quantiles", "alpha = 0",
             lambda: J.per_exit_quantiles(np.ones(4), np.zeros(4, int), np.ones((4, 2)), 0.0), match="alpha"),
    BadInput("models.jei_dnn.per_exit_quantiles", "exit out of range",
             lambda: J.per_exit_quantiles(np.ones(4), np.full(4, 2), np.ones((4, 2)), 0.1), match="exits"),
    BadInput("models.jei_dnn.prediction_sets", "qhat shape", lambda: J.prediction_sets(_PR[:, 0], np.ones(2)),
             match="qhat"),
    BadInput("models.jei_dnn.set_metrics", "sets shape", lambda: J.set_metrics(np.ones((3, 2), bool), _Y),
             match="sets"),
    BadInput("models.jei_dnn.exit_blocks", "more exits than blocks", lambda: J.exit_blocks(3, 4), match="num_exits"),
    BadInput("models.jei_dnn.resmlp_macs", "more exits than blocks", lambda: J.resmlp_macs(5, 6, 3, 3, 5, 3),
             match="num_exits"),
    BadInput("models.jei_dnn.JEIDNN", "more exits than blocks",
             lambda: J.JEIDNN(n_blocks=2, num_exits=3).init(jax.random.PRNGKey(0), _X), match="num_exits"),
    BadInput("models.jei_dnn.ResMLPBackbone", "rank-1 x", lambda: J.ResMLPBackbone().init(jax.random.PRNGKey(0),
                                                                                          _X[0]), match="x"),
    BadInput("models.jei_dnn.ExitHeads", "head count", lambda: J.ExitHeads(2, 3).init(jax.random.PRNGKey(0), _F),
             match="h"),
    BadInput("models.jei_dnn.UncertaintyGates", "gate count",
             lambda: J.UncertaintyGates(1).init(jax.random.PRNGKey(0), _PR), match="probs"),
    BadInput("models.jei_dnn.difficulty_digits", "unknown mode",
             lambda: J.difficulty_digits(_X, np.zeros(_B), 0, mode="blur"), match="mode"),
    BadInput("models.jei_dnn.split_indices", "fractions", lambda: J.split_indices(10, 0, (0.5, 0.5, 0.5, 0.5)),
             match="fractions"),
    BadInput("models.jei_dnn.model_costs", "more exits than blocks",
             lambda: J.model_costs(J.JEIDNN(n_blocks=2, num_exits=3), 5), match="num_exits"),
    BadInput("models.jei_dnn.train_backbone", "rank-1 x",
             lambda: J.train_backbone(_M, _X[0], _Y, seed=0, steps=1), match="x"),
    BadInput("models.jei_dnn.train_ims", "unknown loss", lambda: J.train_ims(_M, _P, _D, _D, loss="boosted"),
             match="loss"),
    BadInput("models.jei_dnn.phase_loss", "unknown phase",
             lambda: J.phase_loss(_M, _P, _F, _FZ, _Y, phase=2, lam=0.1, costs=_C), match="phase"),
    BadInput("models.jei_dnn.phase_loss", "lam < 0",
             lambda: J.phase_loss(_M, _P, _F, _FZ, _Y, phase=1, lam=-1.0, costs=_C), match="lam"),
    BadInput("models.jei_dnn.train_bilevel", "cycles = 0",
             lambda: J.train_bilevel(_M, _P, _D, _D, lam=0.1, costs=_C, cycles=0, phase_steps=1), match="cycles"),
    BadInput("models.jei_dnn.exit_outputs", "feature rank",
             lambda: J.exit_outputs(_M, _P, _F[0], _FZ), match="h"),
    BadInput("models.jei_dnn.backbone_features", "rank-1 x", lambda: J.backbone_features(_M, _P, _X[0]), match="x"),
    BadInput("models.jei_dnn.budget_auc", "length mismatch", lambda: J.budget_auc([0.5], [0.1, 0.2]),
             match="costs, accuracies"),
    BadInput("models.jei_dnn.policy_metrics", "probs not [n, L, K]",
             lambda: J.policy_metrics(_PR[0], np.zeros(_L, int), np.zeros(_L, int), _C), match="probs"),
    BadInput("models.jei_dnn.compare_policies", "alpha = 0",
             lambda: J.compare_policies(_X, np.zeros(_B, int), seed=0, model=_M, lams=(0.1,), thetas=(0.5,),
                                        backbone_steps=1, warmup_epochs=1, cycles=1, phase_steps=1, alpha=0.0),
             match="alpha"),
]

_j = jax.jit
GRADIENTS = [
    Grad("models.jei_dnn.exit_distribution", _j(J.exit_distribution), lambda: (_G,), modes=R),
    Grad("models.jei_dnn.expected_cost", _j(lambda p: J.expected_cost(p, _C.astype(p.dtype))),
         lambda: (np.asarray(J.exit_distribution(_G)),), modes=R),
    Grad("models.jei_dnn.cross_entropies", _j(lambda z: J.cross_entropies(z, _Y)), lambda: (_Z,), modes=R),
    Grad("models.jei_dnn.gate_loss", _j(lambda z: J.gate_loss(z, (_G > 0.5).astype(z.dtype), jnp.asarray(
        [2.0, 0.5], z.dtype))), lambda: (_G - 0.5,), modes=R),
    Grad("models.jei_dnn.im_loss", _j(lambda z: J.im_loss(z, _Y, J.exit_distribution(jnp.asarray(_G, z.dtype)))),
         lambda: (_Z,), modes=R),
    Grad("models.jei_dnn.official_im_loss", _j(lambda z: J.official_im_loss(z, _Y, jnp.asarray(_G, z.dtype))),
         lambda: (_Z,), modes=R),
    Grad("models.jei_dnn.warmup_loss", _j(lambda z: J.warmup_loss(z, _Y)), lambda: (_Z,), modes=R),
    Grad("models.jei_dnn.take_exit", _j(lambda z: J.take_exit(z, jnp.asarray([0, 2, 1, 2]))), lambda: (_Z,),
         modes=R),
    # the exits' logits only: the gate logits read detached statistics of the IMs (stop-gradient by design), which a
    # finite difference through the IM parameters would see and the derivative must not
    Grad("models.jei_dnn.JEIDNN", _j(lambda p: _M.apply({"params": p}, jnp.asarray(_X, p["ims"]["bias"].dtype))[
        "logits"]), lambda: (_P,), modes=R),
    # the gate phase, differentiated in the gate parameters (the IM phase's pi is detached from the IMs likewise)
    Grad("models.jei_dnn.phase_loss", _j(lambda g: J.phase_loss(
        _M, {**jax.tree.map(lambda a: jnp.asarray(a, g["bias"].dtype), _P), "gates": g},
        jnp.asarray(_F, g["bias"].dtype), jnp.asarray(_FZ, g["bias"].dtype), _Y, phase=J.GATE_PHASE, lam=0.1,
        costs=_C)[0]), lambda: (_P["gates"],), modes=R, case="gate phase"),
]
_INT = "grad: integer / boolean output (an exit index, a target, a count); nothing to differentiate"
_HOST = "grad: host-side numpy evaluation of finished predictions, not part of any trained computation"
_TRAIN = "grad: a trainer / experiment driver (host loop over jitted scans); its losses have Grad cases"
_COVERED = "grad: a part of JEIDNN, differentiated through the JEIDNN and phase_loss cases (one compile each)"
EXEMPT = {
    "models.jei_dnn.ResMLPBackbone": _COVERED, "models.jei_dnn.ExitHeads": _COVERED,
    "models.jei_dnn.UncertaintyGates": _COVERED,
    "models.jei_dnn.gate_features": "grad: detached by design (stop_gradient: the gates read the IMs' statistics "
                                    "without back-propagating into them); the zero derivative is asserted in "
                                    "tests/models/test_jei_dnn.py",
    "models.jei_dnn.cumulative_costs": "grad: constants from integer multiply-add counts (numpy)",
    "models.jei_dnn.oracle_exit": _INT, "models.jei_dnn.gate_targets": _INT,
    "models.jei_dnn.positive_weights": "grad: ratios of integer counts (a function of exit indices only)",
    "models.jei_dnn.gated_exit": _INT, "models.jei_dnn.threshold_exit": _INT,
    "models.jei_dnn.exit_blocks": _INT, "models.jei_dnn.resmlp_macs": _INT,
    "models.jei_dnn.ece": _HOST, "models.jei_dnn.reliability": _HOST, "models.jei_dnn.conformal_quantile": _HOST,
    "models.jei_dnn.per_exit_quantiles": _HOST, "models.jei_dnn.prediction_sets": _HOST,
    "models.jei_dnn.set_metrics": _HOST, "models.jei_dnn.budget_auc": _HOST, "models.jei_dnn.policy_metrics": _HOST,
    "models.jei_dnn.difficulty_digits": "grad: a data generator (numpy noise / occlusion from a seed)",
    "models.jei_dnn.split_indices": _INT, "models.jei_dnn.model_costs": "grad: constants from integer MAC counts",
    "models.jei_dnn.train_backbone": _TRAIN, "models.jei_dnn.train_ims": _TRAIN,
    "models.jei_dnn.train_bilevel": _TRAIN, "models.jei_dnn.compare_policies": _TRAIN,
    "models.jei_dnn.backbone_features": "grad: numpy read-out of JEIDNN.features (covered by the JEIDNN case)",
    "models.jei_dnn.exit_outputs": "grad: numpy read-out of JEIDNN.exits (which has a Grad case)",
}
