#!/usr/bin/env node
/** The seqmnist command line (lib/cli/): `npm run seqmnist -- <command> [args] [flags]`. */
import { main } from '../lib/cli/main';

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`seqmnist: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
