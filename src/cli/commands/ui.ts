import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, startUi } from '../../ui/server.js';
import { displayDir, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { styleFor } from '../format.js';

async function cmdUi(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { port: { type: 'string' }, host: { type: 'string' } });
  if (values.help) return printUsage(uiCommand, io);
  if (positionals.length) throw new UsageError(`\`fxflow ui\` takes no arguments (got \`${positionals[0]}\`); the store is given with --store DIR`);
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`--port takes a port number from 0 to 65535 (0: any free port), got \`${values.port}\``);
  const host = values.host ?? DEFAULT_HOST;
  const dir = storeDir(values.store);
  const ui = await startUi({ storeDir: dir, port, host });
  const style = styleFor(io.err);
  if (!isLoopback(host))
    io.err.write(
      `${style.yellow('warning')}: serving on ${host}: anyone who can reach this machine on port ${ui.port} can read your runs, parameters and pipelines (there is no login)\n`,
    );
  io.out.write(`fxflow ui: ${ui.url} (store ${displayDir(dir)}, read-only) — Ctrl+C stops it\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await ui.close();
  return 0;
}

export const uiCommand: Command = {
  usage: `Usage: fxflow ui [--store DIR] [--port 4173] [--host 127.0.0.1]

A local web app over the store: the runs (filter, sort by any metric, pick runs to compare), a
run's graph with each step's state (live while it runs), its parameters, metrics, warnings,
backtest report and training curves; comparisons of 2–6 runs (changed parameters, equity and
drawdown overlaid); sweeps' leaderboards; the model registry. Read-only: it reads a private copy
of the store, so it can stay open while runs write (see docs/ui.md).

Options:
  --port N     port to listen on (default 4173; 0 picks a free one)
  --host ADDR  address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 shares it
               with your network, with no login: a warning says so)`,
  run: cmdUi,
};
