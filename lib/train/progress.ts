/**
 * A training progress bar that fits where it runs: one output updated in place in a notebook,
 * one line redrawn with '\r' in a terminal, and occasional whole lines in logs (CI, nbconvert's
 * captured stdout), where '\r' would pile up.
 */
import { positiveInteger } from '../checks';
import { DisplayHandle, escapeHtml, inNotebook, newDisplayHandle } from '../plot/display';

/** Where a bar draws itself. */
export type ProgressMode = 'notebook' | 'tty' | 'log';

export interface ProgressBarOptions {
  /** Text before the bar, e.g. 'Epoch 3/10'. Default none. */
  label?: string;
  /** Bar width in characters. Default 30. */
  width?: number;
  /** Default: 'notebook' in a tslab kernel, 'tty' when stdout is a terminal, else 'log'. */
  mode?: ProgressMode;
  /** Fewest milliseconds between redraws in 'notebook' and 'tty' modes. Default 250 (4 per second). */
  minIntervalMs?: number;
  /** In 'log' mode, print a line each time this fraction of the total more is done. Default 0.1. */
  logFraction?: number;
  /** In 'log' mode, print a line at least this often (seconds) while updates come. Default 30. */
  logIntervalS?: number;
  /** Where 'tty' and 'log' lines go. Default process.stdout.write. */
  write?: (text: string) => void;
  /** The notebook output to overwrite. Default a new one. */
  display?: DisplayHandle;
  /** Clock in milliseconds (tests inject a fake one). Default Date.now. */
  now?: () => number;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative finite number (got ${String(value)})`);
  }
  return value;
}

/**
 * Seconds as a short duration: '8.2s', '42s', '3m 05s', '1h 02m'.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function formatDuration(seconds: number): string {
  nonNegative('seconds', seconds);
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A metric value as Keras prints it: 4 decimals; fewer for large values, exponent for tiny ones.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function formatMetric(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  if (Math.abs(value) >= 100) return value.toFixed(2);
  return value.toFixed(4);
}

function formatRate(perSecond: number): string {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) return '? it/s';
  return perSecond >= 1 ? `${perSecond.toFixed(1)} it/s` : `${(1 / perSecond).toFixed(2)} s/it`;
}

/**
 * A live progress bar with count, rate, metrics and ETA; `done()` ends it with the elapsed time.
 *
 *   const bar = new ProgressBar(batches, { label: 'Epoch 1/10' });
 *   bar.update(i + 1, { loss, accuracy });
 *   bar.done({ loss, accuracy });
 *
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class ProgressBar {
  readonly total: number;
  readonly label: string;
  readonly mode: ProgressMode;
  private readonly width: number;
  private readonly minIntervalMs: number;
  private readonly logFraction: number;
  private readonly logIntervalMs: number;
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private display?: DisplayHandle;
  private readonly start: number;
  private current = 0;
  private metrics: Record<string, number> = {};
  private lastDraw = -Infinity;
  private lastLogged = -1;
  private nextLogAt: number;
  private finished = false;
  /** Lines written or outputs shown so far (tests count them). */
  draws = 0;

  constructor(total: number, options: ProgressBarOptions = {}) {
    this.total = positiveInteger('total', total);
    this.label = options.label ?? '';
    this.width = positiveInteger('width', options.width ?? 30);
    const mode = options.mode ?? (inNotebook() ? 'notebook' : process.stdout.isTTY ? 'tty' : 'log');
    if (mode !== 'notebook' && mode !== 'tty' && mode !== 'log')
      throw new Error(`mode must be 'notebook', 'tty' or 'log' (got '${mode}')`);
    this.mode = mode;
    this.minIntervalMs = nonNegative('minIntervalMs', options.minIntervalMs ?? 250);
    this.logFraction = nonNegative('logFraction', options.logFraction ?? 0.1);
    if (this.logFraction <= 0 || this.logFraction > 1)
      throw new Error(`logFraction must be in (0, 1] (got ${this.logFraction})`);
    this.logIntervalMs = nonNegative('logIntervalS', options.logIntervalS ?? 30) * 1000;
    this.write = options.write ?? ((text) => void process.stdout.write(text));
    this.now = options.now ?? Date.now;
    this.display = options.display;
    this.start = this.now();
    this.nextLogAt = this.logStep();
  }

  private logStep(): number {
    return Math.max(1, Math.ceil(this.total * this.logFraction));
  }

  /** Records progress (`done` items of `total`) and the latest metrics; redraws when due. */
  update(done: number, metrics?: Record<string, number>): void {
    if (this.finished) throw new Error(`progress bar '${this.label}' is already done`);
    if (typeof done !== 'number' || !Number.isFinite(done) || done < 0 || done > this.total) {
      throw new Error(`done must be a number in [0, ${this.total}] (got ${String(done)})`);
    }
    this.current = done;
    if (metrics) this.metrics = { ...metrics };
    const t = this.now();
    if (this.mode === 'log') {
      if (done === this.total) return; // done() prints the last line
      if (
        done >= this.nextLogAt ||
        (t - Math.max(this.lastDraw, this.start) >= this.logIntervalMs && done !== this.lastLogged)
      ) {
        if (done >= this.nextLogAt) this.nextLogAt = (Math.floor(done / this.logStep()) + 1) * this.logStep();
        this.emit(t, false);
      }
      return;
    }
    if (t - this.lastDraw >= this.minIntervalMs) this.emit(t, false);
  }

  /** Ends the bar at the current count, with final metrics and the elapsed time; further calls do nothing. */
  done(metrics?: Record<string, number>): void {
    if (this.finished) return;
    if (metrics) this.metrics = { ...metrics };
    this.finished = true;
    this.emit(this.now(), true);
  }

  /** The text line for the current state (`final`: elapsed time instead of ETA). */
  line(final = this.finished, t = this.now()): string {
    const elapsed = Math.max(0, (t - this.start) / 1000);
    const fraction = this.current / this.total;
    const filled = Math.floor(fraction * this.width);
    const bar =
      filled >= this.width ? '='.repeat(this.width) : '='.repeat(filled) + '>' + '.'.repeat(this.width - filled - 1);
    const rate = elapsed > 0 ? this.current / elapsed : NaN;
    const parts = [
      ...(this.label ? [this.label] : []),
      `[${bar}]`,
      `${this.current}/${this.total}`,
      formatRate(rate),
      ...Object.entries(this.metrics).map(([k, v]) => `${k} ${formatMetric(v)}`),
      final ? formatDuration(elapsed) : `ETA ${rate > 0 ? formatDuration((this.total - this.current) / rate) : '?'}`,
    ];
    return parts.join(' ');
  }

  private emit(t: number, final: boolean): void {
    this.lastDraw = t;
    this.lastLogged = this.current;
    this.draws++;
    const line = this.line(final, t);
    if (this.mode === 'notebook') {
      this.display ??= newDisplayHandle();
      const html =
        `<div style="font-family:monospace;white-space:pre">` +
        `<progress value="${this.current}" max="${this.total}" style="width:${this.width * 8}px;vertical-align:middle"></progress> ` +
        `${escapeHtml(line.replace(/\[[=>.]*\] /, ''))}</div>`;
      this.display.show({ 'text/html': html, 'text/plain': line });
    } else if (this.mode === 'tty') {
      const columns = process.stdout.columns;
      const fitted = columns && line.length >= columns ? line.slice(0, columns - 1) : line;
      this.write(`\r${fitted}\x1b[K${final ? '\n' : ''}`);
    } else {
      this.write(`${line}\n`);
    }
  }
}
