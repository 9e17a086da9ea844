import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { fxflow, workdir } from '../helpers/cli.js';

describe('fxflow report (built CLI)', () => {
  it('run prints the headline metrics and the report path; report latest / RUN --out write the HTML; errors are plain', async () => {
    const cwd = workdir();
    const empty = await fxflow(['report', 'latest'], { cwd });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no store in/);
    expect(empty.stderr).not.toMatch(/\n\s+at /);

    const run = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/report metrics[\s\S]*sharpe[\s\S]*max_drawdown[\s\S]*win_rate/);
    const m = /\nreport (\S+\.html)\n/.exec(run.stdout);
    expect(m, run.stdout).not.toBeNull();
    const runId = /run (\d{8}-\d{6}-[0-9a-f]+) succeeded/.exec(run.stdout)![1];
    expect(m![1]).toBe(path.join('.fxflow', 'reports', `${runId}.html`));
    expect(readFileSync(path.join(cwd, m![1]), 'utf8')).toContain('data-chart="equity"');

    const out = await fxflow(['report', 'latest', '--out', 'r.html'], { cwd });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`wrote r.html: report of run ${runId}`);
    const html = readFileSync(path.join(cwd, 'r.html'), 'utf8');
    expect(html).toContain('uses: backtest'); // the pipeline text
    expect(html).toContain('entry_threshold');

    const byId = await fxflow(['report', runId.slice(0, 15), '--out', 'sub/r2.html'], { cwd });
    expect(byId.code, byId.stderr).toBe(0);
    expect(existsSync(path.join(cwd, 'sub', 'r2.html'))).toBe(true);

    const bad = await fxflow(['report', 'nope'], { cwd });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no run `nope`/);
    const usage = await fxflow(['report'], { cwd });
    expect(usage.code).toBe(2);
  }, 60_000);
});
