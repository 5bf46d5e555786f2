"""Modern Hopfield networks and Hopfield layers.

Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021, arXiv:2008.02217.

* :mod:`.functional`: energy (Eq. 2), update (Eq. 3), association weights, iterated updates.
* :mod:`.modules`: ``Hopfield``, ``HopfieldPooling``, ``HopfieldLayer`` (Flax linen).
* :mod:`.mil`: ``MILClassifier`` with hopfield / mean / max / gated-attention pooling.
* :mod:`.classical`: the binary Hopfield (1982) network baseline.
* :mod:`.experiment`: the retrieval experiment (modern one-step update vs the classical network).
"""
from __future__ import annotations

from models.hopfield import classical, functional
from models.hopfield.classical import async_sweep, hebbian_weights, overlaps, recall
from models.hopfield.classical import energy as classical_energy
from models.hopfield.experiment import classical_retrieval, corrupt, modern_retrieval, random_patterns
from models.hopfield.functional import (association, energy, energy_trajectory, hopfield_update,
                                        iterate, iterate_scan)
from models.hopfield.mil import POOLINGS, MILClassifier
from models.hopfield.modules import Hopfield, HopfieldLayer, HopfieldPooling, HopfieldSizes

__all__ = [
    "Hopfield", "HopfieldLayer", "HopfieldPooling", "HopfieldSizes", "MILClassifier", "POOLINGS",
    "association", "async_sweep", "classical", "classical_energy", "classical_retrieval", "corrupt", "energy",
    "energy_trajectory", "functional", "hebbian_weights", "hopfield_update", "iterate", "iterate_scan",
    "modern_retrieval", "overlaps", "random_patterns", "recall",
]
