"""ExMy floating-point formats: bit layout, saturation convention and the numbers the quantiser needs.

A format has one sign bit, ``E`` exponent bits and ``M`` mantissa bits (``1 + E + M`` bits in all). For
``E >= 1`` the exponent bias is ``b = 2^(E-1) - 1``, the smallest normal exponent ``e_min = 1 - b`` (the
subnormals share its step ``2^(e_min - M)``) and the largest value depends on what the top codes mean
(``convention``):

* ``"finite"``: every code is a finite number (the OCP FP4/FP6 formats, ``ml_dtypes.float4_e2m1fn``,
  ``float6_e2m3fn``, ``float6_e3m2fn``): ``max = 2^(2^E - 1 - b) (2 - 2^-M)``;
* ``"ieee"``: the top exponent is reserved for inf/NaN (``float8_e5m2``, ``float8_e3m4``, bfloat16):
  ``max = 2^(2^E - 2 - b) (2 - 2^-M)``;
* ``"nan_max"``: only the all-ones code is NaN (``float8_e4m3fn``): ``max = 2^(2^E - 1 - b) (2 - 2^(1-M))``
  (with ``M = 0`` the top binade holds only that code: ``max = 2^(2^E - 2 - b)``).

``E = 0`` is the symmetric integer grid ``{-(2^M - 1), ..., 2^M - 1}`` with step 1 (sign-magnitude INT(M+1));
the convention does not apply.

The quantiser (``xla.py``/``pallas.py``) reads a format as four numbers (:class:`FormatParams`): the
mantissa bits, the exponent range ``[e_min, e_max]`` of the binades and the largest value; these may be
traced arrays (``stack_formats`` vmaps over formats).
"""
from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple, Sequence

import numpy as np

__all__ = ["CONVENTIONS", "FPFormat", "FormatParams", "parse_format", "stack_formats", "FLOAT32_MAX_EXP"]

CONVENTIONS = ("finite", "ieee", "nan_max")
FLOAT32_MAX_EXP = 127   # the quantiser computes in float32: every binade exponent must lie in [-126, 127]


class FormatParams(NamedTuple):
  """What the quantiser reads from a format (Python numbers, or arrays with a leading format axis).

  man_bits: M; e_min / e_max: the smallest / largest binade exponent (a value in binade e has step
  ``2^(e - M)``); max_value: the saturation value; enabled: 0.0 turns the quantiser into the identity
  (full precision inside a vmap over formats).
  """
  man_bits: object
  e_min: object
  e_max: object
  max_value: object
  enabled: object = 1.0


def _check_int(name: str, v, lo: int, fn: str) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
    raise ValueError(f"{fn}: {name}: expected an int >= {lo}, got {v!r}")
  return int(v)


@dataclasses.dataclass(frozen=True)
class FPFormat:
  """A sign + ``exp_bits`` + ``man_bits`` format with a saturation ``convention`` (hashable: a static argument).

  ``convention=None`` picks the OCP / ml_dtypes-style default: ``"nan_max"`` for E4M3, ``"ieee"`` for any other
  format of 8 bits or more (E5M2, E3M4, bfloat16-like E8M7) and ``"finite"`` below 8 bits (E1M1, E2M1, E3M2,
  E2M3, ...).
  """
  exp_bits: int
  man_bits: int
  convention: str | None = None

  def __post_init__(self):
    fn = "FPFormat"
    e = _check_int("exp_bits", self.exp_bits, 0, fn)
    m = _check_int("man_bits", self.man_bits, 0, fn)
    if 1 + e + m > 32:
      raise ValueError(f"{fn}: exp_bits, man_bits: expected 1 + E + M <= 32 bits, got 1 + {e} + {m} = {1 + e + m}")
    if e == 0 and m == 0:
      raise ValueError(f"{fn}: man_bits: expected >= 1 when exp_bits = 0 (an integer grid needs a magnitude bit), "
                       f"got 0")
    conv = self.convention
    if conv is None:
      conv = "nan_max" if (e, m) == (4, 3) else "ieee" if 1 + e + m >= 8 else "finite"
      object.__setattr__(self, "convention", conv)
    if conv not in CONVENTIONS:
      raise ValueError(f"{fn}: convention: expected one of {CONVENTIONS} or None, got {conv!r}")
    if m > 23:
      raise ValueError(f"{fn}: man_bits: expected <= 23 (the quantiser computes in float32), got {m}")
    if e >= 1:
      lo, hi = self.e_min, self.e_max
      if lo - m < -126 - 23 or hi > FLOAT32_MAX_EXP:
        raise ValueError(f"{fn}: exp_bits: E{e}M{m} ({conv}) spans binades [{lo}, {hi}], outside float32's "
                         f"[-126, {FLOAT32_MAX_EXP}] (the quantiser computes in float32)")

  @property
  def bits(self) -> int:
    return 1 + self.exp_bits + self.man_bits

  @property
  def name(self) -> str:
    return f"E{self.exp_bits}M{self.man_bits}"

  @property
  def bias(self) -> int:
    return 2 ** (self.exp_bits - 1) - 1 if self.exp_bits else 0

  @property
  def e_min(self) -> int:
    """The smallest binade exponent (normals and subnormals share its step); M for the integer grid."""
    return 1 - self.bias if self.exp_bits else self.man_bits

  @property
  def e_max(self) -> int:
    """The binade of the largest finite value."""
    e, b = self.exp_bits, self.bias
    if e == 0:
      return self.man_bits
    top = 2 ** e - 1 - b
    if self.convention == "ieee" or (self.convention == "nan_max" and self.man_bits == 0):
      top -= 1
    return top

  @property
  def max_value(self) -> float:
    e, m = self.exp_bits, self.man_bits
    if e == 0:
      return float(2 ** m - 1)
    if self.convention == "nan_max" and m >= 1:
      return float(2.0 ** self.e_max * (2.0 - 2.0 ** (1 - m)))
    return float(2.0 ** self.e_max * (2.0 - 2.0 ** -m))

  @property
  def min_subnormal(self) -> float:
    """The smallest positive value, ``2^(e_min - M)`` (1 for the integer grid)."""
    return float(2.0 ** (self.e_min - self.man_bits))

  def params(self) -> FormatParams:
    return FormatParams(self.man_bits, self.e_min, self.e_max, self.max_value, 1.0)

  def __str__(self) -> str:
    return f"{self.name}({self.convention})" if self.exp_bits else f"INT{self.man_bits + 1}"


_NAME = re.compile(r"^E(\d+)M(\d+)$", re.IGNORECASE)


def parse_format(spec, convention: str | None = None) -> FPFormat:
  """``"E4M3"`` (any case), an ``(E, M)`` pair or an :class:`FPFormat` -> :class:`FPFormat`."""
  if isinstance(spec, FPFormat):
    return spec if convention is None else dataclasses.replace(spec, convention=convention)
  if isinstance(spec, str):
    m = _NAME.match(spec.strip())
    if not m:
      raise ValueError(f"parse_format: spec: expected a name like 'E4M3', got {spec!r}")
    return FPFormat(int(m.group(1)), int(m.group(2)), convention)
  if isinstance(spec, (tuple, list)) and len(spec) == 2:
    return FPFormat(spec[0], spec[1], convention)
  raise TypeError(f"parse_format: spec: expected an FPFormat, a name like 'E4M3' or an (E, M) pair, got "
                  f"{type(spec).__name__}")


def stack_formats(formats: Sequence[FPFormat | None]) -> FormatParams:
  """:class:`FormatParams` with a leading axis over ``formats`` (``None`` = full precision, ``enabled = 0``),
  as numpy arrays (int32 bits and exponents, float32 max), for a vmap over formats."""
  if not formats:
    raise ValueError("stack_formats: formats: expected a non-empty sequence, got an empty one")
  rows = []
  for f in formats:
    if f is None:
      rows.append((23, -126, 127, float(np.finfo(np.float32).max), 0.0))
    elif isinstance(f, FPFormat):
      rows.append(tuple(f.params()))
    else:
      raise TypeError(f"stack_formats: formats: expected FPFormat or None entries, got {type(f).__name__}")
  cols = list(zip(*rows))
  return FormatParams(np.asarray(cols[0], np.int32), np.asarray(cols[1], np.int32), np.asarray(cols[2], np.int32),
                      np.asarray(cols[3], np.float32), np.asarray(cols[4], np.float32))
