"""Conformance battery over every registered model (models/registry.py).

For each small registered instance: init under ``jax.eval_shape`` agrees with a real init, apply runs
under jit without retracing on a second call, outputs and parameter gradients are finite, and init and
apply are deterministic given the keys.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import registry

SPECS = registry.all_specs()


def _rngs(spec, key):
  keys = jax.random.split(key, 1 + len(spec.rng_streams))
  return {"params": keys[0], **dict(zip(spec.rng_streams, keys[1:]))}


def _float_leaves(tree):
  return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]


def test_registry_is_not_empty():
  assert len(SPECS) >= 1
  assert len({s.name for s in SPECS}) == len(SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_model_conformance(spec):
  module = spec.make()
  args = spec.example_args(jax.random.PRNGKey(1))
  kw = dict(spec.apply_kwargs)
  rngs = _rngs(spec, jax.random.PRNGKey(0))

  # init under eval_shape: same structure, shapes and dtypes as the real init, nothing computed
  abstract = jax.eval_shape(lambda: module.init(rngs, *args, **kw))
  variables = module.init(rngs, *args, **kw)
  assert jax.tree.structure(abstract) == jax.tree.structure(variables)
  for a, v in zip(jax.tree.leaves(abstract), jax.tree.leaves(variables)):
    assert a.shape == v.shape and a.dtype == v.dtype
  assert len(jax.tree.leaves(variables["params"])) > 0

  # deterministic given a key; another key gives other parameters
  again = module.init(rngs, *args, **kw)
  for a, b in zip(jax.tree.leaves(variables), jax.tree.leaves(again)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  other = module.init(_rngs(spec, jax.random.PRNGKey(99)), *args, **kw)
  assert any(not np.array_equal(np.asarray(a), np.asarray(b))
             for a, b in zip(jax.tree.leaves(variables["params"]), jax.tree.leaves(other["params"])))

  # jit apply, no retrace on the second call
  traces = []
  apply_rngs = {k: v for k, v in rngs.items() if k != "params"}

  def apply(v, *a):
    traces.append(1)
    return module.apply(v, *a, rngs=apply_rngs or None, **kw)

  jitted = jax.jit(apply)
  out1 = jitted(variables, *args)
  out2 = jitted(variables, *args)
  assert len(traces) == 1, "apply retraced on an identical second call"
  for a, b in zip(jax.tree.leaves(out1), jax.tree.leaves(out2)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert all(np.all(np.isfinite(np.asarray(x))) for x in _float_leaves(out1))
  eager = module.apply(variables, *args, rngs=apply_rngs or None, **kw)
  for a, b in zip(jax.tree.leaves(out1), jax.tree.leaves(eager)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)

  # finite, not all-zero gradients with respect to the parameters
  def loss(params):
    out = module.apply({**variables, "params": params}, *args, rngs=apply_rngs or None, **kw)
    return sum(jnp.mean(jnp.square(x.astype(jnp.float32))) for x in _float_leaves(out))

  grads = jax.jit(jax.grad(loss))(variables["params"])
  leaves = jax.tree.leaves(grads)
  assert all(np.all(np.isfinite(np.asarray(g))) for g in leaves)
  assert any(np.any(np.asarray(g) != 0) for g in leaves)
