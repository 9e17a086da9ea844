/** Parameters of the `train` step: which model is fitted on each fold's training rows. */
export interface TrainParams {
  /**
   * Model kind: `ridge` (closed-form L2-penalised linear regression, one per target).
   * @default "ridge"
   */
  model: 'ridge';
  /**
   * Ridge penalty on the coefficients (not the intercept); 0 is ordinary least squares.
   * @default 1
   * @minimum 0
   */
  alpha: number;
}
