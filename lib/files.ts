/**
 * Durable, atomic file writes for everything the project saves (checkpoints, weights, training
 * logs, exported pages, PNGs, the plotly.js asset): a new version is written to a uniquely named
 * temporary file beside the target, flushed to disk, renamed over the old one, and the folder is
 * flushed, so a kill at any moment leaves either the old file or the new one, never a mix.
 * Temporary files of writers that died are removed by the next write.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** fsync on a folder: makes its renames durable (platforms that cannot open folders skip it). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes a new file (never an existing one), flushed to disk before it is closed. */
export function writeFileDurably(file: string, content: Buffer | string): void {
  const fd = fs.openSync(file, 'wx');
  try {
    const b = typeof content === 'string' ? Buffer.from(content) : content;
    let at = 0;
    while (at < b.length) at += fs.writeSync(fd, b, at, b.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` atomically with `content`, creating its folder; a failure names the file and
 * leaves the previous version untouched.
 */
export function writeFileAtomically(file: string, content: Buffer | string): void {
  const parent = path.dirname(path.resolve(file));
  const prefix = `${path.basename(file)}.tmp-`;
  fs.mkdirSync(parent, { recursive: true });
  for (const name of fs.readdirSync(parent)) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && !processAlive(pid)) fs.rmSync(path.join(parent, name), { force: true });
  }
  const tmp = path.join(parent, `${prefix}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    writeFileDurably(tmp, content);
    fs.renameSync(tmp, file);
    fsyncDir(parent);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`could not save ${file} (${(e as Error).message}); the previous version is untouched`);
  }
}

/** Whether process `pid` is running on this machine (a process we may not signal counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
