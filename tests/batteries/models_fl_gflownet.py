"""Batteries for models/fl_gflownet (paper 22): bad inputs and derivatives."""
import jax
import jax.numpy as jnp
import numpy as np

from models import fl_gflownet as G
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.fl_gflownet",)

_R = np.random.default_rng(22)
_E = np.array([0.5, -0.3, 1.1, -0.8])
_ENV = G.set_env(_E, 2)
_ENUM = _ENV.enumerate()
_GRID = G.hypergrid(height=3, ndim=2, r0=0.1)
_KEY = jax.random.PRNGKey(0)
_KEYS = jax.random.split(_KEY, 2)
_POL = G.GFNPolicy(num_actions=4, hidden=4, depth=1)


def _terms(b=2, t=2):
  valid = np.array([[True, True], [True, False]])
  terminal = np.array([[False, False, True], [False, False, False]])
  return G.Terms(log_pf=-_R.random((b, t)), log_pb=-_R.random((b, t)), log_flow=_R.normal(size=(b, t + 1)),
                 energy=_R.normal(size=(b, t + 1)), terminal=terminal, valid=valid)


_T = _terms()
_LPB = np.asarray(G.uniform_log_pb(_ENUM))
_LPF = np.where(_ENUM.forward_mask, -np.log(np.maximum(_ENUM.forward_mask.sum(1, keepdims=True), 1)), -1e9)
_PARAMS = jax.tree.map(lambda s: 0.5 * _R.normal(size=s.shape),
                       jax.eval_shape(lambda k: G.init_params(_POL, _ENV, k), _KEY))
_OBS, _FM, _BM = _ENUM.obs[:3], _ENUM.forward_mask[:3], _ENUM.backward_mask[:3]
_TRAJ = G.Trajectories(states=np.zeros((2, 3, 4), np.int32), actions=np.zeros((2, 2), np.int32),
                       valid=np.ones((2, 2), bool))
_bad_terms = _T._replace(valid=np.ones((2, 3), bool))
_fn = lambda *a: _POL.apply({"params": _PARAMS["net"]}, *a)   # noqa: E731

BAD_INPUTS = [
    BadInput("models.fl_gflownet.set_env", "|S| > |U|", lambda: G.set_env(_E, 5), match="set_size"),
    BadInput("models.fl_gflownet.set_env", "non-finite energy (reward 0)", lambda: G.set_env([0.1, np.inf], 1),
             match="energies"),
    BadInput("models.fl_gflownet.SetEnv", "enumerate too large",
             lambda: G.set_env(np.zeros(21), 3).enumerate(), match="size"),
    BadInput("models.fl_gflownet.hypergrid", "H < 2", lambda: G.hypergrid(height=1), match="height"),
    BadInput("models.fl_gflownet.hypergrid", "reward floor <= 0", lambda: G.hypergrid(r0=0.0), match="r0"),
    BadInput("models.fl_gflownet.HyperGrid", "enumerate too large",
             lambda: G.HyperGrid(height=1000, ndim=2).enumerate(), match="H\\^D"),
    BadInput("models.fl_gflownet.random_set_energies", "kappa < 0",
             lambda: G.random_set_energies(_KEY, 4, -1.0), match="kappa"),
    BadInput("models.fl_gflownet.GFNPolicy", "mask shape",
             lambda: _POL.init(_KEY, _OBS, _FM[:, :3], _BM), match="forward_mask"),
    BadInput("models.fl_gflownet.masked_log_softmax", "mask not bool",
             lambda: G.masked_log_softmax(np.zeros(3), np.ones(3)), match="mask", error=TypeError),
    BadInput("models.fl_gflownet.db_loss", "valid shape", lambda: G.db_loss(_bad_terms), match="terms.valid"),
    BadInput("models.fl_gflownet.db_residuals", "forward_looking not bool",
             lambda: G.db_residuals(_T, forward_looking=1), match="forward_looking", error=TypeError),
    BadInput("models.fl_gflownet.state_log_flows", "not Terms", lambda: G.state_log_flows(tuple(_T)),
             match="terms", error=TypeError),
    BadInput("models.fl_gflownet.subtb_loss", "lambda = 0", lambda: G.subtb_loss(_T, 0.0), match="lam"),
    BadInput("models.fl_gflownet.subtb_loss", "lambda > 1", lambda: G.subtb_loss(_T, 1.5), match="lam"),
    BadInput("models.fl_gflownet.tb_loss", "log_z vector", lambda: G.tb_loss(_T, np.zeros(2)), match="log_z"),
    BadInput("models.fl_gflownet.gfn_loss", "unknown loss", lambda: G.gfn_loss("fm", _T), match="name"),
    BadInput("models.fl_gflownet.gfn_loss", "tb without log_z", lambda: G.gfn_loss("tb", _T), match="log_z"),
    BadInput("models.fl_gflownet.terminal_distribution", "table shape",
             lambda: G.terminal_distribution(np.zeros((2, 4)), _ENUM), match="log_pf"),
    BadInput("models.fl_gflownet.target_distribution", "not an Enumeration",
             lambda: G.target_distribution(_ENV), match="enum", error=TypeError),
    BadInput("models.fl_gflownet.exact_log_flows", "table shape", lambda: G.exact_log_flows(np.zeros(3), _ENUM),
             match="log_pb"),
    BadInput("models.fl_gflownet.exact_forward_policy", "int table",
             lambda: G.exact_forward_policy(np.zeros(_LPB.shape, np.int32), _ENUM), match="log_pb", error=TypeError),
    BadInput("models.fl_gflownet.uniform_log_pb", "not an Enumeration", lambda: G.uniform_log_pb(None),
             match="enum", error=TypeError),
    BadInput("models.fl_gflownet.l1_distance", "shape mismatch", lambda: G.l1_distance(np.ones(3), np.ones(2)),
             match="q"),
    BadInput("models.fl_gflownet.elementary_symmetric", "reward <= 0",
             lambda: G.elementary_symmetric(np.array([1.0, 0.0, 2.0]), 2), match="r: expected rewards > 0"),
    BadInput("models.fl_gflownet.log_elementary_symmetric", "|S| > |U|",
             lambda: G.log_elementary_symmetric(np.zeros(3), 4), match="k"),
    BadInput("models.fl_gflownet.set_target_probs", "mixed set sizes",
             lambda: G.set_target_probs(_E, np.array([[1, 0, 0, 0], [1, 1, 0, 0]])), match="states"),
    BadInput("models.fl_gflownet.sample_trajectories", "epsilon > 1",
             lambda: G.sample_trajectories(_ENV, _fn, _KEYS, 1.5), match="epsilon"),
    BadInput("models.fl_gflownet.sample_trajectories", "keys rank", lambda: G.sample_trajectories(_ENV, _fn, _KEY),
             match="keys"),
    BadInput("models.fl_gflownet.truncate_prefixes", "max_len > T",
             lambda: G.truncate_prefixes(_TRAJ, _KEYS, 1, 3), match="max_len"),
    BadInput("models.fl_gflownet.trajectory_terms", "state width",
             lambda: G.trajectory_terms(_ENV, _fn, _TRAJ._replace(states=np.zeros((2, 3, 5), np.int32))),
             match="traj"),
    BadInput("models.fl_gflownet.make_loss_fn", "epsilon < 0",
             lambda: G.make_loss_fn(_ENV, _POL, "fl_db", epsilon=-0.1), match="epsilon"),
    BadInput("models.fl_gflownet.make_loss_fn", "prefix too long",
             lambda: G.make_loss_fn(_ENV, _POL, "fl_db", prefix=(1, 3)), match="prefix"),
    BadInput("models.fl_gflownet.make_policy", "hidden 0", lambda: G.make_policy(_ENV, hidden=0).init(
        _KEY, _OBS, _FM, _BM), match="hidden"),
    BadInput("models.fl_gflownet.init_params", "depth < 0",
             lambda: G.init_params(G.GFNPolicy(num_actions=4, depth=-1), _ENV, _KEY), match="depth"),
    BadInput("models.fl_gflownet.exact_l1", "not an Enumeration",
             lambda: G.exact_l1(_POL, _PARAMS, _ENV, _ENV), match="exact_l1: enum", error=TypeError),
    BadInput("models.fl_gflownet.train_curves", "steps not a multiple",
             lambda: G.train_curves(_ENV, _KEYS, losses=["db", "db"], epsilons=[0, 0], num_steps=5, eval_every=2),
             match="num_steps"),
    BadInput("models.fl_gflownet.train_curves", "one loss for two runs",
             lambda: G.train_curves(_ENV, _KEYS, losses=["db"], epsilons=[0, 0], num_steps=2, eval_every=2),
             match="losses"),
    BadInput("models.fl_gflownet.steps_to_threshold", "shape",
             lambda: G.steps_to_threshold(np.arange(3), np.zeros((2, 2)), 0.1), match="l1"),
]

_j = jax.jit
R = ("rev",)
_TF = lambda lf, pf, pb, e: _T._replace(log_flow=lf, log_pf=pf, log_pb=pb, energy=e)   # noqa: E731
_TARGS = lambda: (_T.log_flow, _T.log_pf, _T.log_pb, _T.energy)                      # noqa: E731

GRADIENTS = [
    Grad("models.fl_gflownet.db_loss", _j(lambda *a: G.db_loss(_TF(*a), True)), _TARGS, modes=R),
    Grad("models.fl_gflownet.db_residuals", _j(lambda *a: G.db_residuals(_TF(*a))), _TARGS, modes=R),
    Grad("models.fl_gflownet.state_log_flows", _j(lambda *a: G.state_log_flows(_TF(*a), True)), _TARGS, modes=R),
    Grad("models.fl_gflownet.subtb_loss", _j(lambda *a: G.subtb_loss(_TF(*a), 0.8, True)), _TARGS, modes=R),
    Grad("models.fl_gflownet.tb_loss", _j(lambda z, *a: G.tb_loss(_TF(*a), z)), lambda: (0.3, *_TARGS()), modes=R),
    Grad("models.fl_gflownet.gfn_loss", _j(lambda *a: G.gfn_loss("subtb", _TF(*a))), _TARGS, modes=R),
    Grad("models.fl_gflownet.masked_log_softmax", _j(lambda x: G.masked_log_softmax(x, jnp.asarray(_FM))[_FM]),
         lambda: (_R.normal(size=_FM.shape),), modes=R),
    Grad("models.fl_gflownet.GFNPolicy", _j(lambda p, o: _POL.apply({"params": p}, o, _FM, _BM)[2]),
         lambda: (_PARAMS["net"], _OBS), modes=R),
    Grad("models.fl_gflownet.terminal_distribution", _j(lambda x: G.terminal_distribution(x, _ENUM)),
         lambda: (_LPF + 0.1 * _R.normal(size=_LPF.shape),), modes=R),
    Grad("models.fl_gflownet.exact_log_flows", _j(lambda x: G.exact_log_flows(x, _ENUM)),
         lambda: (_LPB + 0.1 * _R.normal(size=_LPB.shape),), modes=R),
    Grad("models.fl_gflownet.exact_forward_policy", _j(lambda x: G.exact_forward_policy(x, _ENUM)[1]),
         lambda: (_LPB + 0.1 * _R.normal(size=_LPB.shape),), modes=R),
    Grad("models.fl_gflownet.log_elementary_symmetric", _j(lambda x: G.log_elementary_symmetric(x, 2)),
         lambda: (_R.normal(size=4),), modes=R),
    Grad("models.fl_gflownet.elementary_symmetric", _j(lambda x: G.elementary_symmetric(x, 2)),
         lambda: (1.0 + _R.random(4),), modes=R),
    Grad("models.fl_gflownet.set_target_probs", _j(lambda e: G.set_target_probs(e, _ENUM.states[_ENUM.terminal])),
         lambda: (_E,), modes=R),
    Grad("models.fl_gflownet.l1_distance", _j(G.l1_distance), lambda: (np.array([0.2, 0.5, 0.3]),
                                                                         np.array([0.4, 0.1, 0.5])), modes=R),
    Grad("models.fl_gflownet.exact_l1", _j(lambda p: G.exact_l1(_POL, {"net": p, "log_z": 0.0}, _ENV, _ENUM)),
         lambda: (_PARAMS["net"],), modes=R),
]

_CTOR = "grad: builds an environment / configuration from Python numbers (no differentiable input)"
EXEMPT = {
    "models.fl_gflownet.SetEnv": _CTOR,
    "models.fl_gflownet.HyperGrid": _CTOR,
    "models.fl_gflownet.set_env": _CTOR,
    "models.fl_gflownet.hypergrid": _CTOR,
    "models.fl_gflownet.random_set_energies": "grad: draws energies from a key (κ is a Python number)",
    "models.fl_gflownet.make_policy": "grad: returns a Flax module (its gradient is the GFNPolicy case)",
    "models.fl_gflownet.init_params": "grad: random initialisation from a key",
    "models.fl_gflownet.make_loss_fn": "grad: returns the training loss closure; it samples discrete trajectories "
                                       "(stop-gradient) and its loss part is the gfn_loss / db_loss cases",
    "models.fl_gflownet.sample_trajectories": "grad: discrete action draws under stop_gradient by design",
    "models.fl_gflownet.truncate_prefixes": "grad: integer prefix lengths and boolean masks only",
    "models.fl_gflownet.trajectory_terms": "grad: gathers a policy's outputs along integer trajectories; the "
                                           "policy's gradient is the GFNPolicy case",
    "models.fl_gflownet.uniform_log_pb": "grad: a function of the enumeration's integer masks only",
    "models.fl_gflownet.target_distribution": "grad: a function of the enumeration's fixed energies only",
    "models.fl_gflownet.train_curves": "grad: a training loop returning numpy curves",
    "models.fl_gflownet.steps_to_threshold": "grad: a first-crossing step count (numpy, piecewise constant)",
}
