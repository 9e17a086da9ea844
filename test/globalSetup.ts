import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Integration tests run the built CLI (bin/fxflow.js → dist/). `npm test` builds first; when vitest
 * is run directly, rebuild here if any source file is newer than the build.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = path.join(root, 'dist', 'cli', 'main.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (!existsSync(built) || statSync(built).mtimeMs < newest(path.join(root, 'src'))) {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    // As `npm run build` does: the pipeline validators compiled ahead of time.
    execFileSync(process.execPath, [path.join(root, 'scripts', 'gen-validators.mjs')], { cwd: root, stdio: 'inherit' });
  }
}
