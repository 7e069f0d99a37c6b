/**
 * The process's resident memory: its peak (what a training log and `bench` record) and the current
 * figure (what the leak test watches). Worker threads share the process, so their memory counts
 * too. On Linux the peak is the kernel's high-water mark (VmHWM in /proc/self/status), which
 * `resetPeakRss` sets back to the current size (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0);
 * elsewhere it is getrusage's maxrss since the start, which cannot be reset.
 */
import * as fs from 'fs';

const MIB = 1024 * 1024;

/** A field of /proc/self/status in kB ('VmHWM', 'VmRSS'), or undefined off Linux. */
function procStatusKb(field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The peak resident set size of this process in MiB: since its start, or since the last
 * `resetPeakRss` that succeeded.
 * @see lib/walkthroughs/run.ts (every training log) and lib/cli/bench.ts
 */
export function peakRssMiB(): number {
  const kb = procStatusKb('VmHWM') ?? process.resourceUsage().maxRSS;
  return kb / 1024;
}

/**
 * The resident set size of this process now, in MiB.
 * @see test/leaks.test.ts
 */
export function rssMiB(): number {
  return process.memoryUsage.rss() / MIB;
}

/**
 * Sets the peak back to the current resident size, so that `peakRssMiB` then measures what
 * follows; false where the system does not allow it (not Linux, or /proc/self/clear_refs not
 * writable), and the peak then keeps counting from the start.
 */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
