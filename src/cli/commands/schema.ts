import { readFileSync } from 'node:fs';
import { SCHEMA_FILE } from '../../parser/validate.js';
import { parse, printUsage, type Command, type Io } from '../common.js';

function cmdSchema(argv: string[], io: Io): number {
  const { values } = parse(argv, {});
  if (values.help) return printUsage(schemaCommand, io);
  io.out.write(readFileSync(SCHEMA_FILE, 'utf8'));
  return 0;
}

export const schemaCommand: Command = {
  usage: `Usage: fxflow schema

Prints the pipeline JSON Schema (for editors: \`# yaml-language-server: $schema=…\`). Reads no
pipeline and executes no code.`,
  run: cmdSchema,
};
