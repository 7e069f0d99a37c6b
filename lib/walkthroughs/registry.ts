/**
 * The registry: every walkthrough, in the notebooks' order, and every model the project ships.
 * The CLI's list, `bench`, `compare`, the per-step comparison and the tests loop over these; a
 * walkthrough's name is spelled in its own files and here, nowhere else in lib/.
 * Adding a walkthrough: its model file, its walkthrough file, its notebook, its test and one entry
 * here (README, "Adding a walkthrough").
 */
import { eurnn } from './eurnn';
import { kerasLmu, nengoLmu } from './lmu';
import { lstmPixel, lstmRow } from './lstm';
import type { AnyWalkthrough } from './run';
import { tcn } from './tcn';
import type { ShippedModel } from './walkthrough';

/** Every walkthrough, in the order of the notebooks. */
export const WALKTHROUGHS: readonly AnyWalkthrough[] = [kerasLmu, nengoLmu, eurnn, tcn, lstmPixel, lstmRow];

/** What `npm start` replays: the flagship walkthrough. */
export const FLAGSHIP: AnyWalkthrough = kerasLmu;

/** The named walkthrough, or an error listing the known names. */
export function getWalkthrough(name: string): AnyWalkthrough {
  const w = WALKTHROUGHS.find((x) => x.name === name);
  if (!w)
    throw new Error(`unknown walkthrough '${name}' (expected one of: ${WALKTHROUGHS.map((x) => x.name).join(', ')})`);
  return w;
}

/** A shipped model with its walkthrough and the config it was trained with. */
export interface TrainedModel extends ShippedModel<object> {
  walkthrough: AnyWalkthrough;
}

/** Every model the project ships (notebooks/weights/<name>/), in the walkthroughs' order. */
export const TRAINED_MODELS: readonly TrainedModel[] = WALKTHROUGHS.flatMap((walkthrough) =>
  walkthrough.shipped.map((s: ShippedModel<object>) => ({ ...s, walkthrough })),
);

/** The shipped model of that name, or an error listing the known names. */
export function getTrainedModel(name: string): TrainedModel {
  const m = TRAINED_MODELS.find((x) => x.name === name);
  if (!m) throw new Error(`unknown model '${name}' (expected one of: ${TRAINED_MODELS.map((x) => x.name).join(', ')})`);
  return m;
}
