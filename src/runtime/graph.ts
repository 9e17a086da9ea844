import type { Plan } from '../compiler/index.js';

/**
 * The plan's DAG drawn for people: Mermaid (renders in GitHub, GitLab, most Markdown viewers) or
 * Graphviz DOT, each node labelled with its kind and cache state, each edge with its input port.
 */

export type NodeState = 'cached' | 'run';

function esc(s: string): string {
  return s.replace(/"/g, '\\"');
}

/** Mermaid ids must be plain words; step ids may hold `-`. */
function mid(id: string): string {
  return `s_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export function toMermaid(plan: Plan, state: Map<string, NodeState>): string {
  const lines = ['flowchart LR'];
  for (const n of plan.nodes) lines.push(`  ${mid(n.id)}["${esc(n.id)}<br/><small>${esc(n.kind)} · ${state.get(n.id) ?? '?'}</small>"]`);
  for (const n of plan.nodes) for (const [port, src] of Object.entries(n.inputs)) lines.push(`  ${mid(src)} -->|${esc(port)}| ${mid(n.id)}`);
  lines.push('  classDef cached fill:#e6f4ea,stroke:#34a853', '  classDef run fill:#fef7e0,stroke:#f9ab00');
  const byState = (s: NodeState) => plan.nodes.filter((n) => state.get(n.id) === s).map((n) => mid(n.id));
  for (const s of ['cached', 'run'] as const) if (byState(s).length) lines.push(`  class ${byState(s).join(',')} ${s}`);
  return `${lines.join('\n')}\n`;
}

export function toDot(plan: Plan, state: Map<string, NodeState>): string {
  const lines = [`digraph "${esc(plan.spec.name)}" {`, '  rankdir=LR;', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];'];
  for (const n of plan.nodes) {
    const s = state.get(n.id);
    const fill = s === 'cached' ? '#e6f4ea' : '#fef7e0';
    lines.push(`  "${esc(n.id)}" [label="${esc(n.id)}\\n${esc(n.kind)} · ${s ?? '?'}", fillcolor="${fill}"];`);
  }
  for (const n of plan.nodes) for (const [port, src] of Object.entries(n.inputs)) lines.push(`  "${esc(src)}" -> "${esc(n.id)}" [label="${esc(port)}"];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
