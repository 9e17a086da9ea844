import path from 'node:path';
import type { ProgressReporter, StepEnd } from '../../runtime/progress.js';
import { needFile, parse, printDiagnostics, printRunError, printUsage, type Command, type Io } from '../common.js';
import { styleFor, type Style } from '../format.js';
import { WATCH_FLAGS, watchUntilStopped } from './watch.js';

/** The lines of a replay step's log that say what the new bars did (src/steps/replay/index.ts logFollowed). */
const FOLLOWED = /^(following: |retrain at |bar |… )/;

/**
 * A run as `fxflow replay` shows it: each replay step's summary when it replayed afresh, and, when
 * it followed appended bars, its lines for them (the bars' predictions, positions and equity, the
 * retrain decisions); every step's warnings and failures. Other steps are quiet.
 */
class ReplayPrinter implements ProgressReporter {
  private replays = new Set<string>();
  private followed = new Set<string>();

  constructor(
    private readonly io: Io,
    private readonly style: Style,
    private readonly only: string | undefined,
    private readonly onStart: (replays: string[]) => void,
  ) {}

  start(steps: { id: string; kind: string }[]): void {
    this.replays = new Set(steps.filter((s) => s.kind === 'replay' && (this.only === undefined || s.id === this.only)).map((s) => s.id));
    this.onStart([...this.replays]);
  }
  stepStarted(): void {}
  stepProgress(): void {}
  stepLog(id: string, message: string, level: 'info' | 'warn'): void {
    if (level === 'warn') this.io.err.write(`${this.style.yellow(`${id}: ${message}`)}\n`);
    else if (this.replays.has(id) && FOLLOWED.test(message)) {
      this.followed.add(id);
      this.io.out.write(`${id}: ${message.startsWith('retrain at ') ? this.style.cyan(message) : message}\n`);
    }
  }
  stepFinished(id: string, end: StepEnd): void {
    if (end.status === 'failed') this.io.err.write(`${this.style.red(`${id} failed`)}: ${end.error ?? ''}\n`);
    else if (this.replays.has(id) && !end.cached && !this.followed.has(id) && end.summary) this.io.out.write(`${id}: ${end.summary}\n`);
  }
  async finish(): Promise<void> {}
}

async function cmdReplay(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...WATCH_FLAGS, follow: { type: 'boolean' }, step: { type: 'string' } });
  if (values.help) return printUsage(replayCommand, io);
  const file = needFile(positionals, 'replay');
  const style = styleFor(io.out);
  const follow = values.follow === true;
  let failed = false;
  let missing = false;
  let stop = (): void => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  io.out.write(`${style.bold('fxflow')} replay ${file}${follow ? ' · following its data files · Ctrl-C to stop' : ''}\n`);
  await watchUntilStopped(file, values, {
    once: !follow,
    stop: stopped,
    progress: () =>
      new ReplayPrinter(io, style, values.step, (replays) => {
        if (replays.length || missing) return;
        missing = true;
        io.err.write(`${style.red('error')}: ${file} has no replay step${values.step === undefined ? '' : ` \`${values.step}\``}\n`);
        stop();
      }),
    onEvent: (e) => {
      switch (e.type) {
        case 'change':
          io.out.write(`${style.dim(`changed: ${e.files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`)}\n`);
          break;
        case 'invalid':
          failed = true;
          printDiagnostics(e.error, io);
          break;
        case 'failed':
          failed = true;
          printRunError(e.error, io);
          break;
        case 'run':
          failed = e.result.status === 'failed';
          if (failed && e.result.error) printRunError(e.result.error, io);
          break;
        case 'idle':
          if (follow) io.out.write(`${style.dim('waiting for new bars…')}\n`);
          break;
        case 'cancelled':
          break;
      }
    },
  });
  if (missing) return 2;
  if (follow) io.out.write('stopped following\n');
  return failed && !follow ? 1 : 0;
}

export const replayCommand: Command = {
  usage: `Usage: fxflow replay FILE [--follow] [--step ID] [--debounce MS] [--jobs N] [--device auto|gpu|cpu] [--store DIR]

Runs the pipeline and prints its replay steps' results. With --follow it then keeps going: when a
CSV data file gains bars at its end, the replay walks on from its last bar (its models, policy state
and schedule kept in this process) instead of starting over, and prints each new bar's prediction,
position and equity and every retrain decision; the result and what is stored are those of a
replay run afresh on the longer file. A change anywhere else (an earlier bar, the pipeline)
replays afresh. Ctrl-C (SIGINT) or SIGTERM stops it. The same follower as \`fxflow watch\`.
  --follow        keep following the data files after the first run
  --step ID       the replay step to print (default: every replay step)
  --debounce MS   quiet period after a change before rerunning (default 50)
  --jobs N        cores to use (default: all), as for \`fxflow run\`
  --device D      where neural models train unless their step sets \`device:\`
Executes the pipeline's plugins (TypeScript, run with your rights): use it on pipelines you trust.`,
  run: cmdReplay,
};
