/**
 * seqmnist: the shared library behind the five sequential-MNIST walkthroughs.
 * Notebooks import it as `import * as sm from 'seqmnist'`.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };

export * from './settings';
export * from './files';

// backend: which tfjs backend runs, and the kernels filled in for it
export * from './backend';
export * from './kernels';

// data: MNIST, NumPy's RandomState, transforms, batches
export * from './data/idx';
export * from './data/mnist';
export * from './data/random';
export * from './data/transforms';
export * from './data/batches';
export * from './data/augment';
export * from './data/pipeline';
export * from './data/psmnist';

// plots and progress
export * from './plot/display';
export * from './plot/png';
export * from './plot/digit';
export * from './plot/charts';
export * from './plot/history';
export * from './plot/table';
export * from './plot/scatter';
export * from './plot/matrix';
export * from './plot/graph';
export * from './train/progress';

// training utilities
export * from './train/gradients';
export * from './train/loop';
export * from './train/saving';
export * from './train/parallel';
export * from './train/callbacks';
export * from './train/rmsprop';

// models
export * from './models/tcn';
export * from './models/lstm';
export * from './models/eurnn';
export * from './models/lmu';
export * from './models/per-step';

// the CLI's walkthroughs
export * from './walkthroughs';
