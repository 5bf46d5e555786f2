"""Holomorphic / generalised equilibrium propagation with Jacobian homeostasis (paper 13).

Laborieux & Zenke, "Improving equilibrium propagation without weight symmetry through Jacobian homeostasis",
ICLR 2024 (arXiv:2309.02214). See ``README.md`` for the equation -> function map.
"""
from models.holomorphic_ep.dynamics import *  # noqa: F401,F403
from models.holomorphic_ep.dynamics import __all__ as _dyn_all
from models.holomorphic_ep.experiment import *  # noqa: F401,F403
from models.holomorphic_ep.experiment import __all__ as _exp_all

__all__ = list(_dyn_all) + list(_exp_all)
