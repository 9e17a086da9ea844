import type { Plan } from '../compiler/index.js';
import type { StepOutcome } from '../runtime/run.js';
import type { Store } from '../runtime/store.js';
import type { PlanSelect } from '../compiler/plan.js';
import type { MatrixValues } from '../parser/spec.js';

/**
 * A sweep's results: per variant, the metrics of the nodes it uses (named `step.metric`, the same
 * names as a plain run's), the selection score, and which variant `select:` picked.
 */

export interface VariantResult {
  index: number;
  values: MatrixValues;
  label: string;
  /** `step.name` → value, over the nodes this variant uses. */
  metrics: Record<string, number>;
  score?: number;
  selected: boolean;
}

export interface SweepResult {
  names: string[];
  variants: VariantResult[];
  select?: PlanSelect;
  /** Index of the selected variant. */
  selected?: number;
  /** Why nothing was selected, when `select:` is set but no variant has the metric. */
  note?: string;
}

export function summarizeSweep(plan: Plan, steps: StepOutcome[]): SweepResult | undefined {
  if (!plan.variants) return undefined;
  const outcome = new Map(steps.map((s) => [s.id, s]));
  const names = plan.spec.matrix?.names ?? [];
  const variants: VariantResult[] = plan.variants.map((v) => {
    const metrics: Record<string, number> = {};
    let score: number | undefined;
    for (const n of plan.nodes) {
      if (!n.variants?.includes(v.index)) continue;
      const o = outcome.get(n.id);
      if (!o || o.status !== 'ok') continue;
      for (const [k, val] of Object.entries(o.metrics)) metrics[`${n.step ?? n.id}.${k}`] = val;
      if (plan.select && n.step === plan.select.step) {
        const x = Object.hasOwn(o.metrics, plan.select.name) ? o.metrics[plan.select.name] : undefined;
        if (typeof x === 'number' && Number.isFinite(x)) score = x;
      }
    }
    return { index: v.index, values: v.values, label: v.label, metrics, ...(score !== undefined ? { score } : {}), selected: false };
  });
  const out: SweepResult = { names, variants, ...(plan.select ? { select: plan.select } : {}) };
  if (plan.select) {
    const sign = plan.select.mode === 'max' ? 1 : -1;
    let best: VariantResult | undefined;
    // Ties keep the earlier variant: the choice is deterministic.
    for (const v of variants) if (v.score !== undefined && (!best || sign * (v.score - best.score!) > 0)) best = v;
    if (best) {
      best.selected = true;
      out.selected = best.index;
    } else {
      const some = steps.find((s) => plan.byId.get(s.id)?.step === plan.select!.step && s.status === 'ok');
      out.note = some
        ? `no variant has metric \`${plan.select.name}\` in step \`${plan.select.step}\` (it has: ${Object.keys(some.metrics).join(', ') || 'no metrics'})`
        : `no variant completed step \`${plan.select.step}\``;
    }
  }
  return out;
}

export async function recordSweep(store: Store, runId: string, plan: Plan, sweep: SweepResult): Promise<void> {
  const select = sweep.select ? `${sweep.select.metric}${sweep.select.on ? ` on ${sweep.select.on}` : ''} (${sweep.select.mode})` : null;
  await store.replaceRows([
    {
      table: 'run_variants',
      rows: sweep.variants.map((v) => [runId, v.index, v.label, JSON.stringify(v.values), JSON.stringify(v.metrics), select, v.score ?? null, v.selected]),
    },
    { table: 'run_nodes', rows: plan.nodes.map((n) => [runId, n.id, n.step ?? n.id, JSON.stringify(n.variants ?? [])]) },
  ]);
}

export interface StoredVariant {
  index: number;
  label: string;
  values: MatrixValues;
  metrics: Record<string, number>;
  select: string | null;
  score: number | null;
  selected: boolean;
}

/** A run's variants as recorded, in matrix order (empty for a plain run). */
export async function loadVariants(store: Store, runId: string): Promise<StoredVariant[]> {
  const rows = await store.query(`SELECT idx, label, vals, metrics, select_metric, score, selected FROM run_variants WHERE run_id = $1 ORDER BY idx`, [runId]);
  return rows.map((r) => ({
    index: Number(r.idx),
    label: String(r.label),
    values: JSON.parse(String(r.vals)) as MatrixValues,
    metrics: JSON.parse(String(r.metrics)) as Record<string, number>,
    select: r.select_metric === null ? null : String(r.select_metric),
    score: r.score === null ? null : Number(r.score),
    selected: Boolean(r.selected),
  }));
}
