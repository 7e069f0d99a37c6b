/** Capturing what a piece of code prints, for tests of the walkthroughs' console output. */

/** Runs fn with console.log captured (progress bars still go to stdout); returns the lines it printed. */
export async function logged(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await fn();
  } finally {
    console.log = log;
  }
  return lines;
}

/** Runs fn with process.stdout.write and console.log captured; returns what they printed. */
export async function captured(fn: () => Promise<void> | void): Promise<string> {
  const out: string[] = [];
  const write = process.stdout.write;
  const log = console.log;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  try {
    await fn();
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  return out.join('');
}

/** Runs `f` with console.log silenced; returns its result. */
export async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

/** The fields every training log starts with, in order (lib/walkthroughs/run.ts writes them). */
export const LOG_HEAD = [
  'walkthrough',
  'command',
  'backend',
  'device',
  'threads',
  'peakRssMiB',
  'tfjs',
  'date',
  'params',
];
