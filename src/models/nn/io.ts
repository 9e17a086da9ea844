import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type * as TfNs from '@tensorflow/tfjs';
import type { NetSpec, WeightValue } from './nets.js';

/**
 * Saving and loading networks without tfjs-node: a tfjs `IOHandler` over a directory holding
 * `model.json` (tfjs's model-artifacts layout: `modelTopology`, `weightsManifest`, `format`,
 * plus our training state under `userDefinedMetadata`) and `weights.bin` (little-endian float32,
 * in manifest order). tfjs-node's `file://` handler is what would otherwise do this, and it needs
 * the native binding.
 *
 * A save is atomic: written to `<dir>.tmp` and renamed, so a process killed mid-save leaves the
 * previous checkpoint intact and never a half one.
 */

export const FORMAT = 'fxflow-nn';

export interface SavedNet {
  /** The architecture: a NetSpec, or another trainable model's (src/models/nn/train.ts Trainable). */
  spec: NetSpec | object;
  weights: WeightValue[];
  /** Anything JSON (training state for checkpoints). */
  meta: Record<string, unknown>;
}

type ModelArtifacts = TfNs.io.ModelArtifacts;
type WeightsManifestEntry = TfNs.io.WeightsManifestEntry;

function toArtifacts(s: SavedNet): ModelArtifacts {
  const total = s.weights.reduce((a, w) => a + w.data.length, 0);
  const buf = new Float32Array(total);
  let o = 0;
  const specs: WeightsManifestEntry[] = s.weights.map((w) => {
    buf.set(w.data, o);
    o += w.data.length;
    return { name: w.name, shape: w.shape, dtype: 'float32' };
  });
  return {
    modelTopology: { fxflow: s.spec } as unknown as ModelArtifacts['modelTopology'],
    format: FORMAT,
    generatedBy: 'fxflow',
    weightSpecs: specs,
    weightData: buf.buffer,
    userDefinedMetadata: s.meta as ModelArtifacts['userDefinedMetadata'],
  };
}

function fromArtifacts(a: ModelArtifacts): SavedNet {
  if (a.format !== FORMAT) throw new Error(`not an fxflow network (format ${String(a.format)})`);
  const spec = (a.modelTopology as unknown as { fxflow: NetSpec }).fxflow;
  const data = a.weightData;
  const bytes = Array.isArray(data) ? concat(data) : (data as ArrayBuffer);
  const all = new Float32Array(bytes);
  let o = 0;
  const weights = (a.weightSpecs ?? []).map((s) => {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const w: WeightValue = { name: s.name, shape: s.shape.slice(), data: all.slice(o, o + n) };
    o += n;
    return w;
  });
  if (o !== all.length) throw new Error(`weights.bin holds ${all.length} floats, the manifest ${o}`);
  return { spec, weights, meta: (a.userDefinedMetadata ?? {}) as Record<string, unknown> };
}

function concat(parts: ArrayBuffer[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), o);
    o += p.byteLength;
  }
  return out.buffer;
}

/** A tfjs IOHandler reading and writing `dir/model.json` + `dir/weights.bin`. */
export function dirHandler(dir: string): TfNs.io.IOHandler {
  return {
    async save(a: ModelArtifacts): Promise<TfNs.io.SaveResult> {
      const tmp = `${dir}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      const data = a.weightData;
      const bytes = new Uint8Array(Array.isArray(data) ? concat(data) : (data as ArrayBuffer));
      writeFileSync(path.join(tmp, 'weights.bin'), bytes);
      const json = {
        format: a.format,
        generatedBy: a.generatedBy,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
        userDefinedMetadata: a.userDefinedMetadata,
      };
      writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
    },
    async load(): Promise<ModelArtifacts> {
      const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
        format: string;
        generatedBy?: string;
        modelTopology: unknown;
        weightsManifest: { paths: string[]; weights: WeightsManifestEntry[] }[];
        userDefinedMetadata?: Record<string, unknown>;
      };
      const specs: WeightsManifestEntry[] = [];
      const bufs: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const b = readFileSync(path.join(dir, p));
          bufs.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
      return {
        format: json.format,
        generatedBy: json.generatedBy,
        modelTopology: json.modelTopology as ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData: bufs.length === 1 ? bufs[0] : concat(bufs),
        userDefinedMetadata: json.userDefinedMetadata as ModelArtifacts['userDefinedMetadata'],
      };
    },
  };
}

/** Saves a network through an IOHandler (dirHandler, or any tfjs handler that takes JSON topology). */
export async function saveNet(handler: TfNs.io.IOHandler, s: SavedNet): Promise<void> {
  if (!handler.save) throw new Error('this IOHandler cannot save');
  await handler.save(toArtifacts(s));
}

/** Loads a network saved by `saveNet`. */
export async function loadNet(handler: TfNs.io.IOHandler): Promise<SavedNet> {
  if (!handler.load) throw new Error('this IOHandler cannot load');
  return fromArtifacts(await handler.load());
}

/** Whether `dir` holds a complete save. */
export function isSaved(dir: string): boolean {
  return existsSync(path.join(dir, 'model.json')) && existsSync(path.join(dir, 'weights.bin'));
}
