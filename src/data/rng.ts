/**
 * A small seeded PRNG for everything in fxflow that needs randomness: same seed → same stream on
 * every platform (only 32-bit integer ops and IEEE doubles), so cached outputs stay reproducible.
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting RNG, passes PractRand), seeded
 * through splitmix32 so nearby seeds give unrelated streams.
 */
export interface Rng {
  /** Uniform in [0, 1), 32 bits of randomness. */
  next(): number;
  /** Standard normal N(0, 1) (Marsaglia polar method; the second value of each pair is kept). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** A seeded generator; any finite number is a valid seed (integers are the usual choice). */
export function makeRng(seed: number): Rng {
  return new Sfc32(seed);
}

// A class rather than closures: V8 inlines its methods into hot loops (the synthetic generator
// draws ~1M normals per 50k bars).
class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    // Fold the whole double into 32 bits so seeds beyond 2^32 (or negative) still differ.
    const lo = Math.trunc(seed) >>> 0;
    const hi = Math.trunc(seed / 4294967296) >>> 0;
    let s = lo ^ Math.imul(hi ^ 0x9e3779b9, 0x85ebca6b);
    const splitmix32 = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    // Warm-up, as the sfc32 reference does, so the first outputs are well mixed.
    for (let i = 0; i < 12; i++) this.u32();
  }

  private u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    const c = (this.c << 21) | (this.c >>> 11);
    this.c = (c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // Polar method: no trig calls, one log and sqrt per pair.
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
