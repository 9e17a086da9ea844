import type { TrainOptions } from '../../src/models/nn/train.js';

/**
 * Training options for tests of the training loop: Adam, constant rate, no warm-up, no weight
 * decay, no early stopping, one batch per step, clipping at 1, one checkpoint kept — overridden
 * by `o`, which names at least the epochs, batch, rate and seed.
 */
export function testTrainOptions(o: Pick<TrainOptions, 'epochs' | 'batchSize' | 'learningRate' | 'seed'> & Partial<TrainOptions>): TrainOptions {
  return {
    optimizer: 'adam',
    weightDecay: 0,
    schedule: 'constant',
    warmupEpochs: 0,
    clipNorm: 1,
    patience: 0,
    gradAccum: 1,
    keepCheckpoints: 1,
    ...o,
  };
}
