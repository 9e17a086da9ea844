import { loadPlan } from '../../pipeline.js';
import { needFile, parse, printUsage, type Command, type Io } from '../common.js';
import { styleFor } from '../format.js';

async function cmdValidate(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) return printUsage(validateCommand, io);
  const plan = await loadPlan(needFile(positionals, 'validate'));
  const style = styleFor(io.out);
  io.out.write(
    `${style.green('ok')}: ${plan.spec.displayFile} — pipeline ${plan.spec.name}, ${plan.nodes.length} steps: ${plan.nodes.map((n) => n.id).join(' → ')}\n`,
  );
  return 0;
}

export const validateCommand: Command = {
  usage: `Usage: fxflow validate FILE

Parses the pipeline, validates it against the schema and compiles its DAG. Runs nothing, and
never executes plugin code: plugins are type-checked and their steps read from source (a plugin
step's own check() runs with \`fxflow run\`).`,
  run: cmdValidate,
};
