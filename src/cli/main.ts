import { DiagnosticError, suggestionHint } from '../core/diagnostics.js';
import { VERSION } from '../version.js';
import { COMMANDS } from './commands/index.js';
import { EXIT_INPUT, EXIT_RUN, printDiagnostics, printRunError, UsageError, type Io } from './common.js';
import { styleFor } from './format.js';

/**
 * The `fxflow` command line. Thin: parse argv, call the library, print, choose the exit code
 * (0 ok, 1 failure while running, 2 bad input). User errors never print a stack trace.
 */

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const executing = COMMANDS.filter((c) => c.executesCode).map((c) => c.name);
  return `fxflow ${VERSION} — declarative ML pipelines for market time series

Usage: fxflow <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Global options:
  --store DIR   store folder (default: .fxflow in the working directory, or $FXFLOW_STORE)
  -h, --help    help for a command
  -v, --version print the version

Running code: ${executing.slice(0, -1).join(', ')} and ${executing.at(-1)} import a pipeline's plugins, whose TypeScript then
runs with your rights: use them on pipelines you trust. No other command executes plugin code:
validate, plan and steps only type-check plugins and read their steps from source. A pipeline
loads plugins only from its own folder or below.

Exit codes: 0 ok, 1 a failure while running, 2 bad input (pipeline or arguments).`;
}

export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  // Global options may come before the command: `fxflow --store DIR run FILE`.
  const args = [...argv];
  const lead: string[] = [];
  while (args.length && args[0].startsWith('-')) {
    const a = args.shift()!;
    lead.push(a);
    if (a === '--store' && args.length) lead.push(args.shift()!);
  }
  const [cmd, ...rest] = args;
  try {
    if (!cmd) {
      if (lead.includes('--version') || lead.includes('-v')) {
        io.out.write(`${VERSION}\n`);
        return 0;
      }
      const unknown = lead.find((a) => !['--help', '-h', '--store'].includes(a) && !lead[lead.indexOf(a) - 1]?.startsWith('--store'));
      if (unknown) throw new UsageError(`unknown option ${unknown}`);
      io.out.write(`${mainHelp()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === cmd);
    if (!command) {
      throw new UsageError(
        `unknown command \`${cmd}\`; ${suggestionHint(
          cmd,
          COMMANDS.map((c) => c.name),
          'a command',
        )}`,
      );
    }
    const all = [...lead, ...rest];
    if (all.includes('--version') || all.includes('-v')) {
      io.out.write(`${VERSION}\n`);
      return 0;
    }
    return await (await command.load()).run(all, io);
  } catch (e) {
    const style = styleFor(io.err);
    if (e instanceof DiagnosticError) {
      printDiagnostics(e, io);
      return EXIT_INPUT;
    }
    if (e instanceof UsageError) {
      io.err.write(`${style.red('error')}: ${e.message}\nrun \`fxflow ${cmd && COMMANDS.some((c) => c.name === cmd) ? `${cmd} ` : ''}--help\` for usage\n`);
      return EXIT_INPUT;
    }
    printRunError(e instanceof Error ? e : new Error(String(e)), io);
    return EXIT_RUN;
  }
}
