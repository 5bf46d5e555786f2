"""Batteries for models/radd (paper 29: absorbing discrete diffusion with time-independent conditionals).

Gradients in float64: the noise schedules and score_scale in t / σ̄, concrete_score in (log_c, σ̄),
masked_nll in log_c, the four losses and the exact AO-ARM NLL in the parameters E of a closed-form
conditional model log c(x_t) = log_softmax(E[x_t]) (fixed key: the masks are fixed), unmask_probs in
t_end, and the Flax modules in float64 (inputs and parameters; RADDTransformer in its parameters, its
input being token ids). Integer-valued draws are NoGrad: mask_tokens in mask_prob, sample and
sample_ordered in the model's parameters; expected_nfe is host numpy (a TypeError naming it when traced).
Token ids out of range: eager ValueError with the index, and under jit a checkify error.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from models import radd
from battery import BadInput, Grad, NoGrad, jit_functional  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.radd",)

KEY = jax.random.PRNGKey(0)
V, L = 4, 3
X0 = np.array([[0, 1, 2], [3, 0, 1]], np.int32)                  # clean ids in [0, V)
XT = np.array([[0, V, 2], [V, V, 1]], np.int32)                  # V = mask
ORDER = np.array([[2, 0, 1], [1, 2, 0]], np.int32)
E = np.random.default_rng(3).standard_normal((V + 1, V))        # the closed-form model's parameters
LOGC = np.asarray(jax.nn.log_softmax(E[XT], axis=-1))            # [2, 3, V]
LLN = radd.LogLinearNoise()
GEO = radd.GeometricNoise()
_J = jnp.asarray
_model = lambda e: (lambda xt: jax.nn.log_softmax(e[xt], axis=-1))
_uniform = lambda xt: jnp.full(xt.shape + (V,), -jnp.log(V))
_wrong = lambda xt: jnp.zeros(xt.shape + (V + 1,))
_net = radd.RADDTransformer(vocab_size=V, d_model=4, num_layers=1, num_heads=1, mlp_hidden=4, dtype=jnp.float64)
_att = radd.BidirectionalAttention(num_heads=1)
_blk = radd.RADDBlock(num_heads=1, mlp_hidden=4)
_net32 = radd.RADDTransformer(vocab_size=V, d_model=4, num_layers=1, num_heads=1, mlp_hidden=4)
_H = np.random.default_rng(4).standard_normal((1, L, 4))         # [B, L, D] module input


def _rand_params(module, *args, seed=5):
  p = jax.eval_shape(module.init, KEY, *args)                       # shapes only; random values below
  leaves, tree = jax.tree.flatten(p)
  rng = np.random.default_rng(seed)
  return jax.tree.unflatten(tree, [0.5 * rng.standard_normal(np.shape(a)) for a in leaves])


def _jit_checked(f, *args):
  err, _ = checkify.checkify(jax.jit(f))(*args)
  err.throw()


BAD_INPUTS = [
    # modules
    BadInput("models.radd.BidirectionalAttention", "2-D x", lambda: _att.init(KEY, jnp.ones((3, 4))),
             match="x expected shape"),
    BadInput("models.radd.BidirectionalAttention", "int x", lambda: _att.init(KEY, jnp.ones((1, 3, 4), jnp.int32)),
             match="x expected a float", error=TypeError),
    BadInput("models.radd.BidirectionalAttention", "num_heads", lambda: radd.BidirectionalAttention(3).init(
        KEY, jnp.ones((1, 3, 4))), match="num_heads"),
    BadInput("models.radd.RADDBlock", "2-D x", lambda: _blk.init(KEY, jnp.ones((3, 4))), match="x expected shape"),
    BadInput("models.radd.RADDBlock", "int x", lambda: _blk.init(KEY, jnp.ones((1, 3, 4), jnp.int32)),
             match="x expected a float", error=TypeError),
    BadInput("models.radd.RADDTransformer", "float tokens", lambda: _net32.init(KEY, jnp.ones((2, 3))),
             match="tokens", error=TypeError),
    BadInput("models.radd.RADDTransformer", "1-D tokens", lambda: _net32.init(KEY, jnp.ones(3, jnp.int32)),
             match="tokens expected shape"),
    BadInput("models.radd.RADDTransformer", "id above the mask", lambda: _net32.init(KEY, _J(XT).at[0, 1].set(V + 1)),
             match=r"tokens.*\[0, 5\).*index \(0, 1\)"),
    BadInput("models.radd.RADDTransformer", "id -1", lambda: _net32.init(KEY, _J(XT).at[1, 2].set(-1)),
             match=r"tokens.*index \(1, 2\)"),
    BadInput("models.radd.RADDTransformer", "id above the mask under jit (checkify)", lambda: _jit_checked(
        lambda p, x: _net32.apply(p, x), _rand_params(_net32, _J(X0)), _J(XT).at[0, 0].set(V + 3)),
        match="tokens", error=checkify.JaxRuntimeError),
    BadInput("models.radd.RADDTransformer", "vocab_size 0", lambda: radd.RADDTransformer(0).init(KEY, _J(X0)),
             match="vocab_size"),
    BadInput("models.radd.RADDTransformer", "num_heads", lambda: radd.RADDTransformer(V, d_model=4, num_heads=3).init(
        KEY, _J(X0)), match="num_heads"),
    # schedules
    BadInput("models.radd.LogLinearNoise", "eps 0", lambda: radd.LogLinearNoise(0.0), match="eps"),
    BadInput("models.radd.LogLinearNoise", "eps > 1", lambda: radd.LogLinearNoise(1.5), match="eps"),
    BadInput("models.radd.LogLinearNoise", "int eps", lambda: radd.LogLinearNoise(1), match="eps"),
    BadInput("models.radd.GeometricNoise", "sigma_min 0", lambda: radd.GeometricNoise(0.0, 20.0), match="sigma_min"),
    BadInput("models.radd.GeometricNoise", "sigma_min > sigma_max", lambda: radd.GeometricNoise(5.0, 2.0),
             match="sigma_min"),
    BadInput("models.radd.GeometricNoise", "sigma_max inf", lambda: radd.GeometricNoise(1e-3, float("inf")),
             match="sigma_max"),
    BadInput("models.radd.score_scale", "sigma_bar 0", lambda: radd.score_scale(jnp.array([0.5, 0.0])),
             match=r"sigma_bar.*index \(1,\)"),
    BadInput("models.radd.score_scale", "negative sigma_bar", lambda: radd.score_scale(-1.0), match="sigma_bar"),
    BadInput("models.radd.score_scale", "complex sigma_bar", lambda: radd.score_scale(jnp.ones(2, jnp.complex64)),
             match="sigma_bar", error=TypeError),
    # forward process
    BadInput("models.radd.concrete_score", "log_c shape", lambda: radd.concrete_score(_J(LOGC[..., :2]), _J(XT), 0.5,
             V), match="log_c"),
    BadInput("models.radd.concrete_score", "float xt", lambda: radd.concrete_score(_J(LOGC), _J(XT, jnp.float32), 0.5,
             V), match="xt", error=TypeError),
    BadInput("models.radd.concrete_score", "mask_id vs V", lambda: radd.concrete_score(_J(LOGC), _J(XT), 0.5, V + 1),
             match="log_c"),
    BadInput("models.radd.concrete_score", "sigma_bar batch", lambda: radd.concrete_score(_J(LOGC), _J(XT),
             jnp.ones(3), V), match="sigma_bar"),
    BadInput("models.radd.concrete_score", "xt id > V", lambda: radd.concrete_score(_J(LOGC), _J(XT).at[1, 0].set(V + 1),
             0.5, V), match=r"xt.*index \(1, 0\)"),
    BadInput("models.radd.mask_tokens", "float x0", lambda: radd.mask_tokens(KEY, jnp.ones((2, 3)), 0.5, V),
             match="x0", error=TypeError),
    BadInput("models.radd.mask_tokens", "1-D x0", lambda: radd.mask_tokens(KEY, jnp.ones(3, jnp.int32), 0.5, V),
             match="x0"),
    BadInput("models.radd.mask_tokens", "mask_prob batch", lambda: radd.mask_tokens(KEY, _J(X0), jnp.ones(3) * 0.5, V),
             match="mask_prob"),
    BadInput("models.radd.mask_tokens", "mask_prob > 1", lambda: radd.mask_tokens(KEY, _J(X0), 1.5, V),
             match="mask_prob"),
    BadInput("models.radd.mask_tokens", "mask_id 0", lambda: radd.mask_tokens(KEY, _J(X0), 0.5, 0), match="mask_id"),
    BadInput("models.radd.mask_tokens", "x0 id > mask_id", lambda: radd.mask_tokens(KEY, _J(X0).at[0, 2].set(V + 1),
             0.5, V), match=r"x0.*index \(0, 2\)"),
    # losses
    BadInput("models.radd.masked_nll", "log_c shape", lambda: radd.masked_nll(_J(LOGC[:1]), _J(X0), _J(XT), V),
             match="log_c"),
    BadInput("models.radd.masked_nll", "x0 id = V", lambda: radd.masked_nll(_J(LOGC), _J(X0).at[1, 1].set(V), _J(XT),
             V), match=r"x0.*\[0, 4\).*index \(1, 1\)"),
    BadInput("models.radd.masked_nll", "x0 id = V under jit (checkify)", lambda: _jit_checked(
        lambda x0: radd.masked_nll(_J(LOGC), x0, _J(XT), V), _J(X0).at[1, 1].set(V)), match="x0",
        error=checkify.JaxRuntimeError),
    BadInput("models.radd.masked_nll", "xt shape", lambda: radd.masked_nll(_J(LOGC), _J(X0), _J(XT[:, :2]), V),
             match="xt"),
    BadInput("models.radd.t_dce_loss", "float x0", lambda: radd.t_dce_loss(_uniform, KEY, jnp.ones((2, 3)), LLN, V),
             match="x0", error=TypeError),
    BadInput("models.radd.t_dce_loss", "noise", lambda: radd.t_dce_loss(_uniform, KEY, _J(X0), "loglinear", V),
             match="noise", error=TypeError),
    BadInput("models.radd.t_dce_loss", "t_min 1", lambda: radd.t_dce_loss(_uniform, KEY, _J(X0), LLN, V, t_min=1.0),
             match="t_min"),
    BadInput("models.radd.t_dce_loss", "log_cond_fn output", lambda: radd.t_dce_loss(_wrong, KEY, _J(X0), LLN, V),
             match="log_cond_fn"),
    BadInput("models.radd.t_dce_loss", "x0 id = V", lambda: radd.t_dce_loss(_uniform, KEY, _J(X0).at[0, 0].set(V),
             LLN, V), match=r"x0.*index \(0, 0\)"),
    BadInput("models.radd.t_dse_loss", "t_min < 0", lambda: radd.t_dse_loss(_uniform, KEY, _J(X0), GEO, V, t_min=-0.1),
             match="t_min"),
    BadInput("models.radd.t_dse_loss", "key", lambda: radd.t_dse_loss(_uniform, 0, _J(X0), GEO, V), match="key",
             error=TypeError),
    BadInput("models.radd.t_dse_loss", "mask_id 0", lambda: radd.t_dse_loss(_uniform, KEY, _J(X0), GEO, 0),
             match="mask_id"),
    BadInput("models.radd.lambda_dce_loss", "x0 id -1", lambda: radd.lambda_dce_loss(
        _uniform, KEY, _J(X0).at[1, 0].set(-1), V), match=r"x0.*index \(1, 0\)"),
    BadInput("models.radd.lambda_dce_loss", "int dtype", lambda: radd.lambda_dce_loss(_uniform, KEY, _J(X0), V,
             dtype=jnp.int32), match="dtype", error=TypeError),
    BadInput("models.radd.k_dce_loss", "log_cond_fn not callable", lambda: radd.k_dce_loss(None, KEY, _J(X0), V),
             match="log_cond_fn", error=TypeError),
    BadInput("models.radd.k_dce_loss", "1-D x0", lambda: radd.k_dce_loss(_uniform, KEY, jnp.ones(3, jnp.int32), V),
             match="x0"),
    BadInput("models.radd.ao_arm_nll", "not a permutation", lambda: radd.ao_arm_nll(
        _uniform, _J(X0), _J(ORDER).at[0, 0].set(0), V), match="order.*row 0"),
    BadInput("models.radd.ao_arm_nll", "order shape", lambda: radd.ao_arm_nll(_uniform, _J(X0), _J(ORDER[:1]), V),
             match="order"),
    BadInput("models.radd.ao_arm_nll", "float order", lambda: radd.ao_arm_nll(_uniform, _J(X0),
             _J(ORDER, jnp.float32), V), match="order", error=TypeError),
    BadInput("models.radd.ao_arm_nll", "order id >= L", lambda: radd.ao_arm_nll(_uniform, _J(X0),
             _J(ORDER).at[1, 2].set(L), V), match=r"order.*index \(1, 2\)"),
    # sampling
    BadInput("models.radd.expected_nfe", "q > 1", lambda: radd.expected_nfe(np.array([0.5, 1.5]), 4), match="q"),
    BadInput("models.radd.expected_nfe", "2-D q", lambda: radd.expected_nfe(np.ones((2, 2)), 4), match="q"),
    BadInput("models.radd.expected_nfe", "length 0", lambda: radd.expected_nfe(np.ones(2), 0), match="length"),
    BadInput("models.radd.expected_nfe", "cache", lambda: radd.expected_nfe(np.ones(2), 4, "all"), match="cache"),
    BadInput("models.radd.expected_nfe_uniform", "num_steps 0", lambda: radd.expected_nfe_uniform(0, 4),
             match="num_steps"),
    BadInput("models.radd.expected_nfe_uniform", "length < 0", lambda: radd.expected_nfe_uniform(4, -1),
             match="length"),
    BadInput("models.radd.unmask_probs", "num_steps 0", lambda: radd.unmask_probs(LLN, 0), match="num_steps"),
    BadInput("models.radd.unmask_probs", "method", lambda: radd.unmask_probs(LLN, 3, "midpoint"), match="method"),
    BadInput("models.radd.unmask_probs", "t_end 1", lambda: radd.unmask_probs(LLN, 3, t_end=1.0), match="t_end"),
    BadInput("models.radd.unmask_probs", "noise", lambda: radd.unmask_probs(None, 3), match="noise",
             error=TypeError),
    BadInput("models.radd.sample", "batch_size 0", lambda: radd.sample(_uniform, KEY, 0, L, V, LLN, num_steps=2),
             match="batch_size"),
    BadInput("models.radd.sample", "cache", lambda: radd.sample(_uniform, KEY, 2, L, V, LLN, num_steps=2,
             cache="always"), match="cache"),
    BadInput("models.radd.sample", "log_cond_fn output", lambda: radd.sample(_wrong, KEY, 2, L, V, LLN, num_steps=2),
             match="log_cond_fn"),
    BadInput("models.radd.sample", "num_steps 0", lambda: radd.sample(_uniform, KEY, 2, L, V, LLN, num_steps=0),
             match="num_steps"),
    BadInput("models.radd.sample", "key", lambda: radd.sample(_uniform, "key", 2, L, V, LLN, num_steps=2),
             match="key", error=TypeError),
    BadInput("models.radd.sample_ordered", "order shape", lambda: radd.sample_ordered(_uniform, KEY, 2, L, V,
             order=_J(ORDER[:, :2])), match="order"),
    BadInput("models.radd.sample_ordered", "not a permutation", lambda: radd.sample_ordered(
        _uniform, KEY, 2, L, V, order=_J(ORDER).at[1, 0].set(0)), match="order.*row 1"),
    BadInput("models.radd.sample_ordered", "length 0", lambda: radd.sample_ordered(_uniform, KEY, 2, 0, V),
             match="length"),
    BadInput("models.radd.sample_ordered", "log_cond_fn output", lambda: radd.sample_ordered(_wrong, KEY, 2, L, V),
             match="log_cond_fn"),
    # experiment
    BadInput("models.radd.sequence_loss", "unknown loss", lambda: radd.sequence_loss(
        "dse", _uniform, KEY, _J(X0), V, 1e-3, 1e-3), match="name"),
    BadInput("models.radd.nfe_sweep", "lengths empty", lambda: radd.nfe_sweep(
        _uniform, V, LLN, lengths=(), steps=(4,), batch=2), match="lengths"),
    BadInput("models.radd.nfe_sweep", "log_cond_fn", lambda: radd.nfe_sweep(
        None, V, LLN, lengths=(L,), steps=(4,), batch=2), match="log_cond_fn", error=TypeError),
    BadInput("models.radd.sampling_time", "num_steps 0", lambda: radd.sampling_time(
        _uniform, KEY, L, V, LLN, num_steps=0), match="num_steps"),
    BadInput("models.radd.sampling_time", "key", lambda: radd.sampling_time(
        _uniform, jnp.ones(3), L, V, LLN, num_steps=2), match="key", error=TypeError),
    BadInput("models.radd.loss_estimates", "float windows", lambda: radd.loss_estimates(
        _uniform, jnp.ones((2, L)), KEY, KEY, draws=1, vocab_size=V, noise_eps=1e-3, t_min=1e-3), match="windows"),
    BadInput("models.radd.loss_estimates", "draws 0", lambda: radd.loss_estimates(
        _uniform, _J(X0), KEY, KEY, draws=0, vocab_size=V, noise_eps=1e-3, t_min=1e-3), match="draws"),
]


_j = jit_functional   # one compile per case (tests/batteries/battery.py)


R = ("rev",)   # reverse mode only: one vjp compile per case
_T = np.array([0.1, 0.5, 0.9])
_noise = lambda n: (lambda t: (n.total(t), n.rate(t), n.mask_prob(t)))
_F64 = dict(dtype=jnp.float64)

GRADIENTS = [
    Grad("models.radd.sequence_loss", _j(lambda e: radd.sequence_loss("t_dce", _model(e), KEY, _J(X0), V, 1e-3, 1e-3)),
         lambda: (E,), case="t_dce in the model's parameters", modes=("rev",)),
    Grad("models.radd.LogLinearNoise", _j(_noise(LLN)), lambda: (_T,), case="total, rate, mask_prob in t", modes=R),
    Grad("models.radd.GeometricNoise", _j(_noise(GEO)), lambda: (_T,), case="total, rate, mask_prob in t", modes=R),
    Grad("models.radd.score_scale", _j(radd.score_scale), lambda: (np.array([0.05, 1.0, 4.0]),), modes=R),
    Grad("models.radd.concrete_score", _j(lambda lc, sb: radd.concrete_score(lc, _J(XT), sb, V)),
         lambda: (LOGC, np.array([0.3, 1.2])), case="in log_c, sigma_bar", modes=R),
    Grad("models.radd.masked_nll", _j(lambda lc: radd.masked_nll(lc, _J(X0), _J(XT), V)), lambda: (LOGC,), modes=R),
    Grad("models.radd.t_dce_loss", _j(lambda e: radd.t_dce_loss(_model(e), KEY, _J(X0), LLN, V, **_F64)),
         lambda: (E,), case="in the model's parameters (fixed key)", modes=R),
    Grad("models.radd.t_dse_loss", _j(lambda e: radd.t_dse_loss(_model(e), KEY, _J(X0), GEO, V, **_F64)),
         lambda: (E,), case="in the model's parameters (fixed key)", modes=R),
    Grad("models.radd.lambda_dce_loss", _j(lambda e: radd.lambda_dce_loss(_model(e), KEY, _J(X0), V, **_F64)),
         lambda: (E,), case="in the model's parameters (fixed key)", modes=R),
    Grad("models.radd.k_dce_loss", _j(lambda e: radd.k_dce_loss(_model(e), KEY, _J(X0), V, **_F64)),
         lambda: (E,), case="in the model's parameters (fixed key)", modes=R),
    Grad("models.radd.ao_arm_nll", _j(lambda e: radd.ao_arm_nll(_model(e), _J(X0), _J(ORDER), V)), lambda: (E,),
         case="in the model's parameters", modes=R),
    Grad("models.radd.unmask_probs", _j(lambda te: (radd.unmask_probs(LLN, 3, "tweedie", te),
         radd.unmask_probs(GEO, 3, "euler", te))), lambda: (np.asarray(0.05),), case="in t_end", modes=R),
    Grad("models.radd.BidirectionalAttention", _j(lambda x, p: _att.apply(p, x)),
         lambda: (_H, _rand_params(_att, jnp.ones((1, L, 4)))), case="float64 apply in x, params", modes=R),
    Grad("models.radd.RADDBlock", _j(lambda x, p: _blk.apply(p, x)),
         lambda: (_H, _rand_params(_blk, jnp.ones((1, L, 4)))), case="float64 apply in x, params", modes=R),
    Grad("models.radd.RADDTransformer", _j(lambda p: _net.apply(p, _J(XT))),
         lambda: (_rand_params(_net32, _J(X0)),), case="float64 apply in params", modes=R),
    NoGrad("models.radd.mask_tokens", lambda lam: radd.mask_tokens(KEY, _J(X0), lam, V), lambda: (np.array([0.3, 0.6]),),
           match="mask_tokens.*not differentiable", case="integer tokens in mask_prob"),
    NoGrad("models.radd.sample", lambda e: radd.sample(_model(e), KEY, 2, L, V, LLN, num_steps=2).tokens,
           lambda: (E,), match="sample.*not differentiable", case="categorical draws in the model's parameters"),
    NoGrad("models.radd.sample_ordered", lambda e: radd.sample_ordered(_model(e), KEY, 2, L, V), lambda: (E,),
           match="sample_ordered.*not differentiable", case="categorical draws in the model's parameters"),
    NoGrad("models.radd.expected_nfe", lambda q: jnp.asarray(radd.expected_nfe(q, 4)), lambda: (np.array([0.5, 1.0]),),
           match="expected_nfe: q is traced", case="host numpy"),
]

_SWEEP = "grad: a host-side sweep of the integer-valued sampler (sample has its NoGrad case); numpy/float results"
EXEMPT = {
    "models.radd.expected_nfe_uniform": "grad: integer inputs only",
    "models.radd.nfe_sweep": _SWEEP,
    "models.radd.sampling_time": "grad: wall-clock timing of the sampler; returns floats and ints",
    "models.radd.loss_estimates": ("grad: host-side evaluation returning numpy arrays; the bounds it averages "
                                   "(lambda_dce_loss, t_dce_loss, t_dse_loss, k_dce_loss, ao_arm_nll) have Grad cases"),
}
