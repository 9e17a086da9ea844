/** JSON Schema of `matrix:` and `select:` (added to the pipeline schema's top-level properties). */
export const MATRIX_SCHEMA = {
  description:
    'A sweep: each dimension is a list of values, referenced as `${matrix.name}`; every combination is a variant of the pipeline. Steps equal across variants are computed once.',
  type: 'object',
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' },
  properties: {
    include: {
      description: 'Combinations added to the product; each sets every dimension.',
      type: 'array',
      items: { type: 'object' },
    },
    exclude: {
      description: 'Combinations removed from the product: every combination matching all the keys of an entry.',
      type: 'array',
      items: { type: 'object', minProperties: 1 },
    },
  },
  additionalProperties: { description: 'A dimension: the values it takes.', type: 'array', minItems: 1 },
} as const;

export const SELECT_SCHEMA = {
  description: 'How the best variant of a sweep is picked, e.g. `{ metric: report.sharpe, on: val, mode: max }`.',
  type: 'object',
  required: ['metric'],
  additionalProperties: false,
  properties: {
    metric: { description: 'The metric, as `step.name` (e.g. `report.sharpe`).', type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*\\.[A-Za-z0-9_.-]+$' },
    on: {
      description:
        'The segment the metric is measured on: with `val`, a step that has a `segment` param (backtest) is also evaluated on the validation segment, so that picking the best never looks at the test segment.',
      enum: ['val', 'test'],
    },
    mode: { description: 'Whether the largest or the smallest value wins.', enum: ['max', 'min'], default: 'max' },
  },
} as const;
