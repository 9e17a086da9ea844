import type { Plan } from '../compiler/index.js';
import { fmtNum, PLAIN, table, type Style } from './format.js';
import type { MatrixValues } from '../parser/spec.js';
import type { StoredVariant, SweepHalving, SweepOverfit, SweepResult } from '../runtime/history.js';

/** How sweeps are shown: the leaderboard table, and the extra fields of `run --json`. */

export interface BoardVariant {
  index: number;
  label: string;
  values: MatrixValues;
  metrics: Record<string, number>;
  score?: number | null;
  selected: boolean;
}

export interface Board {
  names: string[];
  variants: BoardVariant[];
  /** e.g. `report.sharpe on val (max)`. */
  selectLabel?: string;
  mode?: 'max' | 'min';
  /** The step whose metrics are shown beside the score. */
  headStep?: string;
  /** Is the winner real: deflated Sharpe and PBO (shown under the table). */
  overfit?: SweepOverfit;
  /** A halving search's rungs (a line under the table). */
  halving?: SweepHalving;
}

/** The metrics a leaderboard and `fxflow runs` show for a run or variant, when it has them. */
export const HEAD = ['sharpe', 'total_return', 'max_drawdown', 'hit_rate', 'trades'];

export function boardOf(s: SweepResult): Board {
  return {
    names: s.names,
    variants: s.variants,
    ...(s.overfit ? { overfit: s.overfit } : {}),
    ...(s.halving ? { halving: s.halving } : {}),
    ...(s.select
      ? {
          selectLabel: `${s.select.metric}${s.select.on ? ` on ${s.select.on}` : ''} (${s.select.mode})`,
          mode: s.select.mode,
          headStep: s.select.metric.split('.')[0],
        }
      : {}),
  };
}

/** Variants best first by score (unscored last; ties in matrix order), or in matrix order without `select`. */
export function rankedBoard(b: Board): BoardVariant[] {
  if (!b.mode) return [...b.variants];
  const sign = b.mode === 'max' ? -1 : 1;
  const has = (v: BoardVariant): boolean => typeof v.score === 'number';
  return [...b.variants].sort((x, y) => {
    if (!has(x) || !has(y)) return Number(!has(x)) - Number(!has(y)) || x.index - y.index;
    return sign * (x.score! - y.score!) || x.index - y.index;
  });
}

/** The step whose metrics head the table: the selected metric's step, else the last step with metrics. */
function headStep(b: Board): string | undefined {
  if (b.headStep) return b.headStep;
  const keys = b.variants.flatMap((v) => Object.keys(v.metrics));
  const steps = [...new Set(keys.map((k) => k.slice(0, k.indexOf('.'))))].filter((s) => !s.includes('@'));
  return steps[steps.length - 1];
}

export function leaderboard(b: Board, style: Style = PLAIN, title?: string): string {
  const step = headStep(b);
  const all = new Set(b.variants.flatMap((v) => Object.keys(v.metrics)));
  const available = step ? [...all].filter((k) => k.startsWith(`${step}.`)).map((k) => k.slice(step.length + 1)) : [];
  const shown = HEAD.filter((h) => available.includes(h));
  const cols = shown.length ? shown : available.slice(0, 4);
  const rows = rankedBoard(b).map((v, i) => [
    b.mode ? String(i + 1) : String(v.index + 1),
    v.selected ? '★' : '',
    ...b.names.map((n) => (typeof v.values[n] === 'string' ? String(v.values[n]) : (JSON.stringify(v.values[n]) ?? '—'))),
    ...(b.mode ? [typeof v.score === 'number' ? fmtNum(v.score) : '—'] : []),
    ...cols.map((c) => fmtNum(v.metrics[`${step}.${c}`])),
  ]);
  const head = [b.mode ? 'rank' : '#', '', ...b.names, ...(b.mode ? ['score'] : []), ...cols.map((c) => `${step}.${c}`)];
  const heading = title ?? `leaderboard · ${b.variants.length} variants${b.selectLabel ? ` · select ${b.selectLabel}` : ''}`;
  return `${style.bold(heading)}\n${table(head, rows, style)}${b.halving ? `\n${halvingText(b.halving, style)}` : ''}${b.overfit ? `\n${overfitText(b.overfit, style)}` : ''}`;
}

/** e.g. `successive halving on rounds: 9 trials at 10 → 3 at 30 → 1 at 90; the winner is chosen at 90`. */
function halvingText(h: SweepHalving, style: Style): string {
  const reached = h.rungs.filter((r) => r.trials > 0);
  const steps = reached.map((r, i) => `${r.trials}${i === 0 ? ' trials' : ''} at ${r.fidelity}`).join(' → ');
  const top = reached[reached.length - 1];
  return `${style.bold(`successive halving on ${h.param}:`)} ${steps}${top ? `; the winner is chosen at ${top.fidelity}` : ''}`;
}

/** The lines under a leaderboard that say how much of the winner is luck. */
export function overfitText(o: SweepOverfit, style: Style = PLAIN): string {
  const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(0)}%`);
  const facts = [
    `deflated Sharpe ${fmtNum(o.dsr)}`,
    `PSR ${fmtNum(o.psr)}`,
    `expected best of ${o.trials} by luck ${fmtNum(o.sr0Annual)}`,
    ...(o.pbo !== undefined ? [`PBO ${pct(o.pbo)} (CSCV, ${o.pboBlocks} blocks, ${o.pboSplits} splits)`] : []),
    `${o.periods} days, skew ${fmtNum(o.skew)}, kurtosis ${fmtNum(o.kurtosis)}`,
  ];
  return `${style.bold('is the winner real?')} ${facts.join(' · ')}\n${o.line}`;
}

/** The sweep fields of a node in `run --json`: its YAML step and the matrix values of the variants using it. */
export function sweepNodeFields(plan: Plan, id: string): { step: string; variants: MatrixValues[] } {
  const n = plan.byId.get(id)!;
  const values = new Map(plan.variants!.map((v) => [v.index, v.values]));
  return { step: n.step ?? n.id, variants: (n.variants ?? []).map((i) => values.get(i)!) };
}

/** The sweep section of `run --json`. */
export function sweepJson(s: SweepResult): Record<string, unknown> {
  return {
    variants: s.variants.map((v) => ({
      index: v.index,
      values: v.values,
      label: v.label,
      ...(v.score !== undefined ? { score: v.score } : {}),
      selected: v.selected,
      metrics: v.metrics,
    })),
    ...(s.select ? { select: { metric: s.select.metric, on: s.select.on ?? null, mode: s.select.mode } } : {}),
    ...(s.selected !== undefined ? { selected: s.selected } : {}),
    ...(s.note ? { selectNote: s.note } : {}),
    ...(s.overfit ? { overfit: s.overfit } : {}),
    ...(s.halving ? { halving: s.halving } : {}),
  };
}

/** A board from a run's recorded variants. */
export function boardOfStored(vs: StoredVariant[], overfit?: SweepOverfit): Board {
  const sel = vs[0]?.select ?? undefined;
  return {
    ...(overfit ? { overfit } : {}),
    names: vs.length ? Object.keys(vs[0].values) : [],
    variants: vs,
    ...(sel ? { selectLabel: sel, mode: /\(min\)$/.test(sel) ? ('min' as const) : ('max' as const), headStep: sel.split('.')[0] } : {}),
  };
}
