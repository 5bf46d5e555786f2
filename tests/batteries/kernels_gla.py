"""Batteries for kernels/gla (paper 07: gated linear attention, ``gla`` and ``gla_decode_step``).

Gradients: ``gla`` through the scan (``reference``, float64, forward and reverse mode), the chunk form
(``xla``, float64, reverse mode only: its custom_vjp has no forward rule; one case, about 2 s of
compiles) with gates of exactly 0 (``log_g = -inf``) and 1 (``log_g = 0``) among ordinary ones (finite
differences leave ``-inf`` at ``-inf``, so that entry's derivative is 0 on both sides), and the Pallas
kernels (interpret mode, float32 only: ``impl="pallas"`` refuses float64). Pallas tolerance: ``check_grads``'s float32 default 2e-3 with a step
``eps = 1e-2``: for this O(1) function the central difference's truncation error is about
``eps² / 6 · |f'''| ≈ 2e-5`` and its float32 rounding ``6e-8 · |f| / eps ≈ 1e-5``, both far below 2e-3,
as is the kernels' own float32 gradient error (≤ 1e-5 rel-RMS, tests/kernels/test_gla.py).
"""
import jax
import jax.numpy as jnp
import numpy as np

from kernels.gla import gla, gla_decode_step
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("kernels.gla",)

_rng = np.random.default_rng(7)
_n = lambda *shape, s=1.0: s * _rng.standard_normal(shape)
B, T, H, K, V = 1, 5, 1, 3, 2
Q, KK, VV = _n(B, T, H, K), _n(B, T, H, K), _n(B, T, H, V)
G = -np.abs(_n(B, T, H, K, s=0.5))                # log_g <= 0
H0 = _n(B, H, K, V)
G_EDGE = G.copy()
G_EDGE[0, 1, 0, :] = -np.inf                      # a reset of every key channel
G_EDGE[0, 3, 0, 1] = -np.inf
G_EDGE[0, 2, 0, 2] = 0.0                          # a gate of exactly 1

_q, _k, _v, _g = (jnp.asarray(x, jnp.float32) for x in (Q, KK, VV, G))
_s0 = jnp.asarray(H0, jnp.float32)


def _full(impl, chunk_size=16):
  def f(q, k, v, g, h0):
    return gla(q, k, v, g, initial_state=h0, output_final_state=True, impl=impl, chunk_size=chunk_size)
  return jax.jit(f)


def _step(q, k, v, g, s):
  return gla_decode_step(q, k, v, g, s, scale=0.6)


BAD_INPUTS = [
    BadInput("kernels.gla.gla", "rank 3 q", lambda: gla(_q[0], _k, _v, _g), match="gla: q: expected rank 4"),
    BadInput("kernels.gla.gla", "k shape", lambda: gla(_q, _k[:, :2], _v, _g), match="gla: k: expected the shape"),
    BadInput("kernels.gla.gla", "log_g shape", lambda: gla(_q, _k, _v, _g[..., :1]), match="gla: log_g"),
    BadInput("kernels.gla.gla", "v heads", lambda: gla(_q, _k, jnp.zeros((B, T, H + 1, V)), _g), match="gla: v"),
    BadInput("kernels.gla.gla", "v batch", lambda: gla(_q, _k, jnp.zeros((B + 1, T, H, V)), _g), match="gla: v"),
    BadInput("kernels.gla.gla", "empty T", lambda: gla(*(x[:, :0] for x in (_q, _k, _v, _g))),
             match="gla: q: expected every dim"),
    BadInput("kernels.gla.gla", "int q", lambda: gla(_q.astype(jnp.int32), _k, _v, _g), match="gla: q",
             error=TypeError),
    BadInput("kernels.gla.gla", "bool log_g", lambda: gla(_q, _k, _v, _g > 0), match="gla: log_g", error=TypeError),
    BadInput("kernels.gla.gla", "mixed dtypes", lambda: gla(_q, _k.astype(jnp.bfloat16), _v, _g),
             match="gla: q, k, v", error=TypeError),
    BadInput("kernels.gla.gla", "list q", lambda: gla([[1.0]], _k, _v, _g), match="gla: q", error=TypeError),
    BadInput("kernels.gla.gla", "initial_state shape", lambda: gla(_q, _k, _v, _g, initial_state=_s0[..., :1]),
             match="gla: initial_state"),
    BadInput("kernels.gla.gla", "chunk not a power of 2", lambda: gla(_q, _k, _v, _g, chunk_size=48),
             match="gla: chunk_size"),
    BadInput("kernels.gla.gla", "chunk too small", lambda: gla(_q, _k, _v, _g, chunk_size=8), match="gla: chunk_size"),
    BadInput("kernels.gla.gla", "chunk too large", lambda: gla(_q, _k, _v, _g, chunk_size=512),
             match="gla: chunk_size"),
    BadInput("kernels.gla.gla", "chunk bool", lambda: gla(_q, _k, _v, _g, chunk_size=True), match="gla: chunk_size"),
    BadInput("kernels.gla.gla", "bad impl", lambda: gla(_q, _k, _v, _g, impl="triton"), match="gla: impl"),
    BadInput("kernels.gla.gla", "negative scale", lambda: gla(_q, _k, _v, _g, scale=-1.0), match="gla: scale"),
    BadInput("kernels.gla.gla", "nan scale", lambda: gla(_q, _k, _v, _g, scale=float("nan")), match="gla: scale"),
    BadInput("kernels.gla.gla", "output_final_state int", lambda: gla(_q, _k, _v, _g, output_final_state=1),
             match="gla: output_final_state", error=TypeError),
    BadInput("kernels.gla.gla", "pallas float64", lambda: _pallas_f64(), match="impl='pallas'", error=TypeError),
    BadInput("kernels.gla.gla_decode_step", "rank 4 q", lambda: gla_decode_step(_q, _k, _v, _g),
             match="gla_decode_step: q: expected rank 3"),
    BadInput("kernels.gla.gla_decode_step", "k shape", lambda: gla_decode_step(_q[:, 0], _k[:, 0, :, :2], _v[:, 0],
                                                                               _g[:, 0]), match="k, log_g"),
    BadInput("kernels.gla.gla_decode_step", "v heads", lambda: gla_decode_step(_q[:, 0], _k[:, 0], _v[:, 0, :0],
                                                                               _g[:, 0]), match="gla_decode_step: v"),
    BadInput("kernels.gla.gla_decode_step", "int v", lambda: gla_decode_step(_q[:, 0], _k[:, 0],
                                                                             _v[:, 0].astype(jnp.int32), _g[:, 0]),
             match="gla: v", error=TypeError),
    BadInput("kernels.gla.gla_decode_step", "state shape", lambda: gla_decode_step(
        _q[:, 0], _k[:, 0], _v[:, 0], _g[:, 0], _s0[:, :, :1]), match="gla_decode_step: state"),
    BadInput("kernels.gla.gla_decode_step", "zero scale", lambda: gla_decode_step(
        _q[:, 0], _k[:, 0], _v[:, 0], _g[:, 0], scale=0.0), match="scale"),
]


def _pallas_f64():
  with jax.enable_x64(True):
    x = jnp.zeros((1, 2, 1, 2), jnp.float64)
    return gla(x, x, x, x, impl="pallas")


GRADIENTS = [
    Grad("kernels.gla.gla", _full("reference"), lambda: (Q, KK, VV, G, H0), case="reference"),
    Grad("kernels.gla.gla", _full("xla"), lambda: (Q, KK, VV, G_EDGE, H0), case="xla zero and unit gates",
         modes=("rev",)),
    Grad("kernels.gla.gla", _full("pallas"), lambda: (Q, KK, VV, G, H0), case="pallas interpret float32",
         dtype="float32", modes=("rev",), eps=1e-2, atol=2e-3, rtol=2e-3),
    Grad("kernels.gla.gla_decode_step", _step, lambda: (Q[:, 0], KK[:, 0], VV[:, 0], G[:, 0], H0)),
]

EXEMPT = {}
