"""Batteries for theory/info_plane (paper 18: 12-bit data, the 12-10-7-5-4-3-2 network, binning/KDE MI, toy).

Binned estimators, codes and samplers are integer-valued (no derivative); the network's logits/loss and the KDE
bound are checked against finite differences in float64."""
import jax
import jax.numpy as jnp
import numpy as np

from theory import info_plane as IP
from battery import BadInput, Grad, NoGrad  # noqa: F401  (loaded beside this file by tests/test_batteries.py)

PACKAGES = ("theory.info_plane",)
_P = "theory.info_plane."
KEY = jax.random.PRNGKey(0)
H = np.linspace(-0.9, 0.9, 12).reshape(4, 3)
Y = np.array([0, 1, 1, 0])
X = np.array([[0.0, 1.0] * 6, [1.0, 0.0] * 6])
YX = np.array([0, 1])
_HOST = "grad: a host numpy function (numpy out, not traceable)"
_JIT = ("bad-input: a jit-internal helper called by validated public functions; unchecked inputs give "
        "meaningless numbers")


def _params():
  return IP.init_network(KEY, (12, 3, 2))


def _sweep():
  """A hand-made InfoPlaneSweep (2 seeds, 3 snapshots, 6 layers): the summaries only read its arrays."""
  z = np.zeros((2, 3, 6))
  return IP.InfoPlaneSweep(np.array([1, 2, 4]), z, z, z[..., 0], z[..., 0], z[..., 0], z + 1, z + 1, z + 1, (),
                           np.zeros((2, 4096), bool))


BAD_INPUTS = [
    BadInput(_P + "bin_indices", "one bin", lambda: IP.bin_indices(jnp.asarray(H), 1), match="n_bins"),
    BadInput(_P + "binned_information", "labels not binary", lambda: IP.binned_information(H, np.array([0, 1, 2, 0])),
             match="binary"),
    BadInput(_P + "binned_information", "bins < 2", lambda: IP.binned_information(H, Y, n_bins=1), match="n_bins"),
    BadInput(_P + "binned_information", "codes overflow int64",
             lambda: IP.binned_information(np.zeros((4, 13)), Y), match="overflows int64"),
    BadInput(_P + "row_codes", "width overflows", lambda: IP.row_codes(jnp.zeros((2, 13), jnp.int32), 30),
             match="overflows int64"),
    BadInput(_P + "max_code_width", "bins < 2", lambda: IP.max_code_width(1), match="n_bins"),
    BadInput(_P + "kde_information", "sigma2 <= 0", lambda: IP.kde_information(H, Y, 0.0), match="sigma2"),
    BadInput(_P + "kde_information", "labels not binary", lambda: IP.kde_information(H, Y + 3, 0.1), match="binary"),
    BadInput(_P + "kde_layers", "activation", lambda: IP.kde_layers(_params(), "sigmoid"), match="activation"),
    BadInput(_P + "layer_information", "bins < 2", lambda: IP.layer_information(_params(), n_bins=1), match="n_bins"),
    BadInput(_P + "info_plane_sweep", "activation", lambda: IP.info_plane_sweep(KEY, 2, activation="elu"),
             match="activation"),
    BadInput(_P + "info_plane_sweep", "n_seeds 0", lambda: IP.info_plane_sweep(KEY, 0), match="n_seeds"),
    BadInput(_P + "info_plane_sweep", "lr <= 0", lambda: IP.info_plane_sweep(KEY, 2, lr=0.0), match="lr"),
    BadInput(_P + "snapshot_params", "not a sweep", lambda: IP.snapshot_params((), 0, 0), match="sweep"),
    BadInput(_P + "init_network", "no softmax output", lambda: IP.init_network(KEY, (12, 3, 3)), match="widths"),
    BadInput(_P + "init_network", "bad key", lambda: IP.init_network(np.zeros(3), (12, 2)), match="key"),
    BadInput(_P + "logits", "activation", lambda: IP.logits(_params(), X, "sigmoid"), match="activation"),
    BadInput(_P + "layer_outputs", "activation", lambda: IP.layer_outputs(_params(), X, "sigmoid"),
             match="activation"),
    BadInput(_P + "cross_entropy", "activation", lambda: IP.cross_entropy(_params(), X, YX, "sigmoid"),
             match="activation"),
    BadInput(_P + "log_epochs", "total 0", lambda: IP.log_epochs(0, 10), match="total"),
    BadInput(_P + "make_trainer", "optimizer", lambda: IP.make_trainer(X, YX, 2, activation="tanh", optimizer="rms",
                                                                     lr=1e-3, batch_size=2, epochs=[1]),
             match="optimizer"),
    BadInput(_P + "make_trainer", "epochs not increasing",
             lambda: IP.make_trainer(X, YX, 2, activation="tanh", optimizer="sgd", lr=1e-3, batch_size=2,
                                     epochs=[3, 2]), match="epochs"),
    BadInput(_P + "train_mask", "fraction 1", lambda: IP.train_mask(KEY, 10, 1.0), match="train_fraction"),
    BadInput(_P + "toy_binned_exact", "w <= 0", lambda: IP.toy_binned_exact([0.0, 1.0]), match="ws"),
    BadInput(_P + "toy_binned_sample", "n 1", lambda: IP.toy_binned_sample(KEY, [1.0], n=1), match="n must"),
    BadInput(_P + "compression", "not a sweep", lambda: IP.compression(np.zeros((2, 3, 6))), match="sweep"),
    BadInput(_P + "compression", "layer 0", lambda: IP.compression(_sweep(), layers=(0, 3)), match="layers"),
    BadInput(_P + "gradient_snr", "layer past the output", lambda: IP.gradient_snr(_sweep(), layers=(7,)),
             match="layers"),
    BadInput(_P + "rise_and_fall", "not finite", lambda: IP.rise_and_fall([0.0, np.nan]), match="values"),
    BadInput(_P + "toy_binned_sample", "activation", lambda: IP.toy_binned_sample(KEY, [1.0], "elu"),
             match="activation"),
]

GRADIENTS = [
    Grad(_P + "logits", lambda w: IP.logits(((w, jnp.zeros(3, w.dtype)), (jnp.ones((3, 2), w.dtype), jnp.zeros(2, w.dtype))),
                                            jnp.asarray(X, w.dtype)), lambda: (np.linspace(-0.5, 0.5, 36).reshape(12, 3),)),
    Grad(_P + "cross_entropy", lambda w: IP.cross_entropy(((w, jnp.zeros(3, w.dtype)),
                                                           (jnp.ones((3, 2), w.dtype) * jnp.array([1.0, -1.0], w.dtype),
                                                            jnp.zeros(2, w.dtype))), jnp.asarray(X, w.dtype), YX),
         lambda: (np.linspace(-0.5, 0.5, 36).reshape(12, 3),)),
    Grad(_P + "layer_outputs", lambda w: IP.layer_outputs(((w, jnp.zeros(3, w.dtype)),
                                                           (jnp.ones((3, 2), w.dtype), jnp.zeros(2, w.dtype))),
                                                          jnp.asarray(X, w.dtype)),
         lambda: (np.linspace(-0.5, 0.5, 36).reshape(12, 3),)),
    Grad(_P + "kde_information", lambda h: IP.kde_information(h, Y, 0.5).i_xt_upper, lambda: (H,)),
    Grad(_P + "relu_bin_probs", lambda w: IP.relu_bin_probs(w, 0.1, 40), lambda: (np.float64(1.3),)),
]

EXEMPT = {
    _P + "ACTIVATIONS": "constant", _P + "OPTIMIZERS": "constant", _P + "WIDTHS": "constant", _P + "RULE": "constant",
    _P + "N_BITS": "constant", _P + "INT64_MAX": "constant", _P + "RELU_BINNINGS": "constant",
    _P + "BinnedMI": "result container", _P + "KDEMI": "result container", _P + "InfoPlaneSweep": "result container",
    _P + "Trajectory": "result container", _P + "Compression": "result container",
    _P + "RiseFall": "result container",
    _P + "compression": _HOST, _P + "gradient_snr": _HOST, _P + "rise_and_fall": _HOST,
    _P + "TwelveBit": "result container", _P + "Hyper": "result container",
    _P + "bin_indices": "grad: integer bin ids out",
    _P + "binned_information": "grad: a plug-in entropy of integer bin codes (piecewise constant)",
    _P + "row_codes": "grad: integer codes of integer rows",
    _P + "max_code_width": "grad: integer in, integer out",
    _P + "entropy_from_codes": "integer codes in (no derivative); " + _JIT,
    _P + "information_from_codes": "integer codes in (no derivative); " + _JIT,
    _P + "hyper": "builds the traced settings from validated strings; no float function to differentiate",
    _P + "train_run": ("the training simulator (a scan of SGD/Adam steps); its step differentiates cross_entropy, "
                       "checked above; tested against float64 gradient descent. " + _JIT),
    _P + "n_train": "integer arithmetic on validated arguments",
    _P + "kde_layers": "grad: host loop over kde_information (checked above)",
    _P + "layer_information": _HOST, _P + "info_plane_sweep": _HOST, _P + "snapshot_params": _HOST,
    _P + "init_network": "grad: draws weights from a key; no float input",
    _P + "log_epochs": _HOST, _P + "make_trainer": "grad: returns a function (train_run, exempt above)",
    _P + "train_mask": "grad: a boolean mask from a key",
    _P + "toy_binned_exact": _HOST, _P + "toy_binned_sample": _HOST,
    _P + "icosahedron": "no arguments (constant geometry)", _P + "vertex_pairs": "no arguments (constant geometry)",
    _P + "twelve_bit_dataset": "no arguments (the fixed data set)",
    _P + "tanh_bin_probs": ("closed-form helper of toy_binned_exact (validated there); its derivative in w is not "
                            "checked (the +-inf atanh end points break finite differences)"),
    _P + "relu_bin_probs": "bad-input: " + _JIT.split(": ", 1)[1],
}
