/**
 * The layer table of docs/architecture.md, enforced: `npm run lint:deps` (and .ci/run) fails on an
 * import that runs up the layers, across domain folders the wrong way, or in a circle.
 *
 * A module may import: its own folder, any layer below its own, and outside src/ (packages, node:).
 * Everything else is a violation ("not-in-allowed"). The table is lint/layers.cjs; a test checks
 * that docs/architecture.md lists the same.
 */

const { LAYERS, DOMAIN, PENDING } = require('./lint/layers.cjs');

const esc = (p) => p.replace(/[.]/g, '\\.');
const anyOf = (paths) => `^(${paths.map(esc).join('|')})`;

const allowed = [
  { comment: 'packages and node: builtins', from: {}, to: { pathNot: '^src/' } },
  { comment: 'within one folder of src/', from: { path: '^src/([^/]+)/' }, to: { path: '^src/$1/' } },
];
LAYERS.forEach(([name, paths], i) => {
  const below = LAYERS.slice(0, i).flatMap(([, p]) => p);
  if (name === 'domain') {
    for (const [folder, uses] of Object.entries(DOMAIN)) {
      const to = [...below, ...uses.map((u) => `src/${u}/`)];
      allowed.push({
        comment: `domain: ${folder} → core${uses.length ? `, ${uses.join(', ')}` : ''}`,
        from: { path: `^src/${folder}/` },
        to: { path: anyOf(to) },
      });
    }
    return;
  }
  if (!below.length) return;
  allowed.push({ comment: `${name} → the layers below it`, from: { path: anyOf(paths) }, to: { path: anyOf(below) } });
});
// The library entry is two files: index.ts re-exports pipeline.ts (not the reverse; no-circular also holds it).
allowed.push({ comment: 'library entry: index.ts → pipeline.ts', from: { path: '^src/index\\.ts$' }, to: { path: '^src/pipeline\\.ts$' } });
for (const p of PENDING) allowed.push({ comment: 'PENDING move (see PENDING above)', from: { path: p.from }, to: { path: p.to } });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import circles, type-only imports included', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  allowed,
  allowedSeverity: 'error',
  options: {
    // Type-only imports count: a type import up the layers couples them just the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    moduleSystems: ['es6', 'cjs'],
    exclude: { path: '\\.generated\\.' },
  },
};
