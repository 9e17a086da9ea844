import type { Command } from '../common.js';
import { diffCommand } from './diff.js';
import { exportCommand } from './export.js';
import { modelsCommand } from './models.js';
import { gcCommand } from './gc.js';
import { initCommand } from './init.js';
import { planCommand } from './plan.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { runsCommand } from './runs.js';
import { schemaCommand } from './schema.js';
import { showCommand } from './show.js';
import { stepsCommand } from './steps.js';
import { validateCommand } from './validate.js';
import { watchCommand } from './watch.js';

/** Every subcommand, in the order `fxflow --help` lists them. */
export const COMMANDS: Command[] = [
  runCommand,
  watchCommand,
  validateCommand,
  planCommand,
  runsCommand,
  showCommand,
  diffCommand,
  gcCommand,
  reportCommand,
  modelsCommand,
  exportCommand,
  stepsCommand,
  schemaCommand,
  initCommand,
];
