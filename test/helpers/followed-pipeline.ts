/**
 * The pipeline the watch-following tests run over a growing M1 source (test/follow/watch.test.ts on
 * a CSV file, watch-postgres.test.ts on a table): candles and features that follow the source, a
 * champion trained on its first bars only (`to:`), and a predict step that follows.
 */
import { SilentProgress, type ProgressReporter } from '../../src/runtime/progress.js';

/** `source` is the fetch step's source fields (without `to:`); `follow` its extra fields when followed (e.g. `poll:`). */
export function followedPipeline(name: string, source: string, follow = ''): string {
  return `version: 1
name: ${name}
steps:
  candles:
    uses: fetch
    with: { ${source}${follow ? `, ${follow}` : ''} }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
        - macd: {}
        - sma: { period: 30 }
        - willr: {}
        - adx: {}
      returns: [1, 5]
      target: { forward_return: { horizons: [1, 10] } }
  # The champion: trained on the first bars only (\`to:\`: a change after them retrains it to the same bits).
  history:
    uses: fetch
    with: { ${source}, to: "2019-01-15" }
  hfeatures:
    uses: features
    from: history
    with:
      indicators:
        - rsi: { period: 14 }
        - macd: {}
        - sma: { period: 30 }
      returns: [1, 5]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: hfeatures
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: ridge }
  signal:
    uses: predict
    from: { model: model, candles: candles }
    with: { rule: sign }
`;
}

/** A silent progress that records each step's log lines as `step: message`. */
export function logging(lines: string[]): ProgressReporter {
  const p: ProgressReporter = new SilentProgress();
  p.stepLog = (id, message) => void lines.push(`${id}: ${message}`);
  return p;
}
