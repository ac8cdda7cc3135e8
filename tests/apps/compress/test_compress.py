"""Tests of randla.apps.compress: autoencoder, optimisers, blocking, codecs, strategy."""

from __future__ import annotations

import numpy as np
import pytest

from randla.apps.compress import (
    LAMB,
    Adam,
    Autoencoder,
    AutoencoderCodec,
    Blocking,
    Compressed,
    ErrorBounded,
    Float16Codec,
    LowRankCodec,
    RawCodec,
    denormalize,
    evaluate_codec,
    normalize,
    train_codec,
    training_blocks,
)
from randla.apps.wave import FullStorage, Geometry, Propagator, gradient, layered_model


def _params_to_host(ae):
    from randla.backend import to_host

    return [to_host(p).astype(np.float64) for p in ae.params]


# -- autoencoder -------------------------------------------------------------------


@pytest.mark.parametrize("hidden", [(), (6, 5)])
def test_autoencoder_gradient_matches_finite_differences(hidden):
    """Central differences in float64 on every parameter tensor (a Taylor test)."""
    ae = Autoencoder(8, hidden=hidden, latent_size=3, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).random((7, 8))
    loss, grads = ae.loss_and_gradient(x)
    gen = np.random.default_rng(2)
    direction = [gen.standard_normal(p.shape) for p in ae.params]
    slope = sum(float(np.sum(g * d)) for g, d in zip(grads, direction))
    base = list(ae.params)
    errors = []
    for h in (2e-3, 1e-3):
        ae.params = [p + h * d for p, d in zip(base, direction)]
        plus = ae.loss_and_gradient(x)[0]
        ae.params = [p - h * d for p, d in zip(base, direction)]
        minus = ae.loss_and_gradient(x)[0]
        errors.append(abs((plus - minus) / (2 * h) - slope))
    ae.params = base
    # second-order Taylor remainder: halving h divides the error by ~4
    assert errors[1] < 0.35 * errors[0] + 1e-12
    assert errors[1] < 1e-4 * max(abs(slope), 1.0)


def test_autoencoder_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    ae = Autoencoder(10, hidden=(7, 6), latent_size=3, dtype=np.float64, rng=3)
    x = np.random.default_rng(4).random((5, 10))
    loss, grads = ae.loss_and_gradient(x)
    params = [torch.tensor(p, requires_grad=True) for p in ae.params]
    h = torch.tensor(x)
    layers = len(params) // 2
    for i in range(layers):
        z = h @ params[2 * i] + params[2 * i + 1]
        h = z if i in (ae.num_encoder_layers - 1, layers - 1) else torch.nn.functional.elu(z)
    t_loss = torch.mean((h - torch.tensor(x)) ** 2)
    t_loss.backward()
    assert loss == pytest.approx(float(t_loss.detach()), rel=1e-12)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_autoencoder_runs_on_every_backend(xp, device):
    ae = Autoencoder(16, hidden=(8,), latent_size=4, xp=xp, device=device, rng=0)
    ref = Autoencoder(16, hidden=(8,), latent_size=4, rng=0)
    x = np.random.default_rng(0).random((6, 16), dtype=np.float32)
    from randla.backend import from_host, to_host

    xb = from_host(x, xp, dtype=xp.float32, device=device)
    loss, grads = ae.loss_and_gradient(xb)
    loss_ref, grads_ref = ref.loss_and_gradient(x)
    assert loss == pytest.approx(loss_ref, rel=1e-5)
    for g, r in zip(grads, grads_ref):
        np.testing.assert_allclose(to_host(g), r, rtol=1e-4, atol=1e-6)


def test_linear_autoencoder_spans_pca_subspace():
    """hidden=() trained to convergence: decoder span = top principal subspace."""
    gen = np.random.default_rng(0)
    basis = np.linalg.qr(gen.standard_normal((12, 3)))[0]
    x = (gen.standard_normal((400, 3)) * [3.0, 2.0, 1.5]) @ basis.T + 0.01 * gen.standard_normal((400, 12))
    x = x.astype(np.float64)
    ae = Autoencoder(12, hidden=(), latent_size=3, dtype=np.float64, rng=1)
    opt = Adam(learning_rate=1e-2)
    for step in range(3000):
        _, grads = ae.loss_and_gradient(x)
        ae.params = opt.step(ae.params, grads)
    centred = x - x.mean(axis=0)
    pcs = np.linalg.svd(centred, full_matrices=False)[2][:3].T
    span = np.linalg.qr(ae.params[2].T)[0]  # decoder weights (3, 12) -> their row space
    cosines = np.linalg.svd(pcs.T @ span, compute_uv=False)
    assert np.min(cosines) > 0.999


def test_save_load_roundtrip_and_architecture_mismatch(tmp_path):
    ae = Autoencoder(16, hidden=(8,), latent_size=4, rng=0)
    path = tmp_path / "ae.npz"
    ae.save(path)
    loaded = Autoencoder.load(path)
    x = np.random.default_rng(0).random((3, 16), dtype=np.float32)
    np.testing.assert_array_equal(loaded.reconstruct(x), ae.reconstruct(x))
    other = Autoencoder(16, hidden=(6,), latent_size=4, rng=0)
    with pytest.raises(ValueError, match="architecture"):
        other.load_weights(path)
    np.savez(tmp_path / "junk.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not an autoencoder"):
        Autoencoder.load(tmp_path / "junk.npz")


def test_trained_codecs_pickle_roundtrip():
    """Codecs travel to worker processes (and asv's setup cache) by pickle."""
    import pickle

    blocks = np.random.default_rng(1).random((6, 4, 4), dtype=np.float32)
    learned = AutoencoderCodec(Autoencoder(16, hidden=(8,), latent_size=4, rng=0))
    lowrank = LowRankCodec(3)
    train_codec(learned, blocks, epochs=1, rng=0, progress=False)
    train_codec(lowrank, blocks, rng=0, progress=False)
    for codec in [learned, ErrorBounded(learned, 0.05), lowrank, Float16Codec()]:
        clone = pickle.loads(pickle.dumps(codec))
        np.testing.assert_array_equal(clone.decode(clone.encode(blocks)), codec.decode(codec.encode(blocks)))


def test_paper_architecture_is_table_1():
    ae = Autoencoder(rng=0)
    widths = [p.shape for p in ae.params[0::2]]
    assert widths[0] == (4096, 512) and widths[7] == (64, 64) and widths[-1] == (512, 4096)
    assert ae.num_encoder_layers == 8 and ae.params[0].dtype == np.float32


def test_lamb_trust_ratio_scales_step():
    opt = LAMB(learning_rate=0.1)
    w = [np.full(4, 2.0)]
    new = opt.step(w, [np.ones(4)])
    # first step: r = m_hat / (sqrt(v_hat) + eps) ~ 1, trust = |w| / |r| = 2
    np.testing.assert_allclose(new[0], 2.0 - 0.1 * 2.0 * (1 / (1 + 1e-6)), rtol=1e-6)


# -- blocking and codecs ---------------------------------------------------------------


def test_blocking_roundtrip_3d(xp, device):
    from randla.backend import from_host, to_host

    blocking = Blocking((2, 4, 3), window=2)
    stack = np.random.default_rng(0).random((2, 4, 8, 6))
    blocks = blocking.to_blocks(from_host(stack, xp, dtype=xp.float64, device=device))
    assert tuple(blocks.shape) == (8, 2, 2, 4, 3)
    np.testing.assert_array_equal(to_host(blocks)[1], stack[:, 0:2, 0:4, 3:6])
    np.testing.assert_array_equal(to_host(blocking.from_blocks(blocks, (4, 8, 6))), stack)


def test_normalize_range_and_beta():
    x = np.array([[2.0, 4.0], [1.0, 1.0]])
    y, offset, scale = normalize(x)
    assert y.min() == 0 and y.max() == 1 and scale[1] == 1e-7
    np.testing.assert_allclose(denormalize(y, offset, scale), x)


def _toy_blocks(n=600, seed=0):
    """Smooth toy 'wavefield' blocks of shape (n, 4, 4, 4): few modes, random scales."""
    gen = np.random.default_rng(seed)
    grid = np.linspace(0, 1, 4)
    t, a, b = np.meshgrid(grid, grid, grid, indexing="ij")
    modes = np.stack([np.sin(np.pi * (k + 1) * a + j * t) * np.cos(np.pi * b * j) for k in range(2) for j in range(2)])
    coef = gen.standard_normal((n, modes.shape[0]))
    scale = 10.0 ** gen.uniform(-3, 1, size=(n, 1, 1, 1))
    return (np.tensordot(coef, modes, axes=1) * scale).astype(np.float32)


def test_autoencoder_codec_roundtrip_on_trained_toy_data():
    blocks = _toy_blocks()
    codec = AutoencoderCodec(Autoencoder(64, hidden=(32,), latent_size=8, rng=0))
    with pytest.raises(RuntimeError, match="not trained"):
        codec.encode(blocks)
    history = train_codec(codec, blocks, validation=_toy_blocks(200, seed=1), epochs=60, batch_size=64,
                          optimizer="adam", learning_rate=3e-3, decay_every=20, rng=0, progress=False)
    assert history["validation_loss"][-1] < 0.05 * history["validation_loss"][0]
    stats = evaluate_codec(codec, _toy_blocks(100, seed=2))
    assert stats["error"] < 0.05
    assert stats["ratio"] == pytest.approx(4 * 64 / (4 * 8 + 16 + 1 / 8), rel=1e-2)


def test_codec_errors():
    codec = RawCodec()
    bad = np.ones((2, 4, 4), dtype=np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite|NaN"):
        codec.encode(bad)
    ae_codec = AutoencoderCodec(Autoencoder(64, hidden=(8,), latent_size=4, rng=0), trained=True)
    with pytest.raises(ValueError, match="64 values"):
        ae_codec.encode(np.ones((2, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="64 values"):
        Compressed(ae_codec, blocking=Blocking((4, 4), window=2))
    with pytest.raises(RuntimeError, match="not trained"):
        Compressed(LowRankCodec(2), blocking=Blocking((4, 4), window=2))


@pytest.mark.parametrize("tolerance", [1e-2, 1e-4])
def test_error_bounded_meets_tolerance_on_every_block(tolerance):
    blocks = _toy_blocks(300)
    inner = LowRankCodec(2)
    train_codec(inner, blocks, rng=0, progress=False)
    codec = ErrorBounded(inner, tolerance)
    decoded = codec.decode(codec.encode(blocks))
    flat, rec = blocks.reshape(300, -1).astype(np.float64), decoded.reshape(300, -1).astype(np.float64)
    bound = tolerance * np.maximum(np.ptp(flat, axis=1), 1e-7)
    assert np.all(np.max(np.abs(rec - flat), axis=1) <= bound)
    assert codec.num_corrected + codec.num_raw > 0  # rank 2 alone misses the bound


def test_float16_and_evaluate(xp, device):
    if getattr(xp, "float16", None) is None:
        pytest.skip("namespace without float16")
    from randla.backend import from_host

    x = from_host(_toy_blocks(20), xp, dtype=xp.float32, device=device)
    stats = evaluate_codec(Float16Codec(), x)
    assert stats["ratio"] == 2.0 and stats["error"] < 1e-3


def test_zfp_and_sz3_respect_absolute_tolerance():
    pytest.importorskip("zfpy")
    pytest.importorskip("pysz")
    from randla.apps.compress import SZ3Codec, ZfpCodec

    blocks = _toy_blocks(50)
    peak = np.max(np.abs(blocks))
    for codec in (ZfpCodec(1e-3), SZ3Codec(1e-3)):
        decoded = codec.decode(codec.encode(blocks))
        assert np.max(np.abs(decoded - blocks)) <= 1e-3 * peak * 1.001
        assert codec.encode(blocks).ratio > 1


# -- the strategy --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shot():
    model = layered_model((40, 32), spacing=10.0, nbl=8, dtype=np.float64)
    geom = Geometry(model, src_positions=[[200.0, 20.0]],
                    rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.3)
    vp = np.array(model.vp, copy=True)
    vp[20:26, 14:20] *= 1.1
    d_obs, _ = Propagator(model.with_vp(vp), geom.dt).forward(geom)
    return model, geom, d_obs


@pytest.mark.parametrize("quantity", ["u", "u_tt"])
def test_lossless_codec_gives_exact_gradient(shot, quantity):
    model, geom, d_obs = shot
    _, g_full = gradient(model, geom, d_obs, history=FullStorage())
    history = Compressed(RawCodec(), blocking=Blocking((8, 8), window=5), quantity=quantity)
    _, g = gradient(model, geom, d_obs, history=history)
    np.testing.assert_allclose(g, g_full, rtol=1e-10, atol=1e-12 * np.max(np.abs(g_full)))
    assert history.exact and history.compression_ratio < 1.1


@pytest.mark.parametrize("quantity", ["u", "u_tt"])
def test_replay_and_restart_adjoint(shot, quantity):
    model, geom, d_obs = shot
    _, U = Propagator(model, geom.dt).forward(geom, save=True)
    history = Compressed(RawCodec(), blocking=Blocking((8, 8), window=5), quantity=quantity)
    _, g1 = gradient(model, geom, d_obs, history=history)
    for t in (0, 1, 2, 7, geom.nt - 1, 3):  # forward order, then a restart
        np.testing.assert_allclose(history.replay(t), U[t], rtol=0, atol=1e-9 * np.max(np.abs(U)))
    # a second adjoint sweep against the same stored history
    history.restart_adjoint()
    assert float(np.max(np.abs(history.gradient()))) == 0.0
    assert type(history).replayable and np.max(np.abs(g1)) > 0


def test_gradient_error_bounded_by_block_error(shot):
    """|g - g_full|_1 <= |s| |E|_F |D2^T V|_F for quantity "u" (Cauchy-Schwarz)."""
    model, geom, d_obs = shot
    prop = Propagator(model, geom.dt)
    d, U = prop.forward(geom, save=True)
    _, V = prop.adjoint(geom, d - d_obs, save=True)
    _, g_full = gradient(model, geom, d_obs, history=FullStorage())
    blocking = Blocking((8, 8), window=4)
    blocks = training_blocks(model, geom, blocking, num_draws=2, keep_fraction=0.5, rng=0)
    codec = LowRankCodec(6)
    train_codec(codec, blocks, rng=0, progress=False)
    history = Compressed(codec, blocking=blocking, measure_error=True)
    _, g = gradient(model, geom, d_obs, history=history)
    nt = geom.nt
    full_windows = (nt // 4) * 4
    error_norm = history.block_error * np.linalg.norm(U[:full_windows])  # |E|_F (the tail is raw)
    Vp = np.concatenate([V, np.zeros((2, *V.shape[1:]))])
    d2t_v = Vp[:nt] - 2 * Vp[1:nt + 1] + Vp[2:nt + 2]
    s = 1.0 / geom.dt ** 2
    bound = s * error_norm * np.linalg.norm(d2t_v)
    diff = np.sum(np.abs(g - g_full))
    assert 0 < history.block_error < 1
    assert diff <= bound
    assert history.compression_ratio > 2


def test_compressed_strategy_on_torch_reference_backend():
    torch = pytest.importorskip("torch")
    from randla.backend import to_host

    model = layered_model((24, 20), spacing=10.0, nbl=4, xp=__import__("array_api_compat").array_namespace(
        torch.empty(0)), device=torch.device("cpu"), dtype=torch.float64)
    geom = Geometry(model, src_positions=[[120.0, 20.0]], rec_positions=[[60.0, 20.0], [150.0, 20.0]], tn=0.1)
    d_obs = torch.zeros((geom.nt, geom.nrec), dtype=torch.float64)
    _, g_full = gradient(model, geom, d_obs, history=FullStorage())
    _, g = gradient(model, geom, d_obs, history=Compressed(RawCodec(), blocking=Blocking((8, 8), window=3)))
    np.testing.assert_allclose(to_host(g), to_host(g_full), rtol=1e-9, atol=1e-12 * float(torch.max(torch.abs(g_full))))
