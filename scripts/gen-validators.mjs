// Writes the pipeline schema's validators, compiled by ajv, next to dist/parser/validate.js (see
// PRECOMPILED_FILE there): run by `npm run build` after tsc.
import { writeFileSync } from 'node:fs';
import { PRECOMPILED_FILE, precompiledSource } from '../dist/parser/validate.js';

writeFileSync(PRECOMPILED_FILE, await precompiledSource());
