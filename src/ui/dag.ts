import { esc } from '../report/svg.js';
import { formatMs } from '../runtime/progress.js';

/**
 * A run's DAG as inline SVG: a column per depth (longest path from a source), a box per step
 * with its state. Every box is `<g class="node" data-step="ID" data-state="STATE">` so the page's
 * script can update a live run in place, and a test can read the states.
 */

export interface DagNode {
  id: string;
  kind: string;
  /** The node ids it reads. */
  inputs: string[];
  /** waiting, running, ok, failed, skipped, cancelled. */
  state: string;
  cached: boolean;
  durationMs?: number;
  fraction?: number;
}

const BOX_W = 180;
const BOX_H = 50;
const GAP_X = 60;
const GAP_Y = 18;
const PAD = 10;
/** Characters of a step id shown in its box (the full id is in its tooltip). */
const ID_CHARS = 22;

export function stateLine(n: Pick<DagNode, 'state' | 'cached' | 'durationMs' | 'fraction'>): string {
  if (n.state === 'ok') return `${n.cached ? 'cached' : 'computed'}${n.durationMs !== undefined ? ` · ${formatMs(n.durationMs)}` : ''}`;
  if (n.state === 'running') return n.cached ? 'reading cache' : n.fraction !== undefined ? `running ${Math.round(n.fraction * 100)}%` : 'running';
  return n.state;
}

export function dagSvg(nodes: readonly DagNode[]): string {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id);
    // A cycle cannot come from a plan; guard anyway so a damaged history cannot hang the page.
    if (!n || seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...n.inputs.filter((i) => byId.has(i)).map((i) => depthOf(i, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  const columns: DagNode[][] = [];
  for (const n of nodes) (columns[depthOf(n.id, new Set())] ??= []).push(n);
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => col.forEach((n, r) => pos.set(n.id, { x: PAD + c * (BOX_W + GAP_X), y: PAD + r * (BOX_H + GAP_Y) })));
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const W = PAD * 2 + Math.max(1, columns.length) * (BOX_W + GAP_X) - GAP_X;
  const H = PAD * 2 + rows * (BOX_H + GAP_Y) - GAP_Y;
  const edges: string[] = [];
  for (const n of nodes) {
    const to = pos.get(n.id)!;
    for (const i of new Set(n.inputs)) {
      const from = pos.get(i);
      if (!from) continue;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      const mx = (x1 + x2) / 2;
      edges.push(`<path class="edge" data-from="${esc(i)}" data-to="${esc(n.id)}" d="M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`);
    }
  }
  const boxes = nodes.map((n) => {
    const { x, y } = pos.get(n.id)!;
    const shown = n.id.length > ID_CHARS ? `${n.id.slice(0, ID_CHARS - 1)}…` : n.id;
    const frac = n.state === 'running' && n.fraction !== undefined ? n.fraction : 0;
    return (
      `<g class="node" data-step="${esc(n.id)}" data-state="${esc(n.state)}" data-cached="${n.cached}" transform="translate(${x},${y})">` +
      `<title>${esc(`${n.id} (${n.kind})`)}</title>` +
      `<rect class="box" width="${BOX_W}" height="${BOX_H}" rx="6"/>` +
      `<rect class="bar" x="1" y="${BOX_H - 5}" width="${Math.round((BOX_W - 2) * frac)}" height="4"/>` +
      `<text class="id" x="10" y="19">${esc(shown)}</text>` +
      `<text class="state" x="10" y="37">${esc(`${n.kind} · ${stateLine(n)}`)}</text></g>`
    );
  });
  return `<svg class="dag" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="the run's steps and their inputs" xmlns="http://www.w3.org/2000/svg">${edges.join('')}${boxes.join('')}</svg>`;
}
