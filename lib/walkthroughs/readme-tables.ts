/**
 * README's generated tables: the Results, Comparison and Speed figures, written from the files
 * they cite (the shipped training logs, the newest `compare --json` record in experiments/compare/,
 * the newest bench record in benchmarks/, the row LSTM's sweep in experiments/), so that README
 * cannot disagree with them. Each block sits between `<!-- generated:NAME -->` and
 * `<!-- /generated:NAME -->` in README.md; `npm run readme` rewrites them and a test fails while
 * README differs from what this module would write (test/readme-tables.test.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { markdownTable } from '../plot/table';
import { projectRoot } from '../root';
import { readTrainingLog, shippedWeightsDir, TRAINING_LOG } from '../train/saving';
import { readBenchRecord } from './bench-record';
import { trainingBudget } from './budget';
import { CompareRow, compareTableCells } from './compare';
import { kerasLmu, nengoLmu } from './lmu';
import { LSTM_MILESTONES, lstmMilestones, lstmPixel, lstmRow } from './lstm';
import { getWalkthrough, TRAINED_MODELS, TrainedModel } from './registry';
import { tcn } from './tcn';
import type { History } from '../history';

/** The blocks README holds, in its order. */
export const README_BLOCKS = [
  'results',
  'by-epoch',
  'other-runs',
  'lstm-milestones',
  'lstm-row-sweep',
  'compare',
  'speed',
] as const;
export type ReadmeBlock = (typeof README_BLOCKS)[number];

const grouped = (n: number) => n.toLocaleString('en-US');
const pct = (a: number, digits = 2) => `${(100 * a).toFixed(digits)}%`;
const rel = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');
const code = (s: string) => `\`${s}\``;
/** The command a log records, without the npm prefix. */
const shortCommand = (command: string) => command.replace(/^npm run seqmnist -- /, '');

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A number as the README prints it: 3 significant figures, thousands grouped. */
function figure(x: number): string {
  if (Math.abs(x) >= 100) return grouped(Math.round(x));
  return String(Number(x.toPrecision(3)));
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`cannot read ${file} (${(e as Error).message})`);
  }
}

/** What this module reads of a training log. */
interface LogFields {
  command: string;
  seed?: number;
  backend: string;
  threads?: number;
  testAccuracy: number;
  testImages: number;
  fullTestAccuracy?: number;
  fullTestImages?: number;
  maxValidationAccuracy?: number;
  bestEpoch?: number;
  initialTestAccuracy?: number;
  clipNorm?: number;
  epochSeconds?: number[];
  msPerStep?: number;
  totalSeconds?: number;
  history: History | { step: number[] };
}

const notebookNumber = (m: TrainedModel) => /(\d\d)-/.exec(path.basename(m.walkthrough.notebook))?.[1] ?? '?';
const logOf = (m: TrainedModel): LogFields => readTrainingLog<LogFields>(shippedWeightsDir(m.name), m.name);
const epochHistory = (log: LogFields): History | undefined => ('epoch' in log.history ? log.history : undefined);

// ---- Results -------------------------------------------------------------------------------------

/** The Results table: one row per shipped model, every figure from its training log. */
export function resultsBlock(root = projectRoot()): string {
  const rows = TRAINED_MODELS.map((m) => {
    const dir = shippedWeightsDir(m.name);
    const log = logOf(m);
    const budget = trainingBudget(m.walkthrough, dir)!;
    const accuracy = [`${pct(log.testAccuracy)} (${grouped(log.testImages)} test images)`];
    if (log.fullTestAccuracy !== undefined)
      accuracy.push(`${pct(log.fullTestAccuracy)} on all ${grouped(log.fullTestImages ?? 10000)}`);
    if (log.maxValidationAccuracy !== undefined)
      accuracy.push(`validation ${pct(log.maxValidationAccuracy)} at epoch ${log.bestEpoch}, the model kept`);
    if (log.initialTestAccuracy !== undefined) accuracy.push(`${pct(log.initialTestAccuracy)} before training`);
    const time: string[] = [];
    if (log.msPerStep !== undefined) time.push(`${grouped(Math.round(log.msPerStep))} ms/step`);
    if (log.epochSeconds?.length) {
      const lo = Math.min(...log.epochSeconds).toFixed(0);
      const hi = Math.max(...log.epochSeconds).toFixed(0);
      time.push(`${lo === hi ? lo : `${lo}–${hi}`} s/epoch`);
    }
    time.push(`${duration(log.totalSeconds ?? budget.seconds)} in all`);
    return [
      `${code(m.name)} (${notebookNumber(m)})`,
      code(shortCommand(log.command)),
      accuracy.join('; '),
      budget.budget + (budget.budgetNote ? `; ${budget.budgetNote}` : ''),
      time.join(', '),
      log.backend + (log.threads !== undefined ? `, ${log.threads} thread${log.threads === 1 ? '' : 's'}` : ''),
    ];
  });
  return [
    `Each row's figures are in its shipped training log, ${code(
      rel(root, path.join(shippedWeightsDir('<model>'), TRAINING_LOG)),
    )} (the first column names the folder).`,
    '',
    markdownTable({
      columns: ['model (notebook)', 'trained by', 'test accuracy', 'training', 'time', 'backend'],
      rows,
    }),
  ].join('\n');
}

/** By epoch, for the shipped models trained 10 epochs or fewer: every series their log's history holds. */
export function byEpochBlock(): string {
  const parts: string[] = [];
  for (const m of TRAINED_MODELS) {
    const log = logOf(m);
    const h = epochHistory(log);
    if (!h || h.epoch.length > 10) continue;
    const keys = Object.keys(h.history).filter((k) => Array.isArray(h.history[k]) && k !== 'lr');
    const isAccuracy = (k: string) => /accuracy/.test(k);
    const rows = keys.map((k) => [
      code(k),
      ...h.history[k].map((v: number) => (isAccuracy(k) ? (100 * v).toFixed(2) : figure(v))),
    ]);
    let note = '';
    const clipped = h.history.clipped_steps;
    if (Array.isArray(clipped)) {
      const budget = trainingBudget(m.walkthrough, shippedWeightsDir(m.name))!;
      const total = clipped.reduce((a: number, b: number) => a + b, 0);
      note = ` ${grouped(total)} of its ${grouped(budget.steps)} steps were clipped to global norm ${log.clipNorm}.`;
    }
    parts.push(
      `${code(m.name)}, ${code(shortCommand(log.command))}: accuracies in %.${note}`,
      '',
      markdownTable({
        columns: ['epoch', ...h.epoch.map((e) => String(e + 1))],
        align: ['left', ...h.epoch.map(() => 'right' as const)],
        rows,
      }),
      '',
    );
  }
  return parts.join('\n').trimEnd();
}

/**
 * The runs a shipped model was chosen from: its own log and those kept in its folder's other-runs/
 * (`<…>-training-log.json`), with the mean of their final test accuracies.
 */
export function otherRunsBlock(root = projectRoot()): string {
  const parts: string[] = [];
  for (const m of TRAINED_MODELS) {
    const dir = path.join(shippedWeightsDir(m.name), 'other-runs');
    if (!fs.existsSync(dir)) continue;
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(TRAINING_LOG))
      .sort();
    const runs = [
      ...files.map((f) => ({ log: readJson<LogFields>(path.join(dir, f)), shipped: false })),
      { log: logOf(m), shipped: true },
    ].sort((a, b) => (a.log.seed ?? 0) - (b.log.seed ?? 0));
    const rows = runs.map(({ log, shipped }) => {
      const h = epochHistory(log);
      return [
        `${log.seed ?? '–'}${shipped ? ' (shipped)' : ''}`,
        code(shortCommand(log.command)),
        h ? h.history.val_accuracy.map((a: number) => (100 * a).toFixed(2)).join(', ') : '–',
        pct(log.testAccuracy),
        log.msPerStep === undefined ? '–' : grouped(Math.round(log.msPerStep)),
      ];
    });
    const mean = runs.reduce((a, r) => a + r.log.testAccuracy, 0) / runs.length;
    parts.push(
      `${code(m.name)}: ${runs.length} runs, mean ${pct(mean)} after the last epoch ` +
        `(${code(rel(root, dir) + '/')} and the shipped log).`,
      '',
      markdownTable({
        columns: ['seed', 'trained by', 'test accuracy by epoch (%)', 'final', 'ms/step'],
        align: ['left', 'left', 'left', 'right', 'right'],
        rows,
      }),
      '',
    );
  }
  return parts.join('\n').trimEnd();
}

/** The LSTM assignment's milestones, read from the shipped logs' histories. */
export function lstmMilestonesBlock(): string {
  const lines: string[] = [];
  for (const [w, variant] of [
    [lstmPixel, 'pixel'],
    [lstmRow, 'row'],
  ] as const) {
    for (const m of TRAINED_MODELS.filter((t) => t.walkthrough === w)) {
      const h = epochHistory(logOf(m))!;
      for (const line of lstmMilestones(h, variant)) lines.push(`- ${code(m.name)}: ${line}`);
    }
  }
  return lines.join('\n');
}

/**
 * The row LSTM's 10-epoch runs in experiments/<name>-sweep/: per group of folders (the folder
 * name less its seed), the best validation accuracy within the milestone's epochs per seed, how
 * many met it, the mean, and the first epoch at or above it.
 */
export function lstmRowSweepBlock(root = projectRoot()): string {
  const dir = path.join(root, 'experiments', `${lstmRow.name}-sweep`);
  const { level, epochs } = LSTM_MILESTONES.row[0];
  const groups = new Map<string, { seed: number; log: LogFields }[]>();
  for (const f of fs.readdirSync(dir).sort()) {
    const match = /^(.*)-(\d+)$/.exec(f);
    if (!match || !fs.existsSync(path.join(dir, f, TRAINING_LOG))) continue;
    const list = groups.get(match[1]) ?? [];
    list.push({ seed: Number(match[2]), log: readJson<LogFields>(path.join(dir, f, TRAINING_LOG)) });
    groups.set(match[1], list);
  }
  // the plain seeds first, then the variants (the shorter folder name is the plainer run)
  const ordered = [...groups.entries()].sort(([a], [b]) => a.length - b.length || a.localeCompare(b));
  const rows = ordered.map(([group, runs]) => {
    runs.sort((a, b) => a.seed - b.seed);
    const best = runs.map((r) => Math.max(...epochHistory(r.log)!.history.val_accuracy.slice(0, epochs)));
    const first = runs.map((r) => epochHistory(r.log)!.history.val_accuracy.findIndex((a: number) => a >= level));
    const mean = best.reduce((a, b) => a + b, 0) / best.length;
    const seeds = runs.map((r) => r.seed);
    return [
      code(`${group}-N/`),
      seeds.join(', '),
      code(shortCommand(runs[0].log.command).replace(new RegExp(`\\b${runs[0].seed}\\b`, 'g'), 'N')),
      best.map((b) => (100 * b).toFixed(1)).join(', '),
      `${best.filter((b) => b >= level).length} of ${best.length}`,
      pct(mean, 1),
      first.map((i) => (i < 0 ? '–' : String(i + 1))).join(', '),
    ];
  });
  return [
    `From ${code(rel(root, dir) + '/<folder>/training-log.json')}, validation accuracy on the walkthrough's ` +
      `1,000 test images; the milestone is ≥ ${pct(level, 0)} within ${epochs} epochs.`,
    '',
    markdownTable({
      columns: [
        'folders',
        'seeds N',
        'command (its log)',
        `best within ${epochs} epochs (%), by seed`,
        `≥ ${pct(level, 0)}`,
        'mean',
        `first epoch ≥ ${pct(level, 0)}`,
      ],
      rows,
    }),
  ].join('\n');
}

// ---- Comparison ----------------------------------------------------------------------------------

/** The newest file in `dir` whose name starts with a date and ends with `suffix`. */
export function newestDated(dir: string, suffix: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const names = fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}-\d{2}-\d{2}/.test(f) && f.endsWith(suffix))
    .sort();
  return names.length ? path.join(dir, names[names.length - 1]) : undefined;
}

/** The comparison table of the newest `compare --json` record in experiments/compare/. */
export function compareBlock(root = projectRoot()): string {
  const file = newestDated(path.join(root, 'experiments', 'compare'), '-compare.json');
  if (!file) throw new Error(`no experiments/compare/<date>-compare.json in ${root}`);
  const rows = readJson<CompareRow[]>(file);
  const records = [...new Set(rows.map((r) => r.torch?.record).filter((r): r is string => !!r))];
  return [
    `From ${code(rel(root, file))} (${code('compare --json')})` +
      (records.length ? `; its PyTorch column from ${records.map(code).join(', ')}.` : '.'),
    '',
    markdownTable(compareTableCells(rows)),
  ].join('\n');
}

// ---- Speed ---------------------------------------------------------------------------------------

const ms = (x: number) => `${x.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ms`;

/** The Speed table: the newest bench record in benchmarks/ (by the date its name starts with). */
export function speedBlock(root = projectRoot()): string {
  const record = readBenchRecord();
  if (!record) throw new Error(`no benchmarks/<date>….json in ${root}`);
  const raw = readJson<Record<string, unknown>>(path.join(root, record.file));
  const rows = record.results.map((e) => {
    const w = getWalkthrough(e.name);
    const steps = w.input(w.config()).steps;
    const peer =
      e.torchMsPerStep === undefined
        ? '–'
        : `${ms(e.torchMsPerStep)}${e.torchPeer && e.torchPeer !== e.name ? ` (${code(e.torchPeer)})` : ''}`;
    return [
      code(e.name),
      `${e.batchSize ?? '?'} × ${steps} steps`,
      ms(e.msPerStep),
      e.threads === undefined ? '–' : String(e.threads),
      peer,
      e.torchMsPerStep === undefined ? '–' : (e.msPerStep / e.torchMsPerStep).toFixed(2),
    ];
  });
  const backends = [...new Set(record.results.map((e) => (e as { backend?: string }).backend ?? '?'))].join(', ');
  const about = [
    record.date ? `run ${record.date}` : undefined,
    record.machine ? `on ${record.machine}` : undefined,
  ].filter(Boolean);
  const lines = [`From ${code(record.file)}${about.length ? `, ${about.join(' ')}` : ''}.`];
  if (typeof raw.command === 'string') lines.push(`Command: ${code(raw.command)}.`);
  if (record.conditions) lines.push(`Conditions (the file's ${code('conditions')}): ${record.conditions}.`);
  if (raw.loadAverage !== undefined)
    lines.push(`Load average (the file's ${code('loadAverage')}): ${JSON.stringify(raw.loadAverage)}.`);
  return [
    lines.join('\n'),
    '',
    markdownTable({
      columns: ['walkthrough', 'batch', `ours (${backends})`, 'threads', 'PyTorch peer', 'ratio (ours / peer)'],
      align: ['left', 'left', 'right', 'right', 'right', 'right'],
      rows,
    }),
  ].join('\n');
}

// ---- README --------------------------------------------------------------------------------------

/** Every block's Markdown, from the files in the repository at `root`. */
export function readmeBlocks(root = projectRoot()): Record<ReadmeBlock, string> {
  return {
    results: resultsBlock(root),
    'by-epoch': byEpochBlock(),
    'other-runs': otherRunsBlock(root),
    'lstm-milestones': lstmMilestonesBlock(),
    'lstm-row-sweep': lstmRowSweepBlock(root),
    compare: compareBlock(root),
    speed: speedBlock(root),
  };
}

const markers = (name: string) =>
  new RegExp(`(<!-- generated:${name} [^>]*-->\\n)([\\s\\S]*?)(<!-- /generated:${name} -->)`, 'g');

/**
 * README's text with each block's content replaced; a block whose markers are missing or
 * doubled is an error naming it.
 */
export function fillReadme(text: string, blocks: Partial<Record<string, string>>): string {
  let out = text;
  for (const [name, body] of Object.entries(blocks)) {
    const found = [...out.matchAll(markers(name))];
    if (found.length !== 1)
      throw new Error(
        `README must hold the block '${name}' once, between '<!-- generated:${name} … -->' and '<!-- /generated:${name} -->' (found ${found.length})`,
      );
    out = out.replace(markers(name), (_, open: string, _old: string, close: string) => `${open}${body}\n${close}`);
  }
  return out;
}

/** The blocks of README that differ from what the files give, each with its first differing line. */
export function readmeDifferences(text: string, blocks: Partial<Record<string, string>>): string[] {
  const filled = fillReadme(text, blocks);
  if (filled === text) return [];
  const diffs: string[] = [];
  for (const name of Object.keys(blocks)) {
    const old = [...text.matchAll(markers(name))][0][2].split('\n');
    const fresh = `${blocks[name]}\n`.split('\n');
    const i = old.findIndex((line, k) => line !== fresh[k]);
    const at = i < 0 ? Math.min(old.length, fresh.length) : i;
    if (old.length !== fresh.length || i >= 0)
      diffs.push(
        `block '${name}', line ${at + 1}:\n  README:    ${old[at] ?? '(none)'}\n  the files: ${fresh[at] ?? '(none)'}`,
      );
  }
  return diffs;
}

// ---- the notebooks' quoted figures ---------------------------------------------------------------

/** A figure a notebook's markdown quotes from a file: the text, as the file gives it, must appear there. */
export interface NotebookQuote {
  notebook: string;
  /** The text the markdown must contain (whitespace runs compared as one space). */
  quote: string;
  /** The file it comes from. */
  source: string;
}

const fixed2 = (x: number) => x.toFixed(2);

/** Every figure the notebooks' markdown quotes from a training log or an experiment record. */
export function notebookQuotes(root = projectRoot()): NotebookQuote[] {
  const quotes: NotebookQuote[] = [];
  const logFile = (m: TrainedModel) => rel(root, path.join(shippedWeightsDir(m.name), TRAINING_LOG));
  // a walkthrough's first shipped model (the TCN's: the sequential one)
  const model = (w: unknown) => TRAINED_MODELS.find((m) => m.walkthrough === w)!;
  const add = (m: TrainedModel, quote: string, source = logFile(m)) =>
    quotes.push({ notebook: m.walkthrough.notebook, quote, source });

  const keras = model(kerasLmu);
  const kerasLog = readTrainingLog<{ meanEpochSeconds: number; testAccuracy: number }>(
    shippedWeightsDir(keras.name),
    keras.name,
  );
  add(keras, `${kerasLog.meanEpochSeconds.toFixed(0)} s per epoch`);
  add(keras, `The shipped weights reach ${pct(kerasLog.testAccuracy)}`);

  const nengo = model(nengoLmu);
  add(nengo, `reached ${pct(logOf(nengo).testAccuracy)} on the 10,000 test images`);

  // the TCN's seeds (notebook 04's last section)
  const shippedTcn = model(tcn);
  const otherDir = path.join(shippedWeightsDir(shippedTcn.name), 'other-runs');
  const runs = [
    ...fs
      .readdirSync(otherDir)
      .filter((f) => f.endsWith(TRAINING_LOG))
      .map((f) => readJson<LogFields>(path.join(otherDir, f))),
    logOf(shippedTcn),
  ].sort((a, b) => (a.seed ?? 0) - (b.seed ?? 0));
  const finals = runs.map((r) => pct(r.testAccuracy));
  const mean = runs.reduce((a, r) => a + r.testAccuracy, 0) / runs.length;
  add(
    shippedTcn,
    `seeds ${runs.map((r) => r.seed).join(', ')}: ${finals.slice(0, -1).join(', ')} and ${finals[finals.length - 1]}, mean ${pct(mean)}`,
    `${rel(root, otherDir)}/ and ${logFile(shippedTcn)}`,
  );
  const others = runs.filter((r) => r.seed !== logOf(shippedTcn).seed).map((r) => Math.round(r.msPerStep ?? NaN));
  add(
    shippedTcn,
    `${Math.round(logOf(shippedTcn).msPerStep ?? NaN)} ms per step against ${Math.min(...others)}–${Math.max(...others)}`,
    `${rel(root, otherDir)}/ and ${logFile(shippedTcn)}`,
  );

  // the row LSTM's milestone and its sweep (notebook 05)
  const row = model(lstmRow);
  const { level, epochs } = LSTM_MILESTONES.row[0];
  const rowVal = epochHistory(logOf(row))!.history.val_accuracy;
  add(row, `reaches ${pct(level, 0)} only at epoch ${rowVal.findIndex((a: number) => a >= level) + 1}`);
  const sweepDir = path.join(root, 'experiments', `${lstmRow.name}-sweep`);
  const group = (prefix: string) =>
    fs
      .readdirSync(sweepDir)
      .filter((f) => new RegExp(`^${prefix}\\d+$`).test(f))
      .map((f) => epochHistory(readJson<LogFields>(path.join(sweepDir, f, TRAINING_LOG)))!.history.val_accuracy);
  const best = (vals: number[][]) => vals.map((v) => Math.max(...v.slice(0, epochs)));
  const plain = best(group('seed-'));
  const fresh = best(group('fresh-seed-'));
  const noAugment = group('no-augment-seed-');
  const sweepSource = rel(root, sweepDir) + '/';
  add(
    row,
    `in ${plain.length} 10-epoch runs with seeds 0–${plain.length - 1}, the best validation accuracy within ${epochs} epochs was ${(100 * Math.min(...plain)).toFixed(1)}–${(100 * Math.max(...plain)).toFixed(1)}%`,
    sweepSource,
  );
  add(row, `${fresh.filter((b) => b >= level).length} of ${fresh.length} seeds passed`, sweepSource);
  const firsts = noAugment.map((v) => v.findIndex((a) => a >= level) + 1);
  add(
    row,
    `${best(noAugment).filter((b) => b >= level).length} of the ${noAugment.length} seeds we tried pass ${pct(level, 0)} by epoch ${Math.max(...firsts)}`,
    sweepSource,
  );

  // notebook 06's figures from its full run
  const notebook06 = 'notebooks/06-compare.ipynb';
  const runFile = newestDated(path.join(root, 'experiments', 'compare'), '-notebook.txt');
  if (runFile) {
    const text = fs.readFileSync(runFile, 'utf8').split('\n');
    const source = rel(root, runFile);
    // the settling table: its rows follow the header naming 'mean p(true) at 50%'
    const header = text.findIndex((l) => l.includes('mean p(true) at 50%'));
    const tableRow = (name: string) =>
      text
        .slice(header + 1)
        .find((l) => l.startsWith(`${name} `))
        ?.trim()
        .split(/\s{2,}/);
    const at = (name: string) => tableRow(name)!.slice(-2);
    const [p50, p90] = at(lstmPixel.name);
    const [r50, r90] = at(lstmRow.name);
    const both = (m: string) => [
      `${p50} and ${p90} for the pixel LSTM, ${r50} and ${r90} for the row LSTM`,
      `the log is \`${source}\``,
      m,
    ];
    const long = TRAINED_MODELS.filter((m) => m.walkthrough.input(m.walkthrough.config(m.overrides)).steps === 784);
    const means = long.flatMap((m) => at(m.name).map(Number));
    const range = `${fixed2(Math.min(...means))}–${fixed2(Math.max(...means))}`;
    const tcnLine = text.find((l) => l.startsWith(`${shippedTcn.name}: `) && l.includes('steps before the end'))!;
    const back = (n: number) => new RegExp(`${n} steps before the end ([\\d.]+)`).exec(tcnLine)![1];
    for (const quote of [
      ...both(`stays near chance (${range} after half and after nine tenths of the sequence`),
      `${back(0)} at the end, ${back(14)} fourteen steps before it, ${back(28)} at one row and ${back(56)} at two rows before it`,
    ])
      quotes.push({ notebook: notebook06, quote, source });
  }
  return quotes;
}

/** The notebooks' markdown, whitespace runs made one space. */
function notebookMarkdown(root: string, notebook: string): string {
  const nb = readJson<{ cells: { cell_type: string; source: string[] | string }[] }>(path.join(root, notebook));
  return nb.cells
    .filter((c) => c.cell_type === 'markdown')
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
    .join('\n')
    .replace(/\s+/g, ' ');
}

/** The quoted figures a notebook's markdown lacks (its text differs from its file), one line each. */
export function notebookDifferences(root = projectRoot(), quotes = notebookQuotes(root)): string[] {
  return quotes
    .filter((q) => !notebookMarkdown(root, q.notebook).includes(q.quote.replace(/\s+/g, ' ')))
    .map((q) => `${q.notebook} does not say "${q.quote}" (from ${q.source})`);
}
