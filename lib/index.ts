/**
 * seqmnist: the shared library behind the five sequential-MNIST walkthroughs.
 * Notebooks import it as `import * as sm from 'seqmnist'`.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };

// backend: which tfjs backend runs, and the kernels filled in for it
export * from './backend';
export * from './kernels';

// data: MNIST, NumPy's RandomState, transforms, batches

// plots and progress

// training utilities

// models

// the CLI's walkthroughs
export * from './walkthroughs';
