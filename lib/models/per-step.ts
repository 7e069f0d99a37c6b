/**
 * Per-step twins of the walkthroughs' classifiers: the same layers and the same weights, except
 * that the layer reading the sequence returns every step and the readout after it is applied to
 * each, so the twin outputs a class vector after every input step, [batch, steps, classes].
 *
 * The LSTM walkthrough builds its twin from its own builder (buildStackedLstmPerStep); this does
 * the same for any model of the library by rewriting the trained model's configuration, so one
 * function serves the LMUs, the EURNN, the TCN and the LSTMs. Only the last step is what each
 * model was trained on: the readouts of the LMUs, the EURNN and the TCN never saw an earlier step.
 */
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from './classes';
import { EURNN, EURNNSteps } from './eurnn';

type LayerEntry = { className: string; config: tf.serialization.ConfigDict; [key: string]: unknown };

/** Layers that read a sequence and return every step when their config says `returnSequences: true`. */
const SEQUENCE_LAYERS: readonly string[] = ['LMU', 'NengoLMU', 'TemporalConvNet', 'FusedLSTM'];

/** Layers whose every-step version is another class with the same config and weights. */
const STEP_CLASSES: Record<string, string> = { [EURNN.className]: EURNNSteps.className };

/**
 * The per-step twin of a trained classifier: its configuration with every sequence layer
 * returning all steps (LMU, NengoLMU, TemporalConvNet, FusedLSTM; EURNN becomes EURNNSteps), its
 * weights copied one to one. Its output at the last step equals the model's output (to float32
 * rounding); at step t it is the readout applied to the state after t steps. The caller disposes it.
 * @see notebooks/06-compare.ipynb
 */
export function perStepModel(trained: tf.LayersModel): tf.LayersModel {
  if (!(trained instanceof tf.LayersModel))
    throw new Error(`perStepModel needs a tf.LayersModel (got ${Object.prototype.toString.call(trained)})`);
  registerModelClasses(); // the twin is read from a configuration
  const config = trained.getConfig() as tf.serialization.ConfigDict & { layers?: LayerEntry[] };
  const layers = config.layers;
  if (!Array.isArray(layers)) throw new Error(`perStepModel: model ${trained.name} has no layer list in its config`);
  let changed = 0;
  const rewritten = layers.map((entry): LayerEntry => {
    if (SEQUENCE_LAYERS.includes(entry.className)) {
      changed++;
      return { ...entry, config: { ...entry.config, returnSequences: true } };
    }
    if (STEP_CLASSES[entry.className]) {
      changed++;
      return { ...entry, className: STEP_CLASSES[entry.className] };
    }
    return entry;
  });
  if (changed === 0) {
    const known = [...SEQUENCE_LAYERS, ...Object.keys(STEP_CLASSES)].join(', ');
    throw new Error(
      `perStepModel: model ${trained.name} has no layer that reads a sequence (expected one of ${known}; got ${layers.map((l) => l.className).join(', ')})`,
    );
  }
  const next = { ...config, layers: rewritten } as tf.serialization.ConfigDict;
  const twin = (
    trained instanceof tf.Sequential
      ? tf.Sequential.fromConfig(tf.Sequential, next)
      : tf.LayersModel.fromConfig(tf.LayersModel, next)
  ) as tf.LayersModel;
  try {
    twin.setWeights(trained.getWeights());
  } catch (e) {
    twin.dispose();
    throw e;
  }
  return twin;
}
