import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { escapeControl, RunError, type DiagnosticError } from '../core/diagnostics.js';
import { isDevice, type Device } from '../backend/index.js';
import { ListrProgress, PlainProgress, SilentProgress, type ProgressReporter } from '../runtime/progress.js';
import { Store } from '../runtime/store.js';
import { renderDiagnostic, styleFor } from './format.js';

/** What every command shares: exit codes, argv parsing with the global options, the store. */

export const EXIT_OK = 0;
/** A failure while running. */
export const EXIT_RUN = 1;
/** Bad input: the pipeline or the arguments. */
export const EXIT_INPUT = 2;

/** Wrong arguments: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {}

export interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

/**
 * A subcommand's module. Add one by writing src/cli/commands/<name>.ts and listing it, with its
 * name and summary, in commands/index.ts (which loads the module only when the command runs).
 */
export interface Command {
  /** The command's `--help` text. */
  usage: string;
  run(argv: string[], io: Io): Promise<number> | number;
}

const GLOBAL_OPTIONS = {
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsConfig['options'];

type Options = NonNullable<ParseArgsConfig['options']>;
/** What `parse` returns: util.parseArgs's own typing of the command's options plus the global ones. */
export type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: typeof GLOBAL_OPTIONS & O; allowPositionals: true; strict: true }>
>;

export function parse<O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

/** A folder as the user would write it: relative when inside the working directory. */
export function displayDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
}

/** `--device auto|gpu|cpu`: the pipeline's default device for this invocation. */
export const DEVICE_OPTION = { device: { type: 'string' } } as const satisfies ParseArgsConfig['options'];

export function deviceOf(value: string | undefined): Device | undefined {
  if (value === undefined) return undefined;
  if (isDevice(value)) return value;
  throw new UsageError(`--device takes auto, gpu or cpu, got \`${value}\``);
}

export function storeDir(opt: string | undefined): string {
  return path.resolve(opt ?? (process.env.FXFLOW_STORE || '.fxflow'));
}

export function needFile(positionals: string[], cmd: string): string {
  const f = positionals[0];
  if (!f) throw new UsageError(`\`fxflow ${cmd}\` needs a pipeline file, e.g. \`fxflow ${cmd} pipelines/quickstart.yaml\``);
  return f;
}

export async function openStore(dir: string, io: Io): Promise<Store> {
  return Store.open(dir, { onWait: (m) => io.err.write(`${m}\n`) });
}

export function progressFor(stream: NodeJS.WriteStream, json: boolean, io: Io): ProgressReporter {
  if (json) return io.err.isTTY ? new SilentProgress() : new PlainProgress(io.err);
  return stream.isTTY && !process.env.CI ? new ListrProgress() : new PlainProgress(stream);
}

export function printRunError(e: Error, io: Io): void {
  const style = styleFor(io.err);
  if (e instanceof RunError) {
    // Data errors already name `file:line` in their message (it also shows in run summaries).
    const where = e.loc && !e.message.startsWith(`${e.loc.file}:${e.loc.line}`) ? `${e.loc.file}:${e.loc.line}:${e.loc.col}: ` : '';
    io.err.write(
      `${escapeControl(where)}${style.red('error')}: ${escapeControl(e.message)}\n${e.hint ? `  ${style.cyan('hint')}: ${escapeControl(e.hint)}\n` : ''}`,
    );
  } else {
    io.err.write(`${style.red('error')}: ${escapeControl(e.message)}\n`);
    if (process.env.FXFLOW_DEBUG && e.stack) io.err.write(`${e.stack}\n`);
  }
}

export function printUsage(cmd: Command, io: Io): number {
  io.out.write(`${cmd.usage}\n`);
  return EXIT_OK;
}

/** A file's diagnostics as a compiler prints them, with the count. */
export function printDiagnostics(e: DiagnosticError, io: Io): void {
  const style = styleFor(io.err);
  const sources = new Map<string, string[]>();
  for (const d of e.diagnostics) io.err.write(`${renderDiagnostic(d, style, sources)}\n`);
  const n = e.diagnostics.filter((d) => d.severity === 'error').length;
  io.err.write(`${n} error${n === 1 ? '' : 's'}\n`);
}
