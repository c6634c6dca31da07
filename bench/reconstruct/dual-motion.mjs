// Prototype, not part of the library (docs/reconstruct.md, step 14): two motion-compensated memories carried side
// by side and blended per cell by their recent prediction error on the arriving pixels, together with the prior.
// Used by choose-motion.mjs when a setting has a `dual` key: {"dual": {"predict": "prev", "power": 8}}.
// Runs the built library (npm run build first).
//   A: MotionTracker with the per-cell velocity (DEFAULT_MOTION without its blend): estimate M_cell.
//   B: MotionTracker with the camera path everywhere (no margin, no blend): estimate M_path.
//   F: the Gaussian prior (A's own PriorTracker).
// Frame t: both trackers take the frame (their velocities for frame t are then known); each arriving
// pixel y(p) is compared with last frame's M_cell read at p - u_cell(p), last frame's M_path read at
// p - u_path(p) and last frame's F at p: squared errors spread by a Gaussian of width `sigma` and
// accumulated with factor `memory` (e_cell, e_path, e_F per cell). The estimate is
//   weights 'power': w_i ∝ e_i^-n (n = power; for two this is DEFAULT_MOTION's blend)
//   weights 'exp'  : w_i ∝ exp(-(e_i / e_min - 1) / tau)   (a relative temperature)
// E = sum_i w_i X_i / sum_i w_i.
import { bilinearClamped, gaussianTaps } from '../../dist/core/reconstruct/baselines.js';
import { MotionTracker } from '../../dist/core/reconstruct/motion.js';

export const DEFAULT_PATH = { lags: 12, memory: 0.9, step: 0.25, zoom: 0.03, zoomSteps: 3, spread: 1.5 };

export class DualMotionTracker {
    constructor(P, width, height, settings, priorSettings) {
        this.P = P; this.width = width; this.height = height;
        const plane = (this.plane = width * height);
        const dual = (this.dual = { sigma: 8, memory: 0.8, power: 4, weights: 'power', tau: 0.5, use: [0, 1, 2], ...settings.dual });
        const base = { ...settings };
        delete base.dual; delete base.blendSigma; delete base.blendPower; delete base.path;
        this.cell = new MotionTracker(P, width, height, base, priorSettings);
        const pathSettings = { ...DEFAULT_PATH, ...(settings.path ?? {}) };
        delete pathSettings.margin;
        this.pathT = new MotionTracker(P, width, height, { ...base, path: pathSettings }, priorSettings);
        this.taps = gaussianTaps(dual.sigma);
        this.estimate = new Float32Array(P * plane);
        this.confidence = this.cell.confidence;
        this.velocity = this.cell.velocity;
        this.prevCell = new Float32Array(P * plane);
        this.prevPath = new Float32Array(P * plane);
        this.prevF = new Float32Array(P * plane);
        this.prevUc = new Float32Array(2 * plane);
        this.prevUp = new Float32Array(2 * plane);
        this.err = [new Float64Array(plane), new Float64Array(plane), new Float64Array(plane)]; // cell, path, prior
        this.share = new Float64Array(3 * plane); // mean weights (diagnostic)
        this.frames = 0;
        this.started = false;
    }

    add(frame, mask) {
        const { P, plane, width, height, dual, taps } = this;
        const F = this.cell.prior.estimate;
        if (this.started) {
            this.prevCell.set(this.cell.estimate);
            this.prevPath.set(this.pathT.estimate);
            this.prevF.set(F);
            this.prevUc.set(this.cell.velocity);
            this.prevUp.set(this.pathT.velocity);
        }
        this.cell.add(frame, mask);
        this.pathT.add(frame, mask);
        if (this.started) {
            const [ec, ep, ef] = this.err;
            for (let i = 0; i < plane; i++) { ec[i] *= dual.memory; ep[i] *= dual.memory; ef[i] *= dual.memory; }
            // 'now': last frame's memory moved along this frame's velocity (fitted to these very pixels, as
            // DEFAULT_MOTION's blend does); 'prev': along last frame's velocity (a true prediction)
            const prev = dual.predict === 'prev';
            const uc = prev ? this.prevUc : this.cell.velocity, up = prev ? this.prevUp : this.pathT.velocity;
            const r = (taps.length - 1) / 2;
            for (let p = 0; p < plane; p++) {
                if (!mask[p]) continue;
                const px = p % width, py = (p - px) / width;
                let a = 0, b = 0, f = 0;
                for (let c = 0; c < P; c++) {
                    const y = frame[c * plane + p];
                    a += (y - bilinearClamped(this.prevCell, c * plane, width, height, px - uc[p], py - uc[plane + p])) ** 2;
                    b += (y - bilinearClamped(this.prevPath, c * plane, width, height, px - up[p], py - up[plane + p])) ** 2;
                    f += (y - this.prevF[c * plane + p]) ** 2;
                }
                for (let yy = Math.max(0, py - r); yy <= Math.min(height - 1, py + r); yy++) {
                    const gy = taps[yy - py + r];
                    for (let xx = Math.max(0, px - r); xx <= Math.min(width - 1, px + r); xx++) {
                        const g = gy * taps[xx - px + r], i = yy * width + xx;
                        ec[i] += g * a; ep[i] += g * b; ef[i] += g * f;
                    }
                }
            }
        }
        const X = [this.cell.estimate, this.pathT.estimate, F];
        const [ec, ep, ef] = this.err;
        const use = dual.use;
        const w = [0, 0, 0], e = [0, 0, 0];
        for (let i = 0; i < plane; i++) {
            e[0] = ec[i]; e[1] = ep[i]; e[2] = ef[i];
            let m = Infinity, M = 0;
            for (const k of use) { m = Math.min(m, e[k]); M = Math.max(M, e[k]); }
            w[0] = w[1] = w[2] = 0;
            if (M < 1e-20) { w[use[0]] = 1; }
            else {
                let tot = 0;
                for (const k of use) {
                    const rel = (e[k] + 1e-12) / (m + 1e-12);
                    w[k] = dual.weights === 'exp' ? Math.exp(-(rel - 1) / dual.tau) : rel ** -dual.power;
                    tot += w[k];
                }
                for (const k of use) w[k] /= tot;
            }
            for (let k = 0; k < 3; k++) this.share[k * plane + i] += w[k];
            for (let c = 0; c < P; c++) {
                const o = c * plane + i;
                this.estimate[o] = w[0] * X[0][o] + w[1] * X[1][o] + w[2] * X[2][o];
            }
        }
        this.frames++;
        this.started = true;
    }
}

export function dualMotionBaseline(frames, masks, P, width, height, settings, prior) {
    const tracker = new DualMotionTracker(P, width, height, settings, prior);
    const out = frames.map((frame, t) => {
        tracker.add(frame, masks[t]);
        return tracker.estimate.slice();
    });
    const plane = width * height, s = [0, 0, 0];
    for (let k = 0; k < 3; k++) { for (let i = 0; i < plane; i++) s[k] += tracker.share[k * plane + i]; s[k] /= plane * frames.length; }
    dualMotionBaseline.lastShare = s;
    return out;
}
