"""Oracle tests for models.pgn (PGN / TPGN, NeurIPS 2024), the ETT data module and the experiment summary.

Oracles: plain numpy float64 loops with explicit indexing (the PGN recurrence-free layer, the whole TPGN
forward pass, DLinear's moving average), Jacobians (HIE causality), closed-form gate limits, the per-channel
parameter formulas of the paper notes, Python's ``datetime`` for the timeF marks, numpy for the metrics and the
6:2:2 borders of the official loader. Tolerances: float64 at 1e-10 (a few hundred O(1) flops); the trained
periodic fit at MSE < 1e-3 of a unit-variance signal.
"""
from __future__ import annotations

import datetime

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.datasets import ett
from models import pgn as G

F64 = 1e-10
R_, P_, DT = 3, 4, 2            # rows, period, time features of the tiny TPGN
L_IN, L_OUT, C, D = R_ * P_, 2 * P_, 2, 3


def _f64(tree):
  return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def _sig(v):
  return 1.0 / (1.0 + np.exp(-v))


def _pgn_numpy(z, kernel, bias, gk, gb):
  """PGN on z [R, F] by explicit loops: H_r from the previous rows only, then the gate."""
  r_, f = z.shape
  w, _, d = kernel.shape
  h = np.zeros((r_, d))
  for r in range(r_):
    hist = bias.copy()
    for k in range(w):
      src = r - w + k
      if src >= 0:
        hist += z[src] @ kernel[k]
    pre = np.concatenate([z[r], hist]) @ gk + gb
    g = _sig(pre[:d])
    h[r] = g * hist + (1 - g) * np.tanh(pre[d:])
  return h


@pytest.fixture(scope="module")
def tiny():
  rng = np.random.default_rng(9)
  x = rng.normal(size=(2, L_IN, C)) * 3 + 1
  marks = rng.uniform(-0.5, 0.5, size=(2, L_IN, DT))
  model = G.TPGN(seq_len=L_IN, pred_len=L_OUT, period=P_, d_model=D, n_channels=C, d_time=DT, norm=True)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.asarray(x, jnp.float32), jnp.asarray(marks, jnp.float32))["params"]
  return model, _f64(params), x, marks


def test_pgn_layer_matches_numpy_loop_float64():
  rng = np.random.default_rng(1)
  z = rng.normal(size=(2, 5, 3))
  layer = G.PGN(features=4)
  p = _f64(jax.jit(layer.init)(jax.random.PRNGKey(3), jnp.asarray(z, jnp.float32))["params"])
  with jax.enable_x64(True):
    out = np.asarray(jax.jit(layer.apply)({"params": p}, jnp.asarray(z)))
  for b in range(2):
    ref = _pgn_numpy(z[b], p["hie_kernel"], p["hie_bias"], p["gate"]["kernel"], p["gate"]["bias"])
    np.testing.assert_allclose(out[b], ref, rtol=F64, atol=F64)


def test_hie_is_causal_and_sees_every_previous_row():
  rng = np.random.default_rng(2)
  r_, f, d = 6, 2, 3
  kernel, bias = rng.normal(size=(r_ - 1, f, d)), rng.normal(size=d)
  with jax.enable_x64(True):
    jac = np.asarray(jax.jit(jax.jacfwd(lambda z: G.hie(z, kernel, bias)))(jnp.asarray(rng.normal(size=(r_, f)))))
  block = np.abs(jac).sum(axis=(1, 3))        # [r, r']: total sensitivity of H_r to z_r'
  for r in range(r_):
    for rp in range(r_):
      if rp >= r:
        assert block[r, rp] == 0.0, (r, rp)   # the present and future never leak into the history
      else:
        assert block[r, rp] > 0.0, (r, rp)    # path length 1 from every earlier row
  # the whole PGN layer: h_r depends on z_r (the gate) and every earlier row, never on later rows
  layer = G.PGN(features=d)
  z = jnp.asarray(rng.normal(size=(r_, f)), jnp.float32)
  p = jax.jit(layer.init)(jax.random.PRNGKey(0), z)
  s = np.abs(np.asarray(jax.jit(jax.jacfwd(lambda z: layer.apply(p, z)))(z))).sum(axis=(1, 3))
  assert np.all(s[np.triu_indices(r_, 1)] == 0) and np.all(s[np.tril_indices(r_)] > 0)


def test_history_windows_explicit_indexing():
  z = np.arange(5 * 2, dtype=np.float64).reshape(5, 2) + 1
  win = np.asarray(G.history_windows(jnp.asarray(z), 3))
  for r in range(5):
    for k in range(3):
      src = r - 3 + k
      np.testing.assert_array_equal(win[r, k], z[src] if src >= 0 else 0.0)


def test_gate_bias_limits():
  rng = np.random.default_rng(3)
  z = rng.normal(size=(4, 2))
  layer = G.PGN(features=3)
  p = _f64(jax.jit(layer.init)(jax.random.PRNGKey(1), jnp.asarray(z, jnp.float32))["params"])
  with jax.enable_x64(True):
    hist = np.asarray(jax.jit(G.hie)(jnp.asarray(z), p["hie_kernel"], p["hie_bias"]))
    for sign in (+1, -1):
      q = jax.tree.map(np.copy, p)
      q["gate"]["bias"][:3] = sign * 60.0          # the sigmoid half of the gate
      h = np.asarray(jax.jit(layer.apply)({"params": q}, jnp.asarray(z)))
      if sign > 0:
        np.testing.assert_allclose(h, hist, rtol=0, atol=1e-12)   # pure HIE (linear): 1 - sigmoid(60) ~ 1e-26
      else:
        cand = np.concatenate([z, hist], axis=1) @ q["gate"]["kernel"][:, 3:] + q["gate"]["bias"][3:]
        np.testing.assert_allclose(h, np.tanh(cand), rtol=0, atol=1e-12)


def _tpgn_numpy(params, x, marks, branches="both", norm=True):
  """TPGN by explicit index arithmetic (t = r * P + p), float64, channel by channel."""
  b_, l_, c_ = x.shape
  out = np.zeros((b_, L_OUT, c_))
  rp = L_OUT // P_
  for c in range(c_):
    pc = jax.tree.map(lambda a: a[c], params["channels"])
    for b in range(b_):
      s = x[b, :, c]
      if norm:
        mu = s.mean()
        sd = np.sqrt(((s - mu) ** 2).mean() + 1e-5)
        s = (s - mu) / sd
      grid = np.zeros((R_, P_, 1 + DT))
      for r in range(R_):
        for p in range(P_):
          grid[r, p, 0] = s[r * P_ + p]
          grid[r, p, 1:] = marks[b, r * P_ + p]
      feats = []
      if branches in ("both", "short"):
        e = np.stack([grid[r].reshape(-1) @ pc["row_embed"]["kernel"] + pc["row_embed"]["bias"] for r in range(R_)])
        g = e.reshape(-1) @ pc["row_global"]["kernel"] + pc["row_global"]["bias"]
        feats.append(np.tile(g, (P_, 1)))
      if branches in ("both", "long"):
        q = pc["pgn"]
        longs = []
        for p in range(P_):
          h = _pgn_numpy(grid[:, p], q["hie_kernel"], q["hie_bias"], q["gate"]["kernel"], q["gate"]["bias"])
          longs.append(h.reshape(-1) @ pc["row_aggregate"]["kernel"] + pc["row_aggregate"]["bias"])
        feats.append(np.stack(longs))
      f = np.concatenate(feats, axis=1)                     # [P, 2d]
      y = f @ pc["head"]["kernel"] + pc["head"]["bias"]     # [P, R']
      for r in range(rp):
        for p in range(P_):
          out[b, r * P_ + p, c] = y[p, r] * (sd if norm else 1.0) + (mu if norm else 0.0)
  return out


@pytest.mark.parametrize("branches", G.BRANCHES)
def test_tpgn_matches_explicit_indexing_oracle(branches):
  rng = np.random.default_rng(4)
  x = rng.normal(size=(2, L_IN, C)) * 3 + 1
  marks = rng.uniform(-0.5, 0.5, size=(2, L_IN, DT))
  model = G.TPGN(seq_len=L_IN, pred_len=L_OUT, period=P_, d_model=D, n_channels=C, d_time=DT, branches=branches)
  params = _f64(jax.jit(model.init)(jax.random.PRNGKey(5), jnp.asarray(x, jnp.float32),
                           jnp.asarray(marks, jnp.float32))["params"])
  with jax.enable_x64(True):
    out = np.asarray(jax.jit(model.apply)({"params": params}, jnp.asarray(x), jnp.asarray(marks)))
  np.testing.assert_allclose(out, _tpgn_numpy(params, x, marks, branches), rtol=F64, atol=F64)


def test_tpgn_channels_have_own_weights_and_are_independent(tiny):
  model, params, x, marks = tiny
  k = params["channels"]["head"]["kernel"]
  assert k.shape[0] == C and not np.allclose(k[0], k[1])      # stacked, distinct per channel
  x2 = x.copy()
  x2[:, :, 1] = np.random.default_rng(0).normal(size=x2[:, :, 1].shape)
  with jax.enable_x64(True):
    f = jax.jit(model.apply)
    y1 = np.asarray(f({"params": params}, jnp.asarray(x), jnp.asarray(marks)))
    y2 = np.asarray(f({"params": params}, jnp.asarray(x2), jnp.asarray(marks)))
  np.testing.assert_array_equal(y1[..., 0], y2[..., 0])
  assert not np.allclose(y1[..., 1], y2[..., 1])


def _count(tree):
  return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


@pytest.mark.parametrize("branches", G.BRANCHES)
def test_parameter_count_matches_per_channel_formulas(branches):
  f, d, r, rp, p = 1 + DT, D, R_, L_OUT // P_, P_
  long_ = (f * (r - 1) * d + d) + ((f + d) * 2 * d + 2 * d) + (r * d * d + d)
  short = (f * p * d + d) + (r * d * d + d)
  width = {"both": 2 * d, "long": d, "short": d}[branches]
  per_channel = {"both": long_ + short, "long": long_, "short": short}[branches] + width * rp + rp
  model = G.TPGN(seq_len=L_IN, pred_len=L_OUT, period=P_, d_model=D, n_channels=C, d_time=DT, branches=branches)
  shapes = jax.eval_shape(lambda k: jax.jit(model.init)(k, jnp.zeros((1, L_IN, C)), jnp.zeros((1, L_IN, DT))),
                          jax.random.PRNGKey(0))
  assert _count(shapes["params"]) == C * per_channel


def test_fold_unfold_and_norm_identities():
  rng = np.random.default_rng(5)
  x = rng.normal(size=(2, 12, 3)) * 5 + 2
  with jax.enable_x64(True):
    f = np.asarray(G.fold(jnp.asarray(x), 4))
    for r in range(3):
      for p in range(4):
        np.testing.assert_array_equal(f[:, r, p], x[:, r * 4 + p])
    np.testing.assert_array_equal(np.asarray(G.unfold(jnp.asarray(f))), x)
    xn, mu, sd = G.instance_norm(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(mu)[:, 0], x.mean(1), rtol=F64)
    np.testing.assert_allclose(np.asarray(sd)[:, 0], np.sqrt(x.var(1) + 1e-5), rtol=F64)
    np.testing.assert_allclose(np.asarray(G.denormalize(xn, mu, sd)), x, rtol=F64, atol=F64)


def test_metrics_match_numpy():
  rng = np.random.default_rng(6)
  a, b = rng.normal(size=(3, 7, 2)), rng.normal(size=(3, 7, 2))
  with jax.enable_x64(True):
    assert abs(float(G.mse(a, b)) - np.mean((a - b) ** 2)) < F64
    assert abs(float(G.mae(a, b)) - np.mean(np.abs(a - b))) < F64


def test_baselines_match_numpy():
  rng = np.random.default_rng(7)
  x = rng.normal(size=(2, 30, 1))
  with jax.enable_x64(True):
    ma = np.asarray(jax.jit(G.moving_average, static_argnums=1)(jnp.asarray(x), 5))
    xp = np.concatenate([np.repeat(x[:, :1], 2, 1), x, np.repeat(x[:, -1:], 2, 1)], 1)
    ref = np.stack([xp[:, t:t + 5].mean(1) for t in range(30)], 1)
    np.testing.assert_allclose(ma, ref, rtol=F64, atol=F64)
    dl = G.DLinear(seq_len=30, pred_len=6, kernel=5)
    p = _f64(jax.jit(dl.init)(jax.random.PRNGKey(0), jnp.asarray(x, jnp.float32))["params"])
    out = np.asarray(jax.jit(dl.apply)({"params": p}, jnp.asarray(x)))
    want = np.einsum("bt,to->bo", (x - ref)[..., 0], p["seasonal"]["kernel"]) + p["seasonal"]["bias"] \
        + np.einsum("bt,to->bo", ref[..., 0], p["trend"]["kernel"]) + p["trend"]["bias"]
    np.testing.assert_allclose(out[..., 0], want, rtol=F64, atol=F64)
    nl = G.NLinear(seq_len=30, pred_len=6)
    q = _f64(jax.jit(nl.init)(jax.random.PRNGKey(1), jnp.asarray(x, jnp.float32))["params"])
    last = x[:, -1, 0][:, None]
    want = (x[..., 0] - last) @ q["linear"]["kernel"] + q["linear"]["bias"] + last
    np.testing.assert_allclose(np.asarray(jax.jit(nl.apply)({"params": q}, jnp.asarray(x)))[..., 0], want, rtol=F64,
                               atol=F64)


def test_gru_is_causal_over_the_window():
  """The GRU forecast depends on every input step (long path), TPGN's too (path length 1)."""
  gru = G.GRUForecaster(seq_len=8, pred_len=4, hidden=5, d_time=0, norm=False)
  x = jnp.asarray(np.random.default_rng(8).normal(size=(1, 8, 1)), jnp.float32)
  p = jax.jit(gru.init)(jax.random.PRNGKey(0), x)
  jac = np.asarray(jax.jit(jax.jacfwd(lambda v: gru.apply(p, v)))(x))[0, :, 0, 0, :, 0]   # [out, in]
  assert np.all(np.abs(jac).sum(0) > 0)


def test_time_features_at_known_timestamps():
  stamps = ["2016-07-01T00:00", "2016-12-31T23:00", "2018-06-26T19:45", "2020-02-29T12:30"]
  got_h = ett.time_features(np.array(stamps, dtype="datetime64[m]"), "h")
  got_t = ett.time_features(np.array(stamps, dtype="datetime64[m]"), "t")
  got_d = ett.time_features(np.array(stamps, dtype="datetime64[m]"), "d")
  for i, s in enumerate(stamps):
    t = datetime.datetime.fromisoformat(s)
    h = [t.hour / 23 - .5, t.weekday() / 6 - .5, (t.day - 1) / 30 - .5, (t.timetuple().tm_yday - 1) / 365 - .5]
    np.testing.assert_allclose(got_h[i], h, atol=1e-7)
    np.testing.assert_allclose(got_t[i], [t.minute / 59 - .5] + h, atol=1e-7)
    np.testing.assert_allclose(got_d[i], h[1:], atol=1e-7)


def test_split_windows_and_scaling_follow_the_official_loader(tmp_path):
  n, seq, pred = 500, 48, 24
  series = ett.make_ett_like(n, seed=3)
  again = ett.make_ett_like(n, seed=3)
  np.testing.assert_array_equal(series.values, again.values)
  assert series.dates[0] == np.datetime64("2016-07-01T00:00") and series.dates[1] - series.dates[0] == np.timedelta64(1, "h")
  b = ett.split_borders(n, seq)
  assert b == {"train": (0, 300), "val": (300 - seq, 400), "test": (500 - 100 - seq, 500)}
  data = ett.ForecastData(series, seq, pred)
  mu, sd = series.values[:300].mean(0), series.values[:300].std(0)
  np.testing.assert_allclose(data.data, (series.values - mu) / sd, rtol=1e-5, atol=1e-5)
  for split in ett.SPLITS:
    lo, hi = b[split]
    assert data.n_windows(split) == hi - lo - seq - pred + 1
    x, m, y = data.windows(split, [0, data.n_windows(split) - 1])
    np.testing.assert_array_equal(x[1], data.data[hi - seq - pred:hi - pred])
    np.testing.assert_array_equal(y[1], data.data[hi - pred:hi])
    np.testing.assert_array_equal(x[0], data.data[lo:lo + seq])
    np.testing.assert_array_equal(m[0], data.marks[lo:lo + seq])
  # CSV path in the ETTh1 layout (target moved last for 'M')
  path = tmp_path / "toy.csv"
  lines = ["date,HUFL,OT,LULL"] + [f"2016-07-01 {h:02d}:00:00,{h},{10 + h},{-h}" for h in range(24)]
  path.write_text("\n".join(lines) + "\n")
  s = ett.load_ett_csv(str(path), features="M")
  assert s.columns == ("HUFL", "LULL", "OT")
  np.testing.assert_array_equal(s.values[5], [5, -5, 15])
  assert s.dates[5] == np.datetime64("2016-07-01T05:00")
  np.testing.assert_array_equal(ett.load_ett_csv(str(path)).values[:, 0], 10 + np.arange(24))


def test_compare_forecasts_and_selection_by_hand():
  mse = {m: {168: [1.0, 2.0], 720: [3.0, 5.0]} for m in G.MODELS}
  mse["gru"] = {168: [2.0, 4.0], 720: [8.0, 8.0]}
  s = G.compare_forecasts(mse)
  assert s["mean"]["tpgn"] == {168: 1.5, 720: 4.0}
  assert abs(s["se"]["tpgn"][720] - 1.0) < 1e-12            # sd sqrt(2) / sqrt(2)
  assert s["margin_rnn"] == {168: 0.5, 720: 0.5} and s["ablation_gap"]["tpgn_long"] == {168: 0.0, 720: 0.0}
  test, names = G.select_by_validation({"d4": ([0.2, 0.1], [1.0, 2.0]), "d8": ([0.1, 0.3], [3.0, 4.0])})
  assert test == [3.0, 2.0] and names == ["d8", "d4"]


def test_tpgn_fits_a_noiseless_periodic_series():
  """Daily shape + weekly modulation without noise: a trained TPGN reaches near-zero MSE (a linear path exists)."""
  p_, seq, pred = 8, 32, 16
  t = np.arange(600)
  s = np.sin(2 * np.pi * t / p_) + 0.5 * np.sin(4 * np.pi * t / p_ + 1) + 0.3 * np.sin(2 * np.pi * t / (3 * p_))
  starts = np.arange(0, 600 - seq - pred)
  x = np.stack([s[i:i + seq] for i in starts])[..., None].astype(np.float32)
  y = np.stack([s[i + seq:i + seq + pred] for i in starts])[..., None].astype(np.float32)
  marks = jnp.zeros((len(starts), seq, 0), jnp.float32)
  x, y = jnp.asarray(x), jnp.asarray(y)
  model = G.TPGN(seq_len=seq, pred_len=pred, period=p_, d_model=8, d_time=0, norm=True)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), x[:2], marks[:2])["params"]
  tx = optax.adam(1e-2)

  def loss(pr, idx):
    return jnp.mean((model.apply({"params": pr}, x[idx], marks[idx]) - y[idx]) ** 2)

  def step(carry, idx):
    pr, st = carry
    l, g = jax.value_and_grad(loss)(pr, idx)
    u, st = tx.update(g, st, pr)
    return (optax.apply_updates(pr, u), st), l

  idx = jax.random.randint(jax.random.PRNGKey(1), (300, 32), 0, len(starts))
  (params, _), _ = jax.jit(lambda c, i: jax.lax.scan(step, c, i))((params, tx.init(params)), idx)
  final = float(jax.jit(loss)(params, jnp.arange(len(starts))))
  assert final < 1e-3 * np.var(s), final
