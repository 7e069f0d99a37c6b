/**
 * The command line's grammar: `<command> [args] [flags]`, parsed with Node's util.parseArgs and
 * each flag's value checked, so that a bad flag is one clear error naming it and its value.
 */
import { parseArgs as parseArgv } from 'util';

/** Flags the CLI parses; those that set a config key are accepted by the walkthroughs whose config has it. */
export interface CliFlags {
  /** Training epochs (`--epochs N`). */
  epochs?: number;
  /** Optimiser steps (`--steps N`), for step-counted trainings such as EURNN's. */
  steps?: number;
  /** Use only the first N training and test images (`--limit N`), for quick runs. */
  limit?: number;
  /** Resume from the last checkpoint in the output folder (`--resume`). */
  resume?: boolean;
  /** Output folder for checkpoints, weights and the training log (`--out DIR`). */
  out?: string;
  /** Permute the pixels with RandomState(0).permutation(784) (`--permute`). */
  permute?: boolean;
  /** Seed of the weight initialisers (`--seed N`), where a walkthrough lets it be chosen. */
  seed?: number;
  /** Shuffle and augment the training set afresh every epoch instead of once (`--fresh`). */
  fresh?: boolean;
  /** Clip each step's gradients to this global L2 norm (`--clipnorm X`, Keras's `global_clipnorm`). */
  clipnorm?: number;
  /** Weights folder to evaluate (`--weights DIR`); defaults to the shipped weights. */
  weights?: string;
}
export type FlagName = keyof CliFlags;

/** The flags of `bench` and `--help`, beside the walkthroughs' flags. */
export interface Flags extends CliFlags {
  /** `bench --json`: print a JSON array only. */
  json?: boolean;
  /** `bench --reps N`: timed steps after the warm-up (default 5). */
  reps?: number;
  /** `bench --torch`: time the PyTorch peers in the same run. */
  torch?: boolean;
  /** `bench --backend NAME`: the tfjs backend to time, as SEQMNIST_BACKEND (which it overrides). */
  backend?: string;
  /** `bench --torch --device DEV`: where the PyTorch peers run, `cpu` (default), `cuda` or `cuda:N`. */
  device?: string;
  /** `bench --torch --python PATH`: the Python that has PyTorch (default /usr/bin/python3, Debian's python3-torch). */
  python?: string;
  help?: boolean;
}

/** A parsed command line. */
export interface Parsed {
  command: string;
  args: string[];
  flags: Flags;
  /** The flags given, in order, by name (to check them against the command's accepted ones). */
  given: (keyof Flags)[];
}

type Kind = 'positiveInteger' | 'seed' | 'positiveNumber' | 'path' | 'name' | 'switch';

/**
 * Every flag, how its value is read, and for the flags that set a walkthrough's config the config
 * key they set. A walkthrough's `train` accepts a config flag when its config has that key, so a
 * new `train` flag for every walkthrough is a config field (lib/walkthroughs/walkthrough.ts) and
 * one line here. The order is the order a training log's command records them in.
 */
export const FLAGS: Record<keyof Flags, { kind: Kind; config?: string }> = {
  epochs: { kind: 'positiveInteger', config: 'epochs' },
  steps: { kind: 'positiveInteger', config: 'steps' },
  limit: { kind: 'positiveInteger', config: 'limit' },
  permute: { kind: 'switch', config: 'permute' },
  seed: { kind: 'seed', config: 'seed' },
  clipnorm: { kind: 'positiveNumber', config: 'clipNorm' },
  fresh: { kind: 'switch', config: 'fresh' },
  reps: { kind: 'positiveInteger' },
  out: { kind: 'path' },
  weights: { kind: 'path' },
  python: { kind: 'path' },
  backend: { kind: 'name' },
  device: { kind: 'name' },
  resume: { kind: 'switch' },
  json: { kind: 'switch' },
  torch: { kind: 'switch' },
  help: { kind: 'switch' },
};

/** The flags that set config keys, in the order a training log's command records them. */
export const CONFIG_FLAGS = (Object.keys(FLAGS) as FlagName[]).filter((f) => FLAGS[f].config !== undefined);

function readValue(name: string, kind: Kind, value: string): number | string {
  const x = Number(value);
  // whole numbers in plain digits, small enough to count with (1e99 steps is not a training)
  const whole = /^\s*\d+\s*$/.test(value) && Number.isSafeInteger(x);
  switch (kind) {
    case 'positiveInteger':
      if (!whole || x < 1) throw new Error(`--${name} must be a positive integer (got '${value}')`);
      return x;
    case 'seed':
      if (!whole) throw new Error(`--${name} must be a non-negative integer (got '${value}')`);
      return x;
    case 'positiveNumber':
      if (!(x > 0) || !Number.isFinite(x)) throw new Error(`--${name} must be a positive number (got '${value}')`);
      return x;
    case 'name':
      // checked by the command that takes it (e.g. a backend's name against the known backends)
      if (value.trim() === '') throw new Error(`--${name} needs a name (got '${value}')`);
      return value;
    default:
      return value;
  }
}

/**
 * Parses argv (without node and the script); unknown flags, missing or extra values and bad
 * numbers throw an error naming the flag and the value.
 */
export function parseArgs(argv: string[]): Parsed {
  // a negative number after a value flag is that flag's (bad) value, not a flag of its own
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const kind = argv[i].startsWith('--') ? FLAGS[argv[i].slice(2) as keyof Flags]?.kind : undefined;
    if (kind && kind !== 'switch' && /^-[\d.]/.test(argv[i + 1] ?? '')) args.push(`${argv[i]}=${argv[++i]}`);
    else args.push(argv[i]);
  }
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, { kind }]) => [
      name,
      { type: kind === 'switch' ? 'boolean' : 'string', ...(name === 'help' ? { short: 'h' } : {}) },
    ]),
  ) as Record<string, { type: 'boolean' | 'string'; short?: string }>;
  let tokens;
  try {
    ({ tokens } = parseArgv({ args, options, strict: true, allowPositionals: true, tokens: true }));
  } catch (e) {
    throw new Error(explain(e as Error & { code?: string }, args));
  }
  const parsed: Parsed = { command: '', args: [], flags: {}, given: [] };
  const flags = parsed.flags as Record<string, unknown>;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (!parsed.command) parsed.command = t.value;
      else parsed.args.push(t.value);
    } else if (t.kind === 'option') {
      const name = t.name as keyof Flags;
      const kind = FLAGS[name].kind;
      flags[name] = kind === 'switch' ? true : readValue(name, kind, t.value!);
      parsed.given.push(name);
    }
  }
  return parsed;
}

/** util.parseArgs's errors in this CLI's words. */
function explain(e: Error & { code?: string }, args: string[]): string {
  const flag = /'(-{1,2}[^' <]+)/.exec(e.message)?.[1] ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag '${flag}' (see 'npm run seqmnist -- --help')`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(e.message)) {
      const inline = args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
      return `flag ${flag} takes no value${inline === undefined ? '' : ` (got '${inline}')`}`;
    }
    return `flag ${flag} needs a value`;
  }
  return e.message;
}

/** Refuses flags the command does not accept, naming the accepted ones. */
export function allowOnly(p: Parsed, allowed: readonly string[]): void {
  for (const key of p.given) {
    if (!allowed.includes(key)) {
      const accepted = allowed.map((f) => '--' + f).join(', ') || 'none';
      throw new Error(
        `flag --${key} is not accepted by '${p.command}${p.args[0] ? ' ' + p.args[0] : ''}' (accepted: ${accepted})`,
      );
    }
  }
}
