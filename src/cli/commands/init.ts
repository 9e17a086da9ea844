import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, printUsage, UsageError, type Command, type Io } from '../common.js';
import { styleFor } from '../format.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The files `fxflow init` writes, relative to the target folder. Plugins are ES modules: in a
 * folder whose package.json is not `"type": "module"` the plugin gets the .mts extension.
 */
function scaffold(dir: string): Record<string, string> {
  const pkgFile = path.join(dir, 'package.json');
  const pkg = existsSync(pkgFile) ? (JSON.parse(readFileSync(pkgFile, 'utf8')) as { type?: string }) : undefined;
  const ext = pkg && pkg.type !== 'module' ? 'mts' : 'ts';
  const plugin = readFileSync(path.join(REPO, 'examples', 'plugin', 'steps', 'rolling_z.ts'), 'utf8');
  const pipeline = readFileSync(path.join(REPO, 'examples', 'plugin', 'pipeline.yaml'), 'utf8')
    .replace(/^# yaml-language-server: .*$/m, `# yaml-language-server: $schema=${path.join(REPO, 'schema', 'pipeline.schema.json')}`)
    .replace(/^name: .*$/m, 'name: my-pipeline')
    .replace('./steps/rolling_z.ts', `./steps/rolling_z.${ext}`);
  const files: Record<string, string> = {
    'pipeline.yaml': pipeline,
    [`steps/rolling_z.${ext}`]: plugin,
    '.gitignore': '# fxflow store: artifacts and run history (local, rebuildable)\n.fxflow/\nnode_modules/\n',
  };
  if (!pkg)
    files['package.json'] = `${JSON.stringify(
      {
        name: path
          .basename(dir)
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-'),
        private: true,
        type: 'module',
      },
      null,
      2,
    )}\n`;
  return files;
}

async function cmdInit(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { force: { type: 'boolean' } });
  if (values.help) return printUsage(initCommand, io);
  const dir = path.resolve(positionals[0] ?? '.');
  const files = scaffold(dir);
  const clashes = Object.keys(files).filter((f) => f !== '.gitignore' && existsSync(path.join(dir, f)));
  if (clashes.length && !values.force) {
    throw new UsageError(`${clashes.join(', ')} already exist${clashes.length === 1 ? 's' : ''} in ${dir}; use --force to overwrite`);
  }
  const style = styleFor(io.out);
  for (const [rel, text] of Object.entries(files)) {
    const target = path.join(dir, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    if (rel === '.gitignore' && existsSync(target)) {
      const cur = readFileSync(target, 'utf8');
      if (!cur.split(/\r?\n/).includes('.fxflow/')) writeFileSync(target, `${cur.replace(/\n?$/, '\n')}.fxflow/\n`);
      continue;
    }
    writeFileSync(target, text);
    io.out.write(`  ${style.green('created')} ${path.relative(process.cwd(), target) || target}\n`);
  }
  const rel = path.relative(process.cwd(), path.join(dir, 'pipeline.yaml')) || 'pipeline.yaml';
  io.out.write(`\nnext: fxflow run ${rel}   (or fxflow watch ${rel} while you edit)\n`);
  return 0;
}

export const initCommand: Command = {
  usage: `Usage: fxflow init [DIR] [--force]

Writes DIR/pipeline.yaml (a complete pipeline on synthetic data, with editor schema hookup),
DIR/steps/rolling_z.ts (a custom step in TypeScript, used by the pipeline), a package.json if
there is none, and adds .fxflow/ to DIR/.gitignore. Refuses to overwrite existing files unless
--force.`,
  run: cmdInit,
};
