"""Batteries for models/moe (papers 03/04: routers, capacity routing, balancing losses, experts, MoEBlock).

Gradients: the pure functions in float64 (``gate_logits``, ``select_top_k``'s gates, ``dense_gates``, ``route``'s
combine weights, both losses, the masked z-loss); the modules on ``(x, params)`` in float64 (their ``dtype=None``
promotes, so float64 params and inputs run in float64). Selections (top-K indices, slots, capacity drops) are
piecewise constant: the examples sit away from ties, so finite differences see the smooth part only.
"""
import flax
import jax
import jax.numpy as jnp
import numpy as np

from models import moe
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.moe",)

E, D, H = 3, 2, 4
_rng = np.random.default_rng(0)
_n = lambda *shape, s=1.0: s * _rng.standard_normal(shape)

X = _n(1, 4, D)                                   # [B, L, D]
LOGITS = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7], [-0.4, 0.9, 0.2], [2.2, -0.3, 0.6]])   # [4, E], no ties
INDEX = np.array([[2, 0], [0, 1], [1, 2], [0, 2]], np.int32)  # top-2 of LOGITS
GATES2 = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.9, 0.1]])
PROBS = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.7, 0.2, 0.1]])
ROUTER = {"kernel": _n(D, E), "bias": _n(E, s=0.3), "log_temperature": np.asarray(np.log(0.7))}
MLP = {"wi": _n(E, D, H), "bi": _n(E, H, s=0.1), "wo": _n(E, H, D), "bo": _n(E, D, s=0.1)}
LIN = {"kernel": _n(E, D, D), "bias": _n(E, D, s=0.1)}
BLOCK = {"router": {"kernel": ROUTER["kernel"], "bias": ROUTER["bias"]}, "experts": LIN}
X_EXP = _n(E, 2, D)                               # expert-major [E, N, D]


def _router_apply(x, p):
  r = moe.Router(num_experts=E, gate="activation_temperature", num_selected=2)
  out = r.apply({"params": p}, x)
  return out.logits, out.probs, out.gates


def _block_apply(x, p):
  blk = moe.MoEBlock(num_experts=E, gate="topk", num_selected=2, expert="linear", capacity_factor=1.0,
                     z_loss_weight=1e-2)   # linear experts: the MLP is covered by MLPExperts' case
  y, aux = blk.apply({"params": p}, x)
  return y, aux.aux_loss


def _init(module, x):
  return lambda: module.init(jax.random.PRNGKey(0), x)


_X3 = jnp.ones((1, 4, D))
_EXP = jnp.ones((E, 2, D))

BAD_INPUTS = [
    # gate_logits
    BadInput("models.moe.gate_logits", "int scores", lambda: moe.gate_logits(jnp.ones((2, E), jnp.int32)),
             match="scores", error=TypeError),
    BadInput("models.moe.gate_logits", "0-d scores", lambda: moe.gate_logits(jnp.ones(())), match="scores"),
    BadInput("models.moe.gate_logits", "bias shape", lambda: moe.gate_logits(jnp.ones((2, E)), jnp.ones(E + 1)),
             match="bias"),
    BadInput("models.moe.gate_logits", "temperature 0",
             lambda: moe.gate_logits(jnp.ones((2, E)), temperature=0.0), match="temperature"),
    BadInput("models.moe.gate_logits", "activation name",
             lambda: moe.gate_logits(jnp.ones((2, E)), activation="swish"), match="activation"),
    # select_top_k
    BadInput("models.moe.select_top_k", "k > E", lambda: moe.select_top_k(jnp.ones((2, E)), E + 1), match="k:"),
    BadInput("models.moe.select_top_k", "k = 0", lambda: moe.select_top_k(jnp.ones((2, E)), 0), match="k:"),
    BadInput("models.moe.select_top_k", "int logits", lambda: moe.select_top_k(jnp.ones((2, E), jnp.int32), 1),
             match="logits", error=TypeError),
    # dense_gates
    BadInput("models.moe.dense_gates", "index shape", lambda: moe.dense_gates(jnp.ones((4, 2)), jnp.zeros((4, 1),
             jnp.int32), E), match="index"),
    BadInput("models.moe.dense_gates", "float index", lambda: moe.dense_gates(jnp.ones((4, 2)), jnp.zeros((4, 2)), E),
             match="index", error=TypeError),
    BadInput("models.moe.dense_gates", "index >= E", lambda: moe.dense_gates(jnp.ones((4, 2)), jnp.asarray(INDEX),
             2), match=r"index.*\[-1, 2\)"),
    BadInput("models.moe.dense_gates", "num_experts 0", lambda: moe.dense_gates(jnp.ones((4, 2)),
             jnp.asarray(INDEX), 0), match="num_experts"),
    # expert_capacity
    BadInput("models.moe.expert_capacity", "capacity_factor 0", lambda: moe.expert_capacity(8, 2, 4, 0.0),
             match="capacity_factor"),
    BadInput("models.moe.expert_capacity", "capacity_factor < 0", lambda: moe.expert_capacity(8, 2, 4, -1.0),
             match="capacity_factor"),
    BadInput("models.moe.expert_capacity", "capacity_factor inf", lambda: moe.expert_capacity(8, 2, 4, float("inf")),
             match="capacity_factor"),
    BadInput("models.moe.expert_capacity", "top_k > num_experts", lambda: moe.expert_capacity(8, 5, 4, 1.0),
             match="num_selected"),
    BadInput("models.moe.expert_capacity", "no tokens", lambda: moe.expert_capacity(0, 1, 4, 1.0), match="num_tokens"),
    BadInput("models.moe.expert_capacity", "min_capacity 0", lambda: moe.expert_capacity(8, 1, 4, 1.0, 0),
             match="min_capacity"),
    # route
    BadInput("models.moe.route", "float index", lambda: moe.route(jnp.zeros((4, 2)), jnp.ones((4, 2)), E, 2),
             match="index", error=TypeError),
    BadInput("models.moe.route", "rank", lambda: moe.route(jnp.zeros((1, 4, 2), jnp.int32), jnp.ones((1, 4, 2)), E, 2),
             match="index"),
    BadInput("models.moe.route", "gates shape", lambda: moe.route(jnp.asarray(INDEX), jnp.ones((4, 1)), E, 2),
             match="gates"),
    BadInput("models.moe.route", "int gates", lambda: moe.route(jnp.asarray(INDEX), jnp.ones((4, 2), jnp.int32), E, 2),
             match="gates", error=TypeError),
    BadInput("models.moe.route", "capacity 0", lambda: moe.route(jnp.asarray(INDEX), jnp.ones((4, 2)), E, 0),
             match="capacity"),
    BadInput("models.moe.route", "num_experts < K", lambda: moe.route(jnp.asarray(INDEX), jnp.ones((4, 2)), 1, 2),
             match="num_experts"),
    BadInput("models.moe.route", "expert id out of range", lambda: moe.route(jnp.asarray(INDEX), jnp.ones((4, 2)),
             2, 2), match=r"route: index.*\[-1, 2\)"),
    BadInput("models.moe.route", "priority", lambda: moe.route(jnp.asarray(INDEX), jnp.ones((4, 2)), E, 2, "random"),
             match="priority"),
    # losses
    BadInput("models.moe.load_balancing_loss", "int probs", lambda: moe.load_balancing_loss(
        jnp.ones((4, E), jnp.int32), jnp.zeros(4, jnp.int32)), match="probs", error=TypeError),
    BadInput("models.moe.load_balancing_loss", "first_choice shape", lambda: moe.load_balancing_loss(
        jnp.asarray(PROBS), jnp.zeros(5, jnp.int32)), match="first_choice"),
    BadInput("models.moe.load_balancing_loss", "float first_choice", lambda: moe.load_balancing_loss(
        jnp.asarray(PROBS), jnp.zeros(4)), match="first_choice", error=TypeError),
    BadInput("models.moe.load_balancing_loss", "mask shape", lambda: moe.load_balancing_loss(
        jnp.asarray(PROBS), jnp.zeros(4, jnp.int32), jnp.ones(3, bool)), match="mask"),
    BadInput("models.moe.load_balancing_loss", "float mask", lambda: moe.load_balancing_loss(
        jnp.asarray(PROBS), jnp.zeros(4, jnp.int32), jnp.ones(4)), match="mask", error=TypeError),
    BadInput("models.moe.router_z_loss", "int logits", lambda: moe.router_z_loss(jnp.ones((4, E), jnp.int32)),
             match="logits", error=TypeError),
    BadInput("models.moe.router_z_loss", "0-d logits", lambda: moe.router_z_loss(jnp.ones(())), match="logits",
             error=TypeError),
    BadInput("models.moe.router_z_loss", "mask shape", lambda: moe.router_z_loss(jnp.ones((4, E)), jnp.ones(5, bool)),
             match="mask"),
    # Router
    BadInput("models.moe.Router", "gate name", _init(moe.Router(E, gate="sparse"), _X3), match="gate"),
    BadInput("models.moe.Router", "top_k > num_experts", _init(moe.Router(E, gate="topk", num_selected=E + 1), _X3),
             match="num_selected"),
    BadInput("models.moe.Router", "num_experts 0", _init(moe.Router(0), _X3), match="num_experts"),
    BadInput("models.moe.Router", "init_temperature 0", _init(moe.Router(E, gate="temperature", num_selected=None,
             init_temperature=0.0), _X3), match="init_temperature"),
    BadInput("models.moe.Router", "int x", _init(moe.Router(E), jnp.ones((1, 4, D), jnp.int32)), match="x",
             error=TypeError),
    BadInput("models.moe.Router", "0-d x", _init(moe.Router(E), jnp.ones(())), match="x"),
    BadInput("models.moe.Router", "params that do not match", lambda: moe.Router(E + 1, num_selected=2).apply(
        {"params": {"kernel": jnp.ones((D, E)), "bias": jnp.ones(E)}}, _X3), match="kernel",
        error=flax.errors.ScopeParamShapeError),
    # experts
    BadInput("models.moe.MLPExperts", "rank", _init(moe.MLPExperts(E), jnp.ones((E, D))), match="x"),
    BadInput("models.moe.MLPExperts", "mismatched expert count", _init(moe.MLPExperts(E), jnp.ones((E + 1, 2, D))),
             match=r"x: expected shape \[E=3"),
    BadInput("models.moe.MLPExperts", "int x", _init(moe.MLPExperts(E), jnp.ones((E, 2, D), jnp.int32)), match="x",
             error=TypeError),
    BadInput("models.moe.MLPExperts", "activation", _init(moe.MLPExperts(E, activation="swish"), _EXP),
             match="activation"),
    BadInput("models.moe.MLPExperts", "hidden_features 0", _init(moe.MLPExperts(E, hidden_features=0), _EXP),
             match="hidden_features"),
    BadInput("models.moe.LinearExperts", "mismatched expert count", _init(moe.LinearExperts(E),
             jnp.ones((E - 1, 2, D))), match=r"x: expected shape \[E=3"),
    BadInput("models.moe.LinearExperts", "features 0", _init(moe.LinearExperts(E, features=0), _EXP),
             match="features"),
    BadInput("models.moe.LinearExperts", "num_experts 0", _init(moe.LinearExperts(0), jnp.ones((0, 2, D))),
             match="num_experts"),
    BadInput("models.moe.LinearExperts", "params that do not match", lambda: moe.LinearExperts(E).apply(
        {"params": {"kernel": jnp.ones((E + 1, D, D)), "bias": jnp.ones((E + 1, D))}}, _EXP), match="kernel",
        error=flax.errors.ScopeParamShapeError),
    # MoEBlock
    BadInput("models.moe.MoEBlock", "rank", _init(moe.MoEBlock(E, num_selected=2), jnp.ones((4, D))),
             match="x: expected shape"),
    BadInput("models.moe.MoEBlock", "int x", _init(moe.MoEBlock(E, num_selected=2), jnp.ones((1, 4, D), jnp.int32)),
             match="x: expected a floating", error=TypeError),
    BadInput("models.moe.MoEBlock", "capacity_factor 0", _init(moe.MoEBlock(E, num_selected=2, capacity_factor=0.0),
             _X3), match="capacity_factor"),
    BadInput("models.moe.MoEBlock", "gate name", _init(moe.MoEBlock(E, gate="noisy"), _X3), match="gate"),
    BadInput("models.moe.MoEBlock", "top_k > num_experts", _init(moe.MoEBlock(E, num_selected=E + 1), _X3),
             match="num_selected"),
    BadInput("models.moe.MoEBlock", "expert kind", _init(moe.MoEBlock(E, num_selected=2, expert="conv"), _X3),
             match="expert"),
    BadInput("models.moe.MoEBlock", "priority", _init(moe.MoEBlock(E, num_selected=2, priority="random"), _X3),
             match="priority"),
    BadInput("models.moe.MoEBlock", "negative loss weight", _init(moe.MoEBlock(E, num_selected=2,
             z_loss_weight=-1.0), _X3), match="z_loss_weight"),
    BadInput("models.moe.MoEBlock", "params that do not match", lambda: moe.MoEBlock(E + 1, num_selected=2,
             hidden_features=H).apply({"params": BLOCK}, _X3), match="kernel",
             error=flax.errors.ScopeParamShapeError),
]

# every differentiated function is jitted: check_grads then compiles one jvp and one vjp per case instead of
# dispatching (and compiling) each primitive eagerly, which is what keeps this file within its time budget.
_j = jax.jit
R = ("rev",)   # reverse mode only (what training uses): one vjp compile per case instead of a jvp and a vjp

GRADIENTS = [
    Grad("models.moe.gate_logits", _j(lambda s, b, t: moe.gate_logits(s, b, temperature=t, activation="tanh")),
         lambda: (LOGITS, ROUTER["bias"], np.asarray(0.7)), modes=R),
    Grad("models.moe.select_top_k", _j(lambda lg: moe.select_top_k(lg, 2)[0]), lambda: (LOGITS,), case="gates",
         modes=R),
    Grad("models.moe.dense_gates", _j(lambda g: moe.dense_gates(g, jnp.asarray(INDEX), E)), lambda: (GATES2,),
         modes=R),
    Grad("models.moe.route", _j(lambda g: moe.route(jnp.asarray(INDEX), g, E, 2).combine), lambda: (GATES2,),
         case="combine", modes=R),
    Grad("models.moe.load_balancing_loss", _j(lambda p: moe.load_balancing_loss(p, jnp.asarray(INDEX[:, 0]))),
         lambda: (PROBS,), modes=R),
    Grad("models.moe.router_z_loss", _j(moe.router_z_loss), lambda: (LOGITS,), modes=R),
    Grad("models.moe.router_z_loss", _j(lambda lg: moe.router_z_loss(lg, jnp.array([True, False, True, True]))),
         lambda: (LOGITS,), case="masked", modes=R),
    Grad("models.moe.Router", _j(_router_apply), lambda: (X, ROUTER), modes=R),
    Grad("models.moe.MLPExperts", _j(lambda x, p: moe.MLPExperts(E, hidden_features=H).apply({"params": p}, x)),
         lambda: (X_EXP, MLP), modes=R),
    Grad("models.moe.LinearExperts", _j(lambda x, p: moe.LinearExperts(E).apply({"params": p}, x)),
         lambda: (X_EXP, LIN), modes=R),
    Grad("models.moe.MoEBlock", _j(_block_apply), lambda: (X, BLOCK), modes=R),
]

EXEMPT = {
    "models.moe.expert_capacity": "grad: returns a Python int (a static buffer size) from Python-number "
                                  "hyperparameters; nothing to differentiate",
}
