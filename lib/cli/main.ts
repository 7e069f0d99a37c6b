/**
 * The seqmnist command line: `npm run seqmnist -- <command> [args] [flags]`. Every error ends in
 * one line on stderr and a non-zero exit (bin/seqmnist.ts). The walkthroughs come from the
 * registry (lib/walkthroughs/registry.ts); this maps flags onto their configs and prints.
 */
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { hasShippedWeights, shippedWeightsDir } from '../train/saving';
import { FLAGSHIP, getWalkthrough, WALKTHROUGHS } from '../walkthroughs/registry';
import { AnyWalkthrough, evaluateTrained, runTraining } from '../walkthroughs/run';
import { allowOnly, parseArgs, Parsed } from './args';
import { bench, BENCH_FLAGS, benchOptions } from './bench';
import { compare } from './compare';
import { dataSummary } from './data';
import { configOverrides, evalFlags, trainCommandLine, trainFlags } from './walkthrough-flags';

export const USAGE = `usage: npm run seqmnist -- <command> [args] [flags]

commands:
  start                 the main job: replay the flagship walkthrough from the terminal
  data                  dataset summary: counts, label histogram, the first permuted indices (--limit N: of N images)
  list                  the walkthroughs
  summary <name>        layer table, ending with 'params: N'
  train <name>          train (flags: --epochs N, --steps N, --limit N, --resume, --out DIR, --permute, --seed N,
                        --clipnorm X, --fresh: each walkthrough takes those its config has)
  eval <name>           evaluate shipped or given weights (--weights DIR, --limit N), ending 'test accuracy: XX.XX%'
  bench [names...]      one training step per walkthrough at its original batch size (median after warm-up)
                        --json: JSON array; --reps N (default 5); --backend NAME: as SEQMNIST_BACKEND;
                        --torch: time the PyTorch peer in the same run (--device cpu|cuda[:N], --python PATH)
  compare               the seven trained models side by side on the 10,000 test images (--json: JSON only; --limit N)

environment: SEQMNIST_BACKEND=tensorflow|webgpu|wasm|cpu picks the backend; SEQMNIST_THREADS=N the threads per step.`;

/** Prints a model's layer table and returns its trainable parameter count, disposing of the model. */
export function printSummary(model: tf.LayersModel): number {
  try {
    model.summary();
    return model.countParams();
  } finally {
    model.dispose();
  }
}

function oneName(p: Parsed): AnyWalkthrough {
  if (p.args.length !== 1) {
    throw new Error(
      `'${p.command}' takes one walkthrough name (got ${p.args.length}: ${p.args.join(' ') || 'none'}); see 'list'`,
    );
  }
  return getWalkthrough(p.args[0]);
}

function noArgs(p: Parsed): void {
  if (p.args.length) throw new Error(`'${p.command}' takes no arguments (got: ${p.args.join(' ')})`);
}

/** Whether a walkthrough's default model is shipped with its training log. */
const shipped = (w: AnyWalkthrough) => hasShippedWeights(w.weightsName(w.config()));

/** `start`: the flagship (KerasLMU) when its weights are shipped, else the first walkthrough that has them. */
async function start(): Promise<void> {
  const chosen = shipped(FLAGSHIP) ? FLAGSHIP : WALKTHROUGHS.find(shipped);
  if (!chosen) {
    await dataSummary();
    return;
  }
  if (chosen !== FLAGSHIP) {
    console.log(
      `${FLAGSHIP.name} has no shipped weights yet (${shippedWeightsDir(FLAGSHIP.weightsName(FLAGSHIP.config()))}); replaying '${chosen.name}' instead`,
    );
  }
  await initBackend();
  console.log(`${chosen.name}: ${chosen.title}, shipped weights, test set (${chosen.notebook})`);
  const acc = chosen.replay ? await chosen.replay() : (await evaluateTrained(chosen)).accuracy;
  console.log(`test accuracy: ${(acc * 100).toFixed(2)}%`);
}

/** Runs one command line (argv without node and the script). */
export async function main(argv: string[]): Promise<void> {
  const p = parseArgs(argv);
  if (p.flags.help || !p.command || p.command === 'help') {
    console.log(USAGE);
    return;
  }
  switch (p.command) {
    case 'data':
      allowOnly(p, ['limit']);
      noArgs(p);
      await dataSummary({ limit: p.flags.limit });
      return;
    case 'list':
      allowOnly(p, []);
      noArgs(p);
      for (const w of WALKTHROUGHS) console.log(`${w.name.padEnd(12)} ${w.title}  (${w.notebook})`);
      return;
    case 'start':
      allowOnly(p, []);
      noArgs(p);
      await start();
      return;
    case 'summary': {
      allowOnly(p, []);
      const w = oneName(p);
      await initBackend({ quiet: true });
      const n = printSummary(w.buildModel(w.config()));
      for (const line of w.describeSize?.(n) ?? []) console.log(line);
      console.log(`params: ${n}`);
      return;
    }
    case 'train': {
      const w = oneName(p);
      allowOnly(p, trainFlags(w));
      const overrides = configOverrides(p.flags);
      w.config(overrides); // a bad value fails before the backend starts
      await initBackend();
      await runTraining(w, overrides, {
        out: p.flags.out,
        resume: p.flags.resume,
        command: trainCommandLine(w.name, p.flags),
      });
      return;
    }
    case 'eval': {
      const w = oneName(p);
      allowOnly(p, evalFlags(w));
      const config = configOverrides(p.flags);
      w.config(config);
      await initBackend();
      const r = await evaluateTrained(w, { dir: p.flags.weights, config });
      for (const line of r.lines) console.log(line);
      console.log(`test accuracy: ${(r.accuracy * 100).toFixed(2)}%`);
      return;
    }
    case 'bench': {
      allowOnly(p, BENCH_FLAGS);
      const options = benchOptions(p.flags);
      const list = p.args.length ? p.args.map(getWalkthrough) : [...WALKTHROUGHS];
      const results = await bench(list, options);
      if (p.flags.json) console.log(JSON.stringify(results, null, 2));
      return;
    }
    case 'compare':
      allowOnly(p, ['json', 'limit']);
      noArgs(p);
      await compare(p.flags);
      return;
    default:
      throw new Error(
        `unknown command '${p.command}' (expected one of: start, data, list, summary, train, eval, bench, compare)`,
      );
  }
}
