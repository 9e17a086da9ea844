import { describe, expect, it } from 'vitest';
import { selectBackend, type Tf } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import { adamStep, type AdamOptions } from '../../src/models/nn/train.js';

/**
 * adamStep's JavaScript update (wasm, cpu) against its tfjs-ops update (`impl: 'tfjs'`, the
 * reference): the same float32 arithmetic, so the weights and moments must be bit-identical.
 */

const SHAPES = [[5, 3], [3], [2, 4, 2], [1]];

function run(tf: Tf, o: AdamOptions, impl: 'auto' | 'tfjs'): Float32Array[] {
  const rng = makeRng(1);
  const vars = SHAPES.map((s, i) =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        s,
      ),
      true,
      `adamtest/${impl}/${i}`,
    ),
  );
  const adam = adamStep(tf, vars, o, undefined, impl);
  for (let step = 0; step < 6; step++) {
    // Large gradients some steps, so that clipping scales them.
    const grads = vars.map((v) =>
      tf.tensor(
        Float32Array.from({ length: v.size }, () => (step % 2 ? 5 : 0.1) * rng.normal()),
        v.shape,
      ),
    );
    adam.apply(grads, 0.01 * (1 + step), step);
    tf.dispose(grads);
  }
  const out = [...vars.map((v) => v.dataSync() as Float32Array), ...adam.moments(vars.map((_, i) => String(i))).map((w) => w.data)];
  adam.dispose();
  tf.dispose(vars);
  return out;
}

describe('adamStep: the JavaScript update is bit-identical to the tfjs ops', () => {
  const cases: AdamOptions[] = [
    { optimizer: 'adam', weightDecay: 0, clipNorm: 0 },
    { optimizer: 'adam', weightDecay: 0, clipNorm: 1 },
    { optimizer: 'adamw', weightDecay: 0.1, clipNorm: 0.5 },
  ];
  it.each(['wasm', 'cpu'])('on %s: adam, adam with clipping, adamw with clipping', async (backend) => {
    const { tf } = await selectBackend('cpu');
    await tf.setBackend(backend);
    try {
      for (const o of cases) {
        const a = run(tf, o, 'auto');
        const b = run(tf, o, 'tfjs');
        expect(a.length).toBe(b.length);
        a.forEach((x, i) =>
          expect(
            Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength)),
            `${o.optimizer} clip ${o.clipNorm} #${i}`,
          ).toBe(true),
        );
      }
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
