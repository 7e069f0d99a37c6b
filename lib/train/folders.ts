/**
 * Folders written whole or not at all: every folder the project saves (weights, checkpoints,
 * training logs) is written through here, with a manifest that reading checks.
 *
 * Crash consistency. A folder NAME is never changed in place; a save
 *   1. writes every file into a temporary sibling `.NAME.tmp-PID-RANDOM` (each file fsynced, a
 *      `manifest.json` with every file's size and SHA-256 written last, the folder fsynced),
 *   2. renames it to `.NAME.new` (complete by construction: nothing incomplete ever has that name),
 *   3. renames the current NAME to `.NAME.old`,
 *   4. renames `.NAME.new` to NAME and fsyncs the parent folder,
 *   5. removes `.NAME.old`.
 * A kill at any moment therefore leaves a complete version under a known name: NAME, or between
 * steps 3 and 4 `.NAME.new` (the newer) and `.NAME.old`. Readers take NAME, else `.NAME.new`, else
 * `.NAME.old` (readableFolder); the next save, or a training's start (recoverFolder), renames the
 * newest complete version back to NAME and removes the leftovers, printing one line saying so.
 * (Node has no renameat2(RENAME_EXCHANGE), and the shipped weights must stay plain folders, so
 * a symlink or pointer-file scheme would change the layout every reader and git sees.)
 * Files of the old folder that a save does not write (a keras-lmu checkpoint's best model) are
 * carried into the new one as hard links (copies where links fail), never modified in place.
 * Reading a folder with a manifest checks every file's size and checksum, so a truncated or
 * corrupted file is an error naming it, never a silently wrong model; folders saved before
 * manifests existed (the shipped weights) are read as before, with the weights' size check.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { fsyncDir, writeFileAtomically, writeFileDurably } from '../files';
import { testSlowSaveMs } from '../settings';

/** Every file of a saved folder with its size and SHA-256, written last. */
export const MANIFEST_JSON = 'manifest.json';

/** Sleeps synchronously for the fault-injection tests (SEQMNIST_TEST_SLOW_SAVE_MS), so that kills land inside saves. */
function slowForTests(): void {
  const ms = testSlowSaveMs();
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A manifest: every file of the folder (not of its subfolders) with its size and SHA-256. */
interface Manifest {
  format: 1;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** The manifest of the files in `dir` (not its subfolders), as written beside them. */
function manifestText(dir: string): string {
  const manifest: Manifest = { format: 1, files: {} };
  for (const rel of listFiles(dir)) {
    if (rel === MANIFEST_JSON) continue;
    const b = fs.readFileSync(path.join(dir, rel));
    manifest.files[rel] = { bytes: b.length, sha256: sha256(b) };
  }
  return JSON.stringify(manifest, null, 1);
}

/**
 * Writes the manifest of a folder's files as they are (for folders saved before manifests
 * existed, the shipped weights among them), so that reading it checks every byte from then on.
 * @see test/saving-recovery.test.ts (the shipped weights were pinned this way)
 */
export function writeManifest(dir: string): void {
  writeFileAtomically(path.join(dir, MANIFEST_JSON), manifestText(dir));
}

/** The leftover names of folder `dir`'s saves. */
function siblings(dir: string): { parent: string; base: string; next: string; old: string; tmpPrefix: string } {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  return {
    parent,
    base,
    next: path.join(parent, `.${base}.new`),
    old: path.join(parent, `.${base}.old`),
    tmpPrefix: `.${base}.tmp-`,
  };
}

/** A leftover of an interrupted save (never carried into a new version of a folder). */
const isLeftover = (name: string) => name.startsWith('.') && /\.(new|old|tmp-.*)$/.test(name);

/**
 * Carries `from/name` into `to/name` (recursively for folders): hard links, which share the
 * already durable data, or copies flushed to disk where linking fails.
 */
function carry(from: string, to: string, name: string): void {
  const src = path.join(from, name);
  const dst = path.join(to, name);
  if (fs.statSync(src).isDirectory()) {
    fs.mkdirSync(dst);
    for (const child of fs.readdirSync(src)) if (!isLeftover(child)) carry(src, dst, child);
    fsyncDir(dst);
    return;
  }
  try {
    fs.linkSync(src, dst);
  } catch {
    writeFileDurably(dst, fs.readFileSync(src));
  }
}

/**
 * The files a folder's manifest lists: its own, not those of its subfolders, which are saved (and
 * listed) on their own (a keras-lmu checkpoint's best/ is replaced between two checkpoints).
 */
function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .sort()
    .filter((name) => fs.statSync(path.join(dir, name)).isFile());
}

/**
 * Puts folder `dir` back in order after an interrupted save: with `dir` missing, the newest
 * complete version (`.NAME.new`, else `.NAME.old`) is renamed back to it; leftovers are removed.
 * Prints one line when it did anything (via `log`) and returns it. Call it with the folder
 * locked (a training's start, or a save).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function recoverFolder(dir: string, log: (line: string) => void = console.log): string | undefined {
  const { parent, base, next, old, tmpPrefix } = siblings(dir);
  if (!fs.existsSync(parent)) return undefined;
  const done: string[] = [];
  const tmps = fs.readdirSync(parent).filter((n) => n.startsWith(tmpPrefix));
  for (const t of tmps) fs.rmSync(path.join(parent, t), { recursive: true, force: true });
  if (tmps.length) done.push(`removed ${tmps.length} unfinished save${tmps.length > 1 ? 's' : ''}`);
  if (!fs.existsSync(dir)) {
    for (const [from, what] of [
      [next, 'the version an interrupted save had completed'],
      [old, 'the previous version, left by an interrupted save'],
    ] as const) {
      if (fs.existsSync(from)) {
        fs.renameSync(from, dir);
        done.push(`restored ${what} (${path.basename(from)})`);
        break;
      }
    }
  }
  for (const leftover of [next, old]) {
    if (fs.existsSync(leftover) && fs.existsSync(dir)) {
      fs.rmSync(leftover, { recursive: true, force: true });
      done.push(`removed ${path.basename(leftover)}`);
    }
  }
  if (!done.length) return undefined;
  fsyncDir(parent);
  const line = `recovered ${path.join(parent, base)} after an interrupted save: ${done.join(', ')}`;
  log(line);
  return line;
}

/**
 * The folder to read for `dir`: `dir` itself, or while a save is between its renames (or was
 * killed there) the complete version it left, `.NAME.new` or `.NAME.old`. Renames nothing.
 */
export function readableFolder(dir: string): string {
  if (fs.existsSync(dir)) return dir;
  const { next, old } = siblings(dir);
  return [next, old].find((d) => fs.existsSync(d)) ?? dir;
}

/**
 * Checks every file of a saved folder against its manifest (size, then SHA-256); folders saved
 * before manifests existed pass unchecked. A missing, truncated or changed file is an error
 * naming it.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function verifyFolder(dir: string): void {
  const file = path.join(dir, MANIFEST_JSON);
  if (!fs.existsSync(file)) return;
  const manifest = readJson<Manifest>(file, 'manifest');
  if (!manifest || typeof manifest.files !== 'object')
    throw new Error(`manifest ${file} lists no files: the folder cannot be checked`);
  for (const [name, want] of Object.entries(manifest.files)) {
    const f = path.join(dir, name);
    if (!fs.existsSync(f)) throw new Error(`${f} is missing (listed in ${file}): the folder is incomplete`);
    const b = fs.readFileSync(f);
    if (b.length !== want.bytes)
      throw new Error(`${f} is truncated or damaged: ${b.length} bytes, ${file} records ${want.bytes}`);
    if (sha256(b) !== want.sha256)
      throw new Error(`${f} is corrupted: its SHA-256 differs from the one ${file} records`);
  }
}

/**
 * Writes `files` into `dir` atomically (see the header): all of them appear together or none
 * does, files of the old folder it does not write are kept, and a manifest is added.
 */
export function writeFolderAtomically(dir: string, files: Record<string, Buffer | string>): void {
  const { parent, base, next, old, tmpPrefix } = siblings(dir);
  fs.mkdirSync(parent, { recursive: true });
  recoverFolder(dir);
  const tmp = path.join(parent, `${tmpPrefix}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  let current = '';
  try {
    current = 'the temporary folder';
    fs.mkdirSync(tmp);
    for (const [name, content] of Object.entries(files)) {
      current = name;
      writeFileDurably(path.join(tmp, name), content);
      slowForTests();
    }
    if (fs.existsSync(dir)) {
      for (const name of fs.readdirSync(dir)) {
        if (!(name in files) && name !== MANIFEST_JSON && !isLeftover(name)) {
          current = name;
          carry(dir, tmp, name);
        }
      }
    }
    current = MANIFEST_JSON;
    writeFileDurably(path.join(tmp, MANIFEST_JSON), manifestText(tmp));
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `could not save ${path.join(parent, base)}: writing ${current} failed (${(e as Error).message}); the previous version is untouched`,
    );
  }
  try {
    fs.renameSync(tmp, next);
    slowForTests();
    if (fs.existsSync(dir)) {
      fs.renameSync(dir, old);
      slowForTests();
    }
    fs.renameSync(next, dir);
    fsyncDir(parent);
    slowForTests();
    fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    throw new Error(
      `could not put the new ${path.join(parent, base)} in place (${(e as Error).message}); a complete version is kept as ${readableFolder(dir)}`,
    );
  }
}

export function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file)) throw new Error(`${what} not found: ${file}`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${file} (${(e as Error).message})`);
  }
}
