#!/usr/bin/env node
/**
 * Writes README's generated blocks (Results, Comparison, Speed: the markers `<!-- generated:NAME … -->`
 * … `<!-- /generated:NAME -->`) from the files they cite; lib/walkthroughs/readme-tables.ts builds them.
 * With --check it writes nothing and exits with 1, naming each differing block, while README
 * differs from what it would write (test/readme-tables.test.ts runs that).
 *
 *     npm run readme                          # build, then rewrite README.md
 *     node scripts/readme-tables.js --check   # against the built lib in dist/
 */
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const readme = path.join(root, 'README.md');
const { readmeBlocks, fillReadme, readmeDifferences } = require(
  path.join(root, 'dist', 'lib', 'walkthroughs', 'readme-tables'),
);

const text = fs.readFileSync(readme, 'utf8');
const blocks = readmeBlocks();
if (process.argv.includes('--check')) {
  const diffs = readmeDifferences(text, blocks);
  if (diffs.length) {
    console.error(`README.md differs from the files it cites (run 'npm run readme'):\n${diffs.join('\n')}`);
    process.exit(1);
  }
  console.log('README.md: every generated block matches its files');
} else {
  const filled = fillReadme(text, blocks);
  if (filled !== text) fs.writeFileSync(readme, filled);
  console.log(filled === text ? 'README.md: unchanged' : 'README.md: generated blocks rewritten');
}
