/**
 * The seqmnist command line: `npm run seqmnist -- <command> [args] [flags]`. Every error ends in
 * one line on stderr and a non-zero exit (bin/seqmnist.ts).
 */
import { initBackend } from '../backend';
import { hasShippedWeights, shippedWeightsDir } from '../train/saving';
import { allowOnly, parseArgs, Parsed } from './args';
import { bench, BENCH_FLAGS, benchOptions } from './bench';
import { printSummary, WalkthroughCommands } from './commands';
import { compare } from './compare';
import { dataSummary } from './data';
import { eurnn } from './eurnn';
import { kerasLmu, nengoLmu } from './lmu';
import { lstmPixel, lstmRow } from './lstm';
import { tcn } from './tcn';

/** Every walkthrough the CLI can summarise, train, evaluate and benchmark, in `list` order. */
export const WALKTHROUGHS: readonly WalkthroughCommands[] = [lstmPixel, lstmRow, eurnn, tcn, kerasLmu, nengoLmu];

/** The named walkthrough, or an error listing the known names. */
export function getWalkthrough(name: string): WalkthroughCommands {
  const w = WALKTHROUGHS.find((x) => x.name === name);
  if (!w)
    throw new Error(`unknown walkthrough '${name}' (expected one of: ${WALKTHROUGHS.map((x) => x.name).join(', ')})`);
  return w;
}

export const USAGE = `usage: npm run seqmnist -- <command> [args] [flags]

commands:
  start                 the main job: replay the flagship walkthrough from the terminal
  data                  dataset summary: counts, label histogram, the first permuted indices (--limit N: of N images)
  list                  the walkthroughs
  summary <name>        layer table, ending with 'params: N'
  train <name>          train (flags: --epochs N, --steps N, --limit N, --resume, --out DIR, --permute, --seed N,
                        --clipnorm X, --fresh)
  eval <name>           evaluate shipped or given weights (--weights DIR, --limit N), ending 'test accuracy: XX.XX%'
  bench [names...]      one training step per walkthrough at its original batch size (median after warm-up)
                        --json: JSON array; --reps N (default 5); --backend NAME: as SEQMNIST_BACKEND;
                        --torch: time the PyTorch peer in the same run (--device cpu|cuda[:N], --python PATH)
  compare               the seven trained models side by side on the 10,000 test images (--json: JSON only; --limit N)

environment: SEQMNIST_BACKEND=tensorflow|webgpu|wasm|cpu picks the backend; SEQMNIST_THREADS=N the threads per step.`;

function oneName(p: Parsed): WalkthroughCommands {
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

/** `start`: the flagship (KerasLMU) when its weights are shipped, else the first walkthrough that has them. */
async function start(): Promise<void> {
  const flagship = kerasLmu;
  const chosen = hasShippedWeights(flagship.name) ? flagship : WALKTHROUGHS.find((w) => hasShippedWeights(w.name));
  if (!chosen) {
    await dataSummary();
    return;
  }
  if (chosen !== flagship) {
    console.log(
      `${flagship.name} has no shipped weights yet (${shippedWeightsDir(flagship.name)}); replaying '${chosen.name}' instead`,
    );
  }
  await initBackend();
  console.log(`${chosen.name}: ${chosen.title}, shipped weights, test set (${chosen.notebook})`);
  const acc = await (chosen.replay ? chosen.replay() : chosen.evaluate({}));
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
      const n = printSummary(w.bench.model());
      w.describeSize?.(n);
      console.log(`params: ${n}`);
      return;
    }
    case 'train': {
      const w = oneName(p);
      allowOnly(p, w.trainFlags);
      await initBackend();
      await w.train(p.flags);
      return;
    }
    case 'eval': {
      const w = oneName(p);
      allowOnly(p, w.evalFlags);
      await initBackend();
      const acc = await w.evaluate(p.flags);
      console.log(`test accuracy: ${(acc * 100).toFixed(2)}%`);
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
