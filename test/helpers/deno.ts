/**
 * The Deno binary the optional `deno` package installed (the one the Deno kernel spec names, found
 * the way scripts/postinstall.js finds it), or undefined where it is not installed.
 */
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '../../..');

export function denoBinary(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deno's own resolver: platform, arch, glibc or musl
    const api = require(require.resolve('deno/install_api.cjs', { paths: [root] })) as { runInstall(): string };
    const bin = api.runInstall();
    fs.accessSync(bin, fs.constants.X_OK);
    return bin;
  } catch {
    return undefined;
  }
}
