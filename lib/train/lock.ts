/**
 * One writer per output: a training locks the folders it writes (its output and its checkpoint)
 * with a lock file beside each, `NAME.lock` (beside, not inside: the folder itself is replaced
 * by a rename at every save). The lock file holds the owner's pid, hostname, start time and
 * command; it is written complete under a temporary name and hard-linked into place, which fails
 * when the lock exists (O_EXCL semantics, and never a half-written lock). A second training
 * refuses, naming the owner; a lock whose owner is no longer running on this machine (its pid is
 * gone, or now belongs to a process started later) is taken over with one line saying so.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { processAlive } from '../files';

/** What a lock file records about its owner. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO 8601 time the lock was taken. */
  started: string;
  /** Linux: the process's start time in clock ticks after boot (tells a reused pid apart). */
  processStart?: number;
  command: string;
}

/** A process's start time from /proc (Linux), or undefined where there is none. */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which is in parentheses and may hold spaces; starttime is field 22
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the owner of a lock on this machine is still running (same pid, same process). */
function ownerAlive(owner: LockOwner): boolean {
  if (!processAlive(owner.pid)) return false;
  const start = processStartTicks(owner.pid);
  return owner.processStart === undefined || start === undefined || start === owner.processStart;
}

function describe(owner: LockOwner): string {
  return `process ${owner.pid} on ${owner.hostname}, started ${owner.started} (${owner.command})`;
}

/** Held locks; release() frees them. */
export interface FolderLocks {
  readonly files: string[];
  release(): void;
}

/** The lock file of a folder. */
export function lockFileOf(dir: string): string {
  return `${path.resolve(dir)}.lock`;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && typeof o.hostname === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

function takeOne(dir: string, me: LockOwner, log: (line: string) => void): string {
  const file = lockFileOf(dir);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new Error(`cannot lock ${dir}: its parent folder cannot be created (${(e as Error).message})`);
  }
  // temporary lock files of processes killed while taking a lock
  const prefix = `${path.basename(file)}.tmp-`;
  for (const name of fs.readdirSync(path.dirname(file))) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && !processAlive(pid)) fs.rmSync(path.join(path.dirname(file), name), { force: true });
  }
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(me, null, 1) + '\n');
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot lock ${dir}: ${file} cannot be written (${(e as Error).message})`);
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return file;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readOwner(file);
      if (!owner) {
        throw new Error(
          `${file} exists but is not a lock this project wrote: another training may be writing ${dir}; delete the file if none is`,
        );
      }
      if (owner.hostname !== os.hostname()) {
        throw new Error(
          `${dir} is locked by ${describe(owner)}: another machine is training into it (delete ${file} if that training is gone)`,
        );
      }
      if (owner.pid === process.pid || ownerAlive(owner)) {
        throw new Error(
          `${dir} is locked by ${describe(owner)}: another training is writing it; wait for it to end or use another --out`,
        );
      }
      log(`taking over the stale lock ${file} of ${describe(owner)}, which is no longer running`);
      fs.rmSync(file, { force: true });
    }
    throw new Error(`could not lock ${dir}: ${file} keeps reappearing (another training is starting)`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Locks `dirs` (in order) for this process, or throws naming the process that holds one; locks
 * of dead processes on this machine are taken over with one line via `log`. The locks are
 * released by release() and, failing that, when the process exits normally; a lock left by a
 * killed process is stale and taken over by the next training.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function lockFolders(
  dirs: string[],
  options: { command?: string; log?: (line: string) => void } = {},
): FolderLocks {
  const me: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    started: new Date().toISOString(),
    processStart: processStartTicks(process.pid),
    command: options.command ?? process.argv.slice(1).join(' '),
  };
  const held: string[] = [];
  const release = () => {
    for (const f of held.splice(0)) {
      // only our own lock: never one a later training took over
      if (readOwner(f)?.pid === process.pid) fs.rmSync(f, { force: true });
    }
    process.removeListener('exit', release);
  };
  process.on('exit', release);
  try {
    for (const d of dirs) held.push(takeOne(d, me, options.log ?? console.log));
  } catch (e) {
    release();
    throw e;
  }
  return { files: [...held], release };
}
