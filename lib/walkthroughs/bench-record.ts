/**
 * The bench records kept in benchmarks/ (`bench --json --torch`'s output with where and how it
 * ran), read for compare's PyTorch column.
 */
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot } from '../root';

/** One model's entry in a bench record (what `bench --json` prints per walkthrough). */
export interface BenchEntry {
  name: string;
  msPerStep: number;
  threads?: number;
  batchSize?: number;
  torchPeer?: string;
  torchMsPerStep?: number;
}

/** A bench record saved in benchmarks/: `bench --json --torch`'s output and where it ran. */
export interface BenchRecord {
  /** The file, relative to the repository root. */
  file: string;
  date?: string;
  machine?: string;
  conditions?: string;
  results: BenchEntry[];
}

/**
 * The newest bench record in the repository's benchmarks/ folder (by file name, which starts with
 * its date), or the given file; undefined when there is none. A record is `bench --json`'s array
 * or an object with it under `results` beside its date and machine.
 * @see notebooks/06-compare.ipynb
 */
export function readBenchRecord(file?: string): BenchRecord | undefined {
  const root = projectRoot();
  let chosen = file;
  if (chosen === undefined) {
    const dir = path.join(root, 'benchmarks');
    if (!fs.existsSync(dir)) return undefined;
    const names = fs
      .readdirSync(dir)
      .filter((f) => /^\d{4}-\d{2}-\d{2}.*\.json$/.test(f))
      .sort();
    if (names.length === 0) return undefined;
    chosen = path.join(dir, names[names.length - 1]);
  }
  const text = fs.readFileSync(chosen, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`bench record ${chosen} is not valid JSON (${(e as Error).message})`);
  }
  const body = (Array.isArray(parsed) ? { results: parsed } : parsed) as Partial<BenchRecord>;
  if (!Array.isArray(body.results) || !body.results.every((r) => r && typeof r.name === 'string'))
    throw new Error(`bench record ${chosen} holds no results (expected bench --json's array, or { results: [...] })`);
  return {
    file: path.relative(root, path.resolve(chosen)),
    date: body.date,
    machine: body.machine,
    conditions: body.conditions,
    results: body.results,
  };
}
