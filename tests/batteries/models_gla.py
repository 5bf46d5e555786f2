"""Batteries for models/gla (paper 07: the GLA layer, the softmax baseline, blocks, the language models).

Gradients in float64 on tiny shapes: the modules on ``(x, params)`` (``dtype=None`` promotes, and norms,
gates, RoPE and the softmax run in float64 for float64 inputs), the GLA mixer through
``impl="reference"`` (the scan; the chunk forms are covered by the kernel battery), the language models
on their parameters (token ids are integers) with ``dtype=float64``. The
block is checked with the softmax mixer only: with the GLA mixer it adds nothing the layer's case and
the GLA LM's case (which holds a GLA block) do not check, at 1.8 s of compiles.
"""
import jax
import jax.numpy as jnp
import numpy as np

from models import gla as m
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("models.gla",)

_rng = np.random.default_rng(3)
_n = lambda *shape, s=1.0: s * _rng.standard_normal(shape)
D = 4
X = _n(1, 3, D)                                    # [B, T, D]
TOKENS = np.array([[1, 4, 0]], np.int32)
_KEY = jax.random.PRNGKey(0)
_X = jnp.zeros((1, 3, D))
_TOK = jnp.asarray(TOKENS)

_GLA = dict(num_heads=1, gate_low_rank_dim=2, gate_logit_normalizer=1.0, impl="reference")
_LM = dict(vocab_size=5, d_model=D, num_layers=1, num_heads=2, mlp_hidden=3, gate_low_rank_dim=2, impl="reference")


def _spread(params, s=0.5):
  """O(1) parameters (the 0.02 init makes every output nearly linear, a weak test of the derivative)."""
  leaves, tree = jax.tree.flatten_with_path(params)
  return jax.tree.unflatten(tree, [1.0 + 0.1 * _n(*x.shape) if "scale" in jax.tree_util.keystr(path)
                                   else s * _n(*x.shape) for path, x in leaves])


def _params(module, x):
  return _spread(jax.eval_shape(module.init, _KEY, x)["params"])


def _applier(module):
  return jax.jit(lambda x, p: module.apply({"params": p}, x))   # one compile per program, not op by op


def _abstract_apply(module, x, *a, **kw):
  """Traces ``module.apply`` on abstract variables (the checks run at trace time, nothing computes)."""
  v = jax.eval_shape(module.init, _KEY, _X if x is None else x)
  return jax.eval_shape(lambda v: module.apply(v, *a, **kw), v)


_gla = m.GatedLinearAttention(**_GLA)
_att = m.CausalSelfAttention(num_heads=2)
_blk = m.Block(mixer="gla", num_heads=1, mlp_hidden=3, gla_kwargs=(("gate_low_rank_dim", 2), ("impl", "reference")))
_blk_sm = m.Block(mixer="softmax", num_heads=2, mlp_hidden=3)
_lm64 = m.GLATransformer(**_LM, dtype=jnp.float64)
_sm64 = m.SoftmaxTransformer(**{k: v for k, v in _LM.items() if k not in ("gate_low_rank_dim", "impl")},
                             dtype=jnp.float64)
_lm = m.GLATransformer(**_LM)


def _init(module, x):
  """Traces ``module.init`` (the checks run at trace time; ``x`` is a concrete constant of the trace, so
  value checks such as token ids run too)."""
  return lambda: jax.eval_shape(lambda: module.init(_KEY, x))


BAD_INPUTS = [
    # RMSNorm
    BadInput("models.gla.RMSNorm", "int x", _init(m.RMSNorm(), jnp.ones((2, 3), jnp.int32)), match="RMSNorm: x",
             error=TypeError),
    BadInput("models.gla.RMSNorm", "0-d x", _init(m.RMSNorm(), jnp.ones(())), match="RMSNorm: x"),
    BadInput("models.gla.RMSNorm", "negative eps", _init(m.RMSNorm(eps=-1.0), _X), match="RMSNorm: eps"),
    # SwiGLU
    BadInput("models.gla.SwiGLU", "int x", _init(m.SwiGLU(3), jnp.ones((2, 3), jnp.int32)), match="SwiGLU: x",
             error=TypeError),
    BadInput("models.gla.SwiGLU", "zero hidden", _init(m.SwiGLU(0), _X), match="SwiGLU: hidden"),
    # rope
    BadInput("models.gla.rope", "rank 3 x", lambda: m.rope(_X, jnp.arange(3)), match="rope: x"),
    BadInput("models.gla.rope", "odd head dim", lambda: m.rope(jnp.zeros((1, 3, 1, 5)), jnp.arange(3)),
             match="rope: x: expected an even"),
    BadInput("models.gla.rope", "positions length", lambda: m.rope(jnp.zeros((1, 3, 1, 4)), jnp.arange(4)),
             match="rope: positions"),
    BadInput("models.gla.rope", "int x", lambda: m.rope(jnp.zeros((1, 3, 1, 4), jnp.int32), jnp.arange(3)),
             match="rope: x", error=TypeError),
    BadInput("models.gla.rope", "theta 0", lambda: m.rope(jnp.zeros((1, 3, 1, 4)), jnp.arange(3), theta=0.0),
             match="rope: theta"),
    # GatedLinearAttention
    BadInput("models.gla.GatedLinearAttention", "rank 2 x", _init(_gla, jnp.zeros((3, D))),
             match="GatedLinearAttention: x"),
    BadInput("models.gla.GatedLinearAttention", "int x", _init(_gla, jnp.zeros((1, 3, D), jnp.int32)),
             match="GatedLinearAttention: x", error=TypeError),
    BadInput("models.gla.GatedLinearAttention", "heads do not split d_k",
             _init(m.GatedLinearAttention(num_heads=3), _X), match="expand_k"),
    BadInput("models.gla.GatedLinearAttention", "zero heads", _init(m.GatedLinearAttention(num_heads=0), _X),
             match="num_heads"),
    BadInput("models.gla.GatedLinearAttention", "negative expand_v",
             _init(m.GatedLinearAttention(num_heads=1, expand_v=-1.0), _X), match="expand_v"),
    BadInput("models.gla.GatedLinearAttention", "bad impl", _init(m.GatedLinearAttention(num_heads=1, impl="cuda"), _X),
             match="impl"),
    BadInput("models.gla.GatedLinearAttention", "normalizer 0",
             _init(m.GatedLinearAttention(num_heads=1, gate_logit_normalizer=0.0), _X), match="gate_logit_normalizer"),
    BadInput("models.gla.GatedLinearAttention", "rank 0 gate",
             _init(m.GatedLinearAttention(num_heads=1, gate_low_rank_dim=0), _X), match="gate_low_rank_dim"),
    BadInput("models.gla.GatedLinearAttention", "positive clamp_min",
             _init(m.GatedLinearAttention(num_heads=1, clamp_min=0.5), _X), match="clamp_min"),
    BadInput("models.gla.GatedLinearAttention", "chunk 48",
             _init(m.GatedLinearAttention(num_heads=1, chunk_size=48), _X), match="chunk_size"),
    BadInput("models.gla.GatedLinearAttention", "initial_state shape",
             lambda: _abstract_apply(_gla, None, _X, initial_state=jnp.zeros((1, 1, 2, 3))), match="initial_state"),
    # CausalSelfAttention
    BadInput("models.gla.CausalSelfAttention", "odd head dim", _init(m.CausalSelfAttention(num_heads=4), _X),
             match="CausalSelfAttention: num_heads"),
    BadInput("models.gla.CausalSelfAttention", "int x", _init(_att, jnp.zeros((1, 3, D), jnp.int32)),
             match="CausalSelfAttention: x", error=TypeError),
    BadInput("models.gla.CausalSelfAttention", "rope_theta", _init(m.CausalSelfAttention(num_heads=2, rope_theta=-1.0),
                                                                   _X), match="rope_theta"),
    BadInput("models.gla.CausalSelfAttention", "cache of another width", lambda: _abstract_apply(
        _att, None, _X, initial_state=m.KVCache.empty(1, 4, 2, 4)), match="initial_state"),
    BadInput("models.gla.CausalSelfAttention", "cache too small", lambda: _abstract_apply(
        _att, None, _X, initial_state=m.KVCache.empty(1, 2, 2, 2)), match="initial_state"),
    BadInput("models.gla.CausalSelfAttention", "state not a cache", lambda: _abstract_apply(
        _att, None, _X, initial_state=jnp.zeros((1, 2, 2, 2))), match="initial_state", error=TypeError),
    # Block
    BadInput("models.gla.Block", "bad mixer", _init(m.Block(mixer="mamba"), _X), match="mixer"),
    BadInput("models.gla.Block", "rank 2 x", _init(_blk, jnp.zeros((3, D))), match="Block: x"),
    BadInput("models.gla.Block", "zero mlp_hidden", _init(m.Block(mlp_hidden=0, num_heads=1), _X), match="mlp_hidden"),
    # GLATransformer / SoftmaxTransformer
    BadInput("models.gla.GLATransformer", "float tokens", _init(_lm, jnp.zeros((1, 3))), match="tokens",
             error=TypeError),
    BadInput("models.gla.GLATransformer", "rank 1 tokens", _init(_lm, jnp.zeros((3,), jnp.int32)), match="tokens"),
    BadInput("models.gla.GLATransformer", "token id = vocab", _init(_lm, jnp.array([[1, 5, 0]])),
             match=r"tokens: expected values in \[0, 5\).*index \(0, 1\)"),
    BadInput("models.gla.GLATransformer", "token id -1", _init(_lm, jnp.array([[1, 2, -1]])),
             match=r"tokens: .*got -1 at index \(0, 2\)"),
    BadInput("models.gla.GLATransformer", "zero vocab", _init(m.GLATransformer(**{**_LM, "vocab_size": 0}), _TOK),
             match="vocab_size"),
    BadInput("models.gla.GLATransformer", "bad mixer", _init(m.GLATransformer(**{**_LM, "mixer": "rnn"}), _TOK),
             match="mixer"),
    BadInput("models.gla.GLATransformer", "heads do not split d_k",
             _init(m.GLATransformer(**{**_LM, "num_heads": 3}), _TOK), match="expand_k"),
    BadInput("models.gla.GLATransformer", "negative norm_eps",
             _init(m.GLATransformer(**{**_LM, "norm_eps": -1.0}), _TOK), match="norm_eps"),
    BadInput("models.gla.GLATransformer", "states count", lambda: _abstract_apply(
        _lm, _TOK, _TOK, states=_lm.initial_states(1)[:0]), match="states"),
    BadInput("models.gla.GLATransformer", "decode token rank", lambda: _abstract_apply(
        _lm, _TOK, _TOK, _lm.initial_states(1), method="decode_step"), match="token"),
    BadInput("models.gla.GLATransformer", "decode token id", lambda: _abstract_apply(
        _lm, _TOK, jnp.array([7]), _lm.initial_states(1), method="decode_step"), match=r"token: .*\[0, 5\)"),
    BadInput("models.gla.SoftmaxTransformer", "no max_len",
             lambda: m.SoftmaxTransformer(vocab_size=5, d_model=4, num_layers=1, num_heads=2).initial_states(1),
             match="max_len"),
    BadInput("models.gla.SoftmaxTransformer", "token id = vocab", _init(_sm64, jnp.array([[5, 1, 0]])),
             match=r"SoftmaxTransformer: tokens: expected values in \[0, 5\)"),
    BadInput("models.gla.SoftmaxTransformer", "odd head dim",
             _init(m.SoftmaxTransformer(vocab_size=5, d_model=4, num_layers=1, num_heads=4), _TOK), match="num_heads"),
    # helpers
    BadInput("models.gla.swiglu_width", "zero width", lambda: m.swiglu_width(0), match="d_model"),
    BadInput("models.gla.swiglu_width", "float width", lambda: m.swiglu_width(64.0), match="d_model"),
    BadInput("models.gla.swiglu_width", "zero multiple", lambda: m.swiglu_width(64, multiple_of=0),
             match="multiple_of"),
    BadInput("models.gla.make_model", "unknown size", lambda: m.make_model("7B"), match="make_model: name"),
    BadInput("models.gla.make_model", "unknown field", lambda: m.make_model("340M", mixr="softmax"),
             match="overrides", error=TypeError),
    BadInput("models.gla.make_model", "bad override", lambda: m.make_model("340M", mixer="rnn"), match="mixer"),
    BadInput("models.gla.count_params", "not a model", lambda: m.count_params(m.RMSNorm()), match="count_params: model",
             error=TypeError),
    BadInput("models.gla.count_params", "seq_len 0", lambda: m.count_params(_lm, seq_len=0), match="seq_len"),
]

_pos = np.arange(3)

GRADIENTS = [
    Grad("models.gla.RMSNorm", _applier(m.RMSNorm()), lambda: (X, {"scale": 1.0 + 0.1 * _n(D)})),
    Grad("models.gla.SwiGLU", _applier(m.SwiGLU(3)), lambda: (X, _params(m.SwiGLU(3), _X))),
    Grad("models.gla.rope", jax.jit(lambda x: m.rope(x, jnp.asarray(_pos))), lambda: (_n(1, 3, 2, 4),)),
    # The mixers, the block and the LMs: reverse mode only (each mode is a compile of ~0.4 s; forward mode
    # of their pieces is checked above and, for the GLA recurrence, by the kernel battery).
    Grad("models.gla.GatedLinearAttention", _applier(_gla), lambda: (X, _params(_gla, _X)), modes=("rev",)),
    Grad("models.gla.CausalSelfAttention", _applier(_att), lambda: (X, _params(_att, _X)), modes=("rev",)),
    Grad("models.gla.Block", _applier(_blk_sm), lambda: (X, _params(_blk_sm, _X)), case="softmax mixer",
         modes=("rev",)),
    Grad("models.gla.GLATransformer", jax.jit(lambda p: _lm64.apply({"params": p}, _TOK)),
         lambda: (_params(_lm64, _TOK),), case="params", modes=("rev",)),
    Grad("models.gla.SoftmaxTransformer", jax.jit(lambda p: _sm64.apply({"params": p}, _TOK)),
         lambda: (_params(_sm64, _TOK),), case="params", modes=("rev",)),
]

EXEMPT = {
    "models.gla.count_params": "grad: counts parameters of a model (integer output, no floating input)",
    "models.gla.make_model": "grad: builds a module from a name (no floating input)",
    "models.gla.swiglu_width": "grad: integer inputs only",
}
