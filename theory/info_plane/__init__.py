"""The information plane of deep networks: the 12-bit data set, the 12-10-7-5-4-3-2 network and its training
simulator (vmapped over seeds), binning and KDE mutual-information estimators, minibatch-gradient SNR, and Saxe et
al.'s single-neuron toy.

Paper: "Opening the Black Box of Deep Neural Networks via Information", R. Shwartz-Ziv, N. Tishby (2017),
arXiv:1703.00810; with the critique "On the Information Bottleneck Theory of Deep Learning", A. M. Saxe, Y. Bansal,
J. Dapello, M. Advani, A. Kolchinsky, B. D. Tracey, D. D. Cox (ICLR 2018).
"""
from theory.info_plane.data import (N_BITS, RULE, TwelveBit, icosahedron, n_train, train_mask, twelve_bit_dataset,
                                    vertex_pairs)
from theory.info_plane.experiment import (RELU_BINNINGS, Compression, InfoPlaneSweep, RiseFall, compression,
                                          gradient_snr, info_plane_sweep, kde_layers, layer_information,
                                          rise_and_fall, snapshot_params)
from theory.info_plane.mi import (INT64_MAX, KDEMI, BinnedMI, bin_indices, binned_information, entropy_from_codes,
                                  information_from_codes, kde_information, max_code_width, row_codes)
from theory.info_plane.network import (ACTIVATIONS, OPTIMIZERS, WIDTHS, Hyper, Trajectory, cross_entropy, hyper,
                                       init_network, layer_outputs, log_epochs, logits, make_trainer, train_run)
from theory.info_plane.toy import relu_bin_probs, tanh_bin_probs, toy_binned_exact, toy_binned_sample

__all__ = ["ACTIVATIONS", "BinnedMI", "Compression", "Hyper", "INT64_MAX", "InfoPlaneSweep", "KDEMI", "N_BITS",
           "OPTIMIZERS", "RELU_BINNINGS", "RULE", "RiseFall", "Trajectory", "TwelveBit", "WIDTHS", "bin_indices",
           "binned_information", "compression", "cross_entropy", "entropy_from_codes", "gradient_snr", "hyper",
           "icosahedron", "info_plane_sweep", "information_from_codes", "init_network", "kde_information",
           "kde_layers", "layer_information", "layer_outputs", "log_epochs", "logits", "make_trainer",
           "max_code_width", "n_train", "relu_bin_probs", "rise_and_fall", "row_codes", "snapshot_params",
           "tanh_bin_probs", "toy_binned_exact", "toy_binned_sample", "train_mask", "train_run",
           "twelve_bit_dataset", "vertex_pairs"]
