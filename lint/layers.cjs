/** The layer table (docs/architecture.md), read by .dependency-cruiser.cjs and test/lint/layers.test.ts. */

/** Bottom to top. Each entry: layer name and the paths it holds (folders end in `/`). */
const LAYERS = [
  ['core', ['src/core/', 'src/version.ts']],
  ['domain', ['src/data/', 'src/backend/', 'src/indicators/', 'src/models/', 'src/backtest/', 'src/evaluation/', 'src/regimes/', 'src/replay/']],
  ['steps', ['src/steps/']],
  ['schema', ['src/schema/']],
  ['plugins', ['src/plugins/']],
  ['parser', ['src/parser/']],
  ['compiler', ['src/compiler/']],
  ['runtime', ['src/runtime/']],
  ['report', ['src/report/']],
  ['ui', ['src/ui/']],
  ['library entry', ['src/pipeline.ts', 'src/index.ts']],
  ['cli', ['src/cli/']],
];

/**
 * Inside the domain layer data flows one way: a folder may import core and the domain folders
 * listed here, nothing else of the domain.
 */
const DOMAIN = {
  data: [],
  backend: [],
  indicators: ['data'],
  models: ['data', 'backend'],
  backtest: ['data'],
  evaluation: ['data'],
  regimes: ['data'],
  replay: ['data', 'models', 'backtest', 'evaluation'],
};

/**
 * TEMPORARY: imports that break the table only because another engineer's move of issue 19 is
 * still on its branch. The lead deletes each entry once that branch is merged; add nothing here.
 */
const PENDING = [];

module.exports = { LAYERS, DOMAIN, PENDING };
