# Diagnostic (docs/reconstruct.md step 17, "How far +2 dB is"): per-pixel read-outs over the causal estimates that
# bench/reconstruct/readout-features.mjs writes (hold, 12 Gaussian priors, the motion prior at DEFAULT_MOTION and
# DUAL_MOTION, each with the arriving pixels pasted in). The features of a cell: every channel of every estimate over
# its 3 x 3 neighbourhood (zero outside; R=2: 5 x 5), standardised. Two read-outs, each mapping them to the cell's RGB:
#   linear   least squares (a ridge of 1e-6), and
#   mlp      one hidden layer of HIDDEN relu units (default 64), Adam (lr 1e-3, batches of 2048, seed 0), EPOCHS passes
#            over the rows (default 40 for one video, 10 for several)
# Modes:
#   own VIDEO...             fitted on each video's own truth, all frames, and scored on it (an oracle: what the
#                            estimates hold for a model that knew the video); HALVES=1 fits on the even frames and
#                            scores the odd ones
#   cross TRAIN,... TEST,... fitted on the truth of the TRAIN videos and scored on the TEST videos (what a read-out
#                            learned elsewhere carries over); ROWS=f fits on a fixed random share f of each training
#                            video's cells (default 1), and then the training videos are not scored
# Scores: the median PSNR over frames with the frame's arriving pixels pasted in, as every method of docs/reconstruct.md.
#   python3 bench/reconstruct/readout.py FEATURES own|cross ...    (needs numpy: Debian's python3-numpy)
import json, os, sys
import numpy as np

R = int(os.environ.get('R', '1'))
HIDDEN = int(os.environ.get('HIDDEN', '64'))
HALVES = os.environ.get('HALVES') == '1'
ESTIMATES = 15
HOLD, PRIOR, MOTION, DUAL = 0, 9, 13, 14  # hold; sigma 3, decay 0.6 (the prior baseline); the two motion priors


def load(folder, name, rows=1.0):
    shape = json.load(open(os.path.join(folder, name + '.json')))
    T, H, W = shape['frames'], shape['height'], shape['width']
    raw = np.fromfile(os.path.join(folder, name + '.f32'), dtype=np.float32)
    n = 3 * H * W
    series = raw[: (ESTIMATES + 1) * T * n].reshape(ESTIMATES + 1, T, 3, H, W)
    masks = raw[(ESTIMATES + 1) * T * n:].reshape(T, H, W) > 0
    truth, estimates = series[0], series[1:]
    columns = []
    for e in estimates:
        padded = np.pad(e, ((0, 0), (0, 0), (R, R), (R, R)))
        for dy in range(2 * R + 1):
            for dx in range(2 * R + 1):
                columns.append(padded[:, :, dy:dy + H, dx:dx + W])
    X = np.stack(columns, -1)  # [T][3][H][W][estimates x neighbours]
    X = np.concatenate([X[:, c] for c in range(3)], -1).reshape(T * H * W, -1)
    Y = truth.transpose(0, 2, 3, 1).reshape(T * H * W, 3)
    if rows < 1:  # a fixed random share of the rows (cross mode's training videos: ROWS)
        keep = np.random.default_rng(1).random(len(X)) < rows
        return dict(name=name, X=X[keep], Y=Y[keep])
    return dict(name=name, T=T, H=H, W=W, X=X, Y=Y, truth=truth, masks=masks, estimates=estimates)


def score(video, estimate, frames=None):
    truth, masks = video['truth'], video['masks']
    e = np.clip(estimate, 0, 1).copy()
    out = []
    for t in frames if frames is not None else range(video['T']):
        e[t][:, masks[t]] = truth[t][:, masks[t]]
        out.append(10 * np.log10(1 / np.mean((e[t] - truth[t]) ** 2)))
    return float(np.median(out))


def fit(X, Y, kind):
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Xn = X
    Xn -= mu  # in place: the rows are not needed unstandardised again (memory)
    Xn /= sd
    if kind == 'linear':
        F = Xn.shape[1] + 1
        G, B = np.zeros((F, F)), np.zeros((F, 3))
        for s in range(0, len(Xn), 65536):  # normal equations in float64, a chunk of rows at a time
            A = np.concatenate([Xn[s:s + 65536], np.ones((len(Xn[s:s + 65536]), 1), np.float32)], 1).astype(np.float64)
            G += A.T @ A
            B += A.T @ Y[s:s + 65536]
        coef = np.linalg.solve(G + 1e-6 * np.eye(F), B)
        Xn *= sd  # back, for the next read-out
        Xn += mu
        return lambda Z: np.concatenate([(Z - mu) / sd, np.ones((len(Z), 1), np.float32)], 1) @ coef
    rng = np.random.default_rng(0)
    W1 = rng.normal(0, np.sqrt(2 / Xn.shape[1]), (Xn.shape[1], HIDDEN)).astype(np.float32)
    b1 = np.zeros(HIDDEN, np.float32)
    W2 = np.zeros((HIDDEN, 3), np.float32)
    b2 = Y.mean(0).astype(np.float32)
    params = [W1, b1, W2, b2]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    step = 0
    epochs = int(os.environ.get('EPOCHS', '40' if len(Xn) <= 250_000 else '10'))
    for _ in range(epochs):
        order = rng.permutation(len(Xn))
        for s in range(0, len(Xn), 2048):
            idx = order[s:s + 2048]
            x, y = Xn[idx], Y[idx]
            h = x @ W1 + b1
            a = np.maximum(h, 0)
            g = 2 * (a @ W2 + b2 - y) / len(idx)
            gh = g @ W2.T
            gh[h <= 0] = 0
            grads = [x.T @ gh, gh.sum(0), a.T @ g, g.sum(0)]
            step += 1
            for p, gp, u, v in zip(params, grads, m1, m2):
                u *= 0.9
                u += 0.1 * gp
                v *= 0.999
                v += 0.001 * gp * gp
                p -= 1e-3 * (u / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    Xn *= sd
    Xn += mu
    return lambda Z: np.maximum((Z - mu) / sd @ W1 + b1, 0) @ W2 + b2


def report(video, label, predict, frames=None):
    v = video
    estimate = predict(v['X']).reshape(v['T'], v['H'], v['W'], 3).transpose(0, 3, 1, 2)
    s = score(v, estimate, frames)
    hold, prior, motion, dual = (score(v, v['estimates'][k], frames) for k in (HOLD, PRIOR, MOTION, DUAL))
    bar = max(hold, prior) + 2
    print(f"{v['name']} | {label} | {s:.2f} | bar {bar:.2f} ({s - bar:+.2f}) | motion {motion:.2f} ({s - motion:+.2f}) | dual {dual:.2f}", flush=True)


folder, mode, *rest = sys.argv[1:]
kinds = ['linear', 'mlp']
if mode == 'own':
    for name in rest:
        v = load(folder, name)
        rows = np.arange(v['T'] * v['H'] * v['W']).reshape(v['T'], -1)
        for kind in kinds:
            if HALVES:
                train = rows[0::2].reshape(-1)
                predict = fit(v['X'][train], v['Y'][train], kind)
                report(v, f'{kind}, own truth, even frames -> odd', predict, range(1, v['T'], 2))
            else:
                report(v, f'{kind}, own truth', fit(v['X'], v['Y'], kind))
elif mode == 'cross':
    rows = float(os.environ.get('ROWS', '1'))
    train = [load(folder, n, rows) for n in rest[0].split(',')]
    tests = [load(folder, n) for n in rest[1].split(',')]
    X = np.concatenate([v['X'] for v in train])
    Y = np.concatenate([v['Y'] for v in train])
    for kind in kinds:
        predict = fit(X, Y, kind)
        for v in tests + (train if rows == 1 else []):
            report(v, f"{kind}, fitted on {len(train)} videos{' (trained on)' if any(v is u for u in train) else ''}", predict)
else:
    sys.exit(f'readout.py: mode must be own or cross, not {mode}')
