"""IIR-SNN (paper 11): ANN → SNN conversion with percentile thresholds and iterative latency reduction T = 5 → 1.

Chowdhury, Rathi & Roy 2021, "One Timestep is All You Need: Training Spiking Neural Networks with Ultra Low
Latency" (arXiv:2110.05929). The neuron, surrogate and spiking MLP are the shared core ``models.common.spiking``;
this package adds the ReLU ANN with the same parameter layout, the layer-wise threshold initialisation, the loss
and the staged schedule (see ``README.md``).
"""
from models.iir_snn.modules import ANNMLP, snn_model, cross_entropy, accuracy, spikes_per_neuron
from models.iir_snn.conversion import convert, find_thresholds
from models.iir_snn.experiment import stage_schedule, corrupt, evaluate_snn, evaluate_ann

__all__ = ["ANNMLP", "snn_model", "cross_entropy", "accuracy", "spikes_per_neuron", "convert", "find_thresholds",
           "stage_schedule", "corrupt", "evaluate_snn", "evaluate_ann"]
