"""The two batteries every paper joins: bad inputs and derivatives (run by ``tests/test_batteries.py``).

Each file ``tests/batteries/<slug>.py`` (found by name; a new paper adds one file, nothing else) defines:

* ``PACKAGES``: the public packages it covers (``("theory.paging",)``); every callable in their ``__all__``
  must appear below, or the coverage tests fail;
* ``BAD_INPUTS``: :class:`BadInput` cases: a call with an invalid argument and the error it must raise,
  whose message must name the argument (``match`` is a regular expression searched in the message);
* ``GRADIENTS``: :class:`Grad` cases (derivatives checked against finite differences with
  ``jax.test_util.check_grads``, in float64 unless the function is float32-only) and :class:`NoGrad`
  cases (differentiating must raise a clear error, never return a silent zero);
* ``EXEMPT``: ``{public name: reason}`` for names that need no case: constants, result containers,
  ``"bad-input: ..."`` / ``"grad: ..."`` prefixes exempt one battery only (e.g. ``"grad: integer inputs
  only"``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class BadInput:
  """``call()`` must raise ``error`` with ``match`` (a regex, usually the argument's name) in the message."""
  target: str                       # public name, "package.name" (e.g. "theory.paging.simulate")
  case: str                         # what is wrong, short ("batch mismatch")
  call: Callable[[], Any]
  match: str
  error: type[BaseException] | tuple[type[BaseException], ...] = (ValueError, TypeError)

  @property
  def id(self) -> str:
    return f"{self.target}/{self.case}"


@dataclasses.dataclass(frozen=True)
class Grad:
  """``fn(*args())`` is differentiated in ``argnums`` and checked against central finite differences.

  ``fn`` closes over the arguments that are not differentiated and returns an array or a tree of float
  arrays. ``dtype`` is the dtype the example arguments are cast to: ``"float64"`` (run under
  ``jax.enable_x64``) unless the function is float32-only. ``atol``/``rtol``/``eps`` default to
  ``check_grads``'s own values for the dtype.
  """
  target: str
  fn: Callable[..., Any]
  args: Callable[[], tuple]
  case: str = "grad"
  dtype: str = "float64"
  order: int = 1
  modes: tuple[str, ...] = ("rev",)
  atol: float | None = None
  rtol: float | None = None
  eps: float | None = None

  @property
  def id(self) -> str:
    return f"{self.target}/{self.case}"


@dataclasses.dataclass(frozen=True)
class NoGrad:
  """Differentiating ``fn(*args())`` with respect to its first argument must raise ``error``/``match``."""
  target: str
  fn: Callable[..., Any]
  args: Callable[[], tuple]
  match: str = "not differentiable|real-valued|integer"
  error: type[BaseException] | tuple[type[BaseException], ...] = TypeError
  case: str = "no-grad"
  dtype: str = "float64"

  @property
  def id(self) -> str:
    return f"{self.target}/{self.case}"


def weighted_sum(out) -> Any:
  """A fixed, non-symmetric linear functional of every float leaf of ``out`` (weights cos(0.7 k + 0.3),
  never 0; a plain sum can cancel, e.g. softmax): the harness differentiates this scalar."""
  total = 0.0
  for leaf in jax.tree.leaves(out):
    if jnp.issubdtype(leaf.dtype, jnp.inexact):
      w = jnp.cos(0.7 * jnp.arange(leaf.size, dtype=leaf.dtype) + 0.3).reshape(leaf.shape)
      total = total + jnp.sum(w * leaf)
  return total


def jit_functional(fn: Callable[..., Any]) -> Callable[..., Any]:
  """``jit`` of ``weighted_sum(fn(*args))``: one compile per case, and ``check_grads`` (the slow path)
  compares the derivative of a scalar with finite differences."""
  return jax.jit(lambda *a: weighted_sum(fn(*a)))
