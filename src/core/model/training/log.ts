/** The training log, train-log.jsonl: one JSON object per iteration, figures to 6 significant digits. */
import { UserError } from '../../errors.js';
import { readTextFile } from '../../io/read.js';
import { exists } from './files.js';

/** One line of train-log.jsonl. */
export interface LogEntry {
  iteration: number;
  /** Total loss (the optimised value). */
  loss: number;
  rollout: number;
  kl: number;
  decoder: number;
  /** The latent-anchor term (weighted, as in the total; 0 when off or in logs written before it existed). */
  anchor: number;
  /** The twin term (weighted, as in the total; twins.ts), present when it is on. */
  twin?: number;
  /** The hold term (weighted, as in the total; hold.ts), present when it is on. */
  hold?: number;
  /** The hold term on the held songs' windows (weighted, as in the total; held-songs.ts), present when they are held. */
  holdSongs?: number;
  /** The persistence loss (unweighted) and its three parts; 0 when off. */
  persist: number;
  persistStd: number;
  persistCorrelation: number;
  persistDrift: number;
  persistStyle: number;
  /** The look terms (look-targets.ts); absent in logs written before them. */
  persistScale?: number;
  persistTravel?: number;
  /** Scheduled-sampling probability used. */
  sampling: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Wall-clock seconds of the iteration, and its NCA forward / backward shares. */
  seconds: number;
  ncaForward: number;
  ncaBackward: number;
  /** Its tfjs shares: the networks' forward + backward with the losses (NCA excluded), and clipping + Adam + BatchNorm statistics. */
  networks: number;
  optimizer: number;
}

/** The entry as the log keeps it: every figure to 6 significant digits, the keys in the order above. */
export function roundEntry(e: LogEntry): LogEntry {
  const r = (v: number) => Number(v.toPrecision(6));
  return { iteration: e.iteration, loss: r(e.loss), rollout: r(e.rollout), kl: r(e.kl), decoder: r(e.decoder), anchor: r(e.anchor ?? 0), ...(e.twin !== undefined ? { twin: r(e.twin) } : {}), ...(e.hold !== undefined ? { hold: r(e.hold) } : {}), ...(e.holdSongs !== undefined ? { holdSongs: r(e.holdSongs) } : {}), persist: r(e.persist), persistStd: r(e.persistStd), persistCorrelation: r(e.persistCorrelation), persistDrift: r(e.persistDrift), persistStyle: r(e.persistStyle ?? 0), ...(e.persistScale || e.persistTravel ? { persistScale: r(e.persistScale ?? 0), persistTravel: r(e.persistTravel ?? 0) } : {}), sampling: r(e.sampling), lr: r(e.lr), gradNorm: r(e.gradNorm), seconds: r(e.seconds), ncaForward: r(e.ncaForward), ncaBackward: r(e.ncaBackward), networks: r(e.networks), optimizer: r(e.optimizer) };
}

/** The text of train-log.jsonl for `log`: one line per entry, each ended by a newline. */
export function logText(log: readonly LogEntry[]): string {
  return log.map((e) => JSON.stringify(e)).join('\n') + (log.length ? '\n' : '');
}

/** The log entries up to `iteration` (a resumed run drops the lines written after its checkpoint); none when there is no file. */
export async function readLog(path: string, iteration = Infinity): Promise<LogEntry[]> {
  if (!(await exists(path))) return [];
  const text = await readTextFile(path, 'training log', 'json');
  const entries: LogEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      e = null;
    }
    if (typeof e !== 'object' || e === null || typeof (e as LogEntry).iteration !== 'number') {
      throw new UserError(`${path}: line ${i + 1} is not a log entry (a JSON object with an iteration); remove that line or the file (the weights are in the checkpoint)`);
    }
    if ((e as LogEntry).iteration <= iteration) entries.push(e as LogEntry);
  });
  return entries;
}
