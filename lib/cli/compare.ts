/**
 * `compare [--json] [--limit N]`: the seven trained models side by side (lib/walkthroughs/compare.ts),
 * as an aligned text table with its caveats, or as JSON (one object per model) and nothing else.
 */
import { initBackend } from '../backend';
import { textTable } from '../plot/table';
import { compareModels, compareTableCells } from '../walkthroughs/compare';

/**
 * Runs the comparison: with `json`, prints only the rows as a JSON array; else a progress line per
 * model, the table, and the caveats and sources below it.
 */
export async function compare(flags: { json?: boolean; limit?: number }): Promise<void> {
  const json = flags.json ?? false;
  const backend = await initBackend({ quiet: json });
  const started = Date.now();
  const { rows } = await compareModels({
    limit: flags.limit,
    log: json ? undefined : (line) => console.log(line),
  });
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log('');
  console.log(textTable(compareTableCells(rows)));
  console.log('');
  const derived = rows.some((r) => r.training && r.training.msPerStepNote !== 'from the log');
  if (derived) console.log('* ms/step not in the log: epoch time / steps per epoch, validation included');
  for (const r of rows) {
    if (r.missing) console.log(`${r.name}: weights missing: ${r.missing}`);
    if (r.training?.budgetNote) console.log(`${r.name}: ${r.training.budgetNote}`);
    if (r.ownTest) console.log(`${r.name}: own test set: ${r.ownTest.label}`);
    console.log(
      `${r.name}: published: ${r.published.accuracy ? `${r.published.accuracy} (${r.published.source})` : r.published.source}`,
    );
    for (const c of r.caveats) console.log(`${r.name}: ${c}`);
  }
  const record = rows.find((r) => r.torch)?.torch?.record;
  console.log(
    `PyTorch peers: ${record ? `from ${record}` : 'no bench record in benchmarks/ (run bench --json --torch)'}; ` +
      `evaluated on ${backend} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}
