/**
 * A walkthrough's flags: which `train` and `eval` accept (derived from its config's keys), the
 * config overrides they give, and the command line a training log records.
 */
import type { AnyWalkthrough } from '../walkthroughs/run';
import { CONFIG_FLAGS, CliFlags, FLAGS, FlagName } from './args';

/** The flags `train <name>` accepts: the config flags whose key its config has, --resume and --out. */
export function trainFlags(w: AnyWalkthrough): FlagName[] {
  return [...CONFIG_FLAGS.filter((f) => FLAGS[f].config! in w.defaults), 'resume', 'out'];
}

/** The flags `eval <name>` accepts: --weights, --limit and the config flags its `evalKeys` name. */
export function evalFlags(w: AnyWalkthrough): FlagName[] {
  const keys: string[] = ['limit', ...w.evalKeys];
  return ['weights', ...CONFIG_FLAGS.filter((f) => keys.includes(FLAGS[f].config!))];
}

/** The config overrides the given flags set (switches given are true). */
export function configOverrides(flags: CliFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of CONFIG_FLAGS) if (flags[f] !== undefined) out[FLAGS[f].config!] = flags[f];
  return out;
}

/**
 * The command line that ran a training, as its training log records it:
 * `npm run seqmnist -- train <name>` and the config flags given (`--out` and `--weights` name local
 * folders; `--resume` is left out: a resumed training ends with the same result, log included).
 */
export function trainCommandLine(name: string, flags: CliFlags): string {
  const given = CONFIG_FLAGS.filter((f) => flags[f] !== undefined && flags[f] !== false);
  const shown = given.map((f) => (flags[f] === true ? `--${f}` : `--${f} ${flags[f]}`));
  return [`npm run seqmnist -- train ${name}`, ...shown].join(' ');
}
