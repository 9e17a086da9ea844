import type { ArtifactType } from '../core/artifacts.js';
import type { AnyStepDef } from './define.js';

/** Step kinds by name. The built-ins are registered by `builtinRegistry()`; plugins add theirs. */
export class StepRegistry {
  private readonly defs = new Map<string, AnyStepDef>();

  register(def: AnyStepDef): this {
    if (this.defs.has(def.kind)) throw new Error(`step kind ${def.kind} is registered twice`);
    this.defs.set(def.kind, def);
    return this;
  }

  get(kind: string): AnyStepDef | undefined {
    return this.defs.get(kind);
  }

  kinds(): string[] {
    return [...this.defs.keys()].sort();
  }

  /** Kinds whose output is the given type (for "connect a step that produces …" hints). */
  producersOf(type: ArtifactType): string[] {
    return [...this.defs.values()]
      .filter((d) => d.output === type)
      .map((d) => d.kind)
      .sort();
  }
}
