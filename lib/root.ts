/**
 * The project's root folder: the nearest folder above this file whose package.json names this
 * package. Right from the compiled library (dist/lib/) and from the sources run under tsx (lib/),
 * so every path into the repository (shipped weights, benchmarks, notebooks' assets) starts here.
 */
import * as fs from 'fs';
import * as path from 'path';

const PACKAGE_NAME = 'seqmnist';
let found: string | undefined;

/** The repository's root: the folder of seqmnist's package.json. */
export function projectRoot(): string {
  if (found) return found;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      try {
        if ((JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === PACKAGE_NAME)
          return (found = dir);
      } catch {
        // not ours: a broken package.json above the project is someone else's
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json named '${PACKAGE_NAME}' above ${__dirname}`);
  }
}

/** A path inside the repository, from its '/'-separated parts. */
export function projectPath(...parts: string[]): string {
  return path.join(projectRoot(), ...parts);
}
