/** Parameters of the `encode` step: how a feature encoder's latent columns enter the dataset. */
export interface EncodeParams {
  /**
   * `append`: the latent columns follow the dataset's features; `replace`: they become the only
   * features.
   * @default "append"
   */
  mode: 'append' | 'replace';
  /**
   * Name prefix of the latent columns: `ae` gives `ae_0`, `ae_1`, … Choose another to append the
   * latents of a second encoder.
   * @default "ae"
   * @pattern ^[A-Za-z][A-Za-z0-9_]*$
   */
  prefix: string;
}
