/**
 * One walkthrough's bench in a process of its own (lib/cli/bench.ts forks it when benching more
 * than one): argv name, reps and backend; sends back timeSteps' result and exits, so that the
 * memory figure holds this walkthrough's heap and no other's.
 */
import { useBackend } from '../backend';
import { getWalkthrough } from '../walkthroughs/registry';
import { timeSteps } from './bench';

async function main(): Promise<void> {
  const [name, reps, backend] = process.argv.slice(2);
  await useBackend(backend, { quiet: true });
  const r = await timeSteps(getWalkthrough(name), Number(reps));
  await new Promise<void>((resolve, reject) => process.send!(r, (e: Error | null) => (e ? reject(e) : resolve())));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error((e as Error).stack ?? String(e));
    process.exit(1);
  },
);
