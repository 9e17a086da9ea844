import type { Command } from '../common.js';
import { exportCommand } from './export.js';
import { planCommand } from './plan.js';
import { runCommand } from './run.js';
import { runsCommand } from './runs.js';
import { schemaCommand } from './schema.js';
import { validateCommand } from './validate.js';

/** Every subcommand, in the order `fxflow --help` lists them. */
export const COMMANDS: Command[] = [runCommand, validateCommand, planCommand, runsCommand, exportCommand, schemaCommand];
