/** Leak-free evaluation: splitting methods with purging and embargo, per-fold scalers, drift report, leakage probe. */
export * from './folds.js';
export * from './scalers.js';
export * from './drift.js';
export * from './probe.js';
