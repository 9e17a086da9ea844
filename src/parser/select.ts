import type { SelectSpec } from './spec.js';

/** `select:` after schema validation (the shell has checked its shape). */
export function readSelect(raw: unknown): SelectSpec | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.metric !== 'string') return undefined;
  return {
    metric: r.metric,
    ...(r.on === 'val' || r.on === 'test' ? { on: r.on } : {}),
    mode: r.mode === 'min' ? 'min' : 'max',
  };
}
