/**
 * The last `cap` rows an online learner absorbed, oldest first (X rows × p, Y rows × k, and their
 * times where kept): the window a gbm append or a fine-tuning update fits on after the data's end.
 */
export class RowWindow {
  readonly X: Float64Array;
  readonly Y: Float64Array;
  readonly index: Float64Array | undefined;
  rows: number;

  constructor(
    readonly cap: number,
    readonly p: number,
    readonly k: number,
    kept: { rows: number; X: Float64Array; Y: Float64Array; index?: Float64Array },
  ) {
    this.X = new Float64Array(cap * p);
    this.Y = new Float64Array(cap * k);
    this.X.set(kept.X.subarray(0, kept.rows * p));
    this.Y.set(kept.Y.subarray(0, kept.rows * k));
    if (kept.index) {
      this.index = new Float64Array(cap);
      this.index.set(kept.index.subarray(0, kept.rows));
    }
    this.rows = kept.rows;
  }

  /** Appends row x[offset…], y[yOffset…] (time `ts`), dropping the oldest when full. */
  push(x: ArrayLike<number>, offset: number, y: ArrayLike<number>, yOffset: number, ts = NaN): void {
    const { p, k } = this;
    if (this.rows === this.cap) {
      this.X.copyWithin(0, p);
      this.Y.copyWithin(0, k);
      this.index?.copyWithin(0, 1);
      this.rows--;
    }
    for (let j = 0; j < p; j++) this.X[this.rows * p + j] = x[offset + j];
    for (let t = 0; t < k; t++) this.Y[this.rows * k + t] = y[yOffset + t];
    if (this.index) this.index[this.rows] = ts;
    this.rows++;
  }
}
