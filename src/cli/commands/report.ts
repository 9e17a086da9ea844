import { existsSync } from 'node:fs';
import path from 'node:path';
import { RunError } from '../../core/diagnostics.js';
import { writeRunReport } from '../../report/load.js';
import { RUN_REF_HELP } from '../../runtime/history.js';
import { STORE_FILE } from '../../runtime/store.js';
import { displayDir, openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';

async function cmdReport(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, step: { type: 'string' } });
  if (values.help) return printUsage(reportCommand, io);
  const ref = positionals[0];
  if (!ref) throw new UsageError('`fxflow report` needs a run id or `latest`, e.g. `fxflow report latest --out report.html`');
  if (positionals.length > 1) throw new UsageError(`\`fxflow report\` takes one run, got ${positionals.length}: ${positionals.join(' ')}`);
  if (values.out !== undefined && !/\.html?$/i.test(values.out)) throw new UsageError(`--out must end in .html, got \`${values.out}\``);
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) {
    throw new RunError(`no store in ${displayDir(dir)}`, {
      hint: 'run a pipeline first (fxflow run pipelines/quickstart.yaml), or point at a store with --store DIR',
    });
  }
  const store = await openStore(dir, io);
  try {
    const { path: out, input } = await writeRunReport(store, ref, { out: values.out, stepId: values.step });
    const rel = path.relative(process.cwd(), out);
    io.out.write(`wrote ${rel && !rel.startsWith('..') ? rel : out}: report of run ${input.run.id} (${input.run.pipeline}, step ${input.stepId})\n`);
  } finally {
    await store.close();
  }
  return 0;
}

export const reportCommand: Command = {
  usage: `Usage: fxflow report RUN|latest [--out report.html] [--step ID] [--store DIR]

Writes the backtest report of run RUN (RUN is ${RUN_REF_HELP}):
metrics, equity against buy and hold, drawdown, monthly returns, trades, forecast quality per horizon,
data-quality and drift notes, the pipeline and its params. One HTML file with inline SVG charts; it
opens offline. Default output: <store>/reports/<run id>.html.
  --out PATH   where to write the file
  --step ID    the backtest step to report, when the run has several`,
  run: cmdReport,
};
