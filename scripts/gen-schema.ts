/**
 * `npm run schema`: regenerate schema/pipeline.schema.json from the steps' TypeScript params types.
 * `--check` exits 1 if the file on disk is stale (CI runs it).
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractSteps, openProject, TypeToSchema, type ExtractedStep } from '../src/schema/fromTypes.js';
import { buildPipelineSchema } from '../src/schema/pipeline.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const out = path.join(root, 'schema', 'pipeline.schema.json');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

const project = openProject(path.join(root, 'tsconfig.json'));
const stepsDir = path.join(root, 'src', 'steps');
const files = readdirSync(stepsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(stepsDir, d.name, 'index.ts')))
  .map((d) => path.join(stepsDir, d.name, 'index.ts'))
  .sort();
const sources = files.map((f) => project.addSourceFileAtPath(f));
project.resolveSourceFileDependencies();

const conv = new TypeToSchema();
const steps: ExtractedStep[] = sources.flatMap((sf) => extractSteps(sf, conv, root));
if (conv.issues.length) {
  for (const i of conv.issues) console.error(`${path.relative(root, i.file)}:${i.line}:${i.col}: error: ${i.message}`);
  process.exit(1);
}
const text = `${JSON.stringify(buildPipelineSchema(steps, pkg.version), null, 2)}\n`;
if (check) {
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error('schema/pipeline.schema.json is stale: run `npm run schema` and commit the result.');
    process.exit(1);
  }
  console.log(`schema/pipeline.schema.json is current (${steps.length} step kinds).`);
} else {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.log(`wrote schema/pipeline.schema.json: ${steps.map((s) => s.kind).join(', ')}`);
}
