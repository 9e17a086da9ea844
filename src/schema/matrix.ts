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

const BOUNDS = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } as const;

/** JSON Schema of `search:` (src/parser/search.ts checks the semantics: bounds in order, a loguniform above 0…). */
export const SEARCH_SCHEMA = {
  description:
    'A search instead of a grid: `trials` variants whose parameters (referenced as `${matrix.name}`, like a matrix dimension) are drawn from `space`, at random or by TPE (a tree-structured Parzen estimator that draws where the best trials so far are). Needs `select:` to score the trials.',
  type: 'object',
  required: ['trials', 'space'],
  additionalProperties: false,
  properties: {
    method: {
      description:
        '`random`: every trial drawn independently up front. `tpe`: `startup` random trials, then rounds of `--jobs` trials each drawn from the model of the trials scored so far.',
      enum: ['random', 'tpe'],
      default: 'tpe',
    },
    trials: { description: 'How many variants to run.', type: 'integer', minimum: 1, maximum: 10000 },
    seed: { description: "Seed of the sampler (default: the pipeline's `seed`): same seed, same trials.", type: 'integer' },
    startup: { description: 'TPE: random trials before the model is used.', type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    halving: {
      description:
        'Early stopping of bad trials by asynchronous successive halving (ASHA): every trial starts with `param` at `min` (e.g. 50 gbm rounds or 5 epochs); the best 1/`eta` of a rung run again with `eta` times more, up to `max`. The steps read the fidelity as `${matrix.<param>}`; the winner is chosen among the trials that reached the highest rung.',
      type: 'object',
      required: ['param', 'min', 'max'],
      additionalProperties: false,
      properties: {
        param: {
          description: 'Name of the fidelity, read by the steps as `${matrix.<param>}` (not a parameter of `space`).',
          type: 'string',
          pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
        },
        min: { description: 'Fidelity of the first rung (every trial runs at it).', type: 'number', exclusiveMinimum: 0 },
        max: { description: 'Fidelity of the last rung (the winner ran at it).', type: 'number', exclusiveMinimum: 0 },
        eta: {
          description: 'Reduction factor: the best 1/eta of a rung go up, with eta times the fidelity.',
          type: 'number',
          minimum: 2,
          maximum: 10,
          default: 3,
        },
      },
    },
    space: {
      description:
        'Parameter → distribution: `{ uniform: [low, high] }`, `{ loguniform: [low, high] }` (low > 0), `{ int: [low, high] }` (inclusive; `log: true` for a log scale), `{ choice: [a, b, …] }`.',
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' },
      additionalProperties: {
        oneOf: [
          { type: 'object', required: ['uniform'], additionalProperties: false, properties: { uniform: BOUNDS } },
          { type: 'object', required: ['loguniform'], additionalProperties: false, properties: { loguniform: BOUNDS } },
          {
            type: 'object',
            required: ['int'],
            additionalProperties: false,
            properties: { int: { ...BOUNDS, items: { type: 'integer' } }, log: { type: 'boolean' } },
          },
          { type: 'object', required: ['choice'], additionalProperties: false, properties: { choice: { type: 'array', minItems: 1 } } },
        ],
      },
    },
  },
} as const;
