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
    // The one build recipe (package.json): compile, then the pipeline validators ahead of time.
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  }
}
