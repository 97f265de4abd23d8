/**
 * A small seeded PRNG (mulberry32) and the pseudo-data pools the benchmark trees are cut
 * from. Everything the harness generates is a pure function of a seed, so two runs on two
 * machines build byte-identical trees and images.
 */

export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** A standard normal variate (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A log-normal variate with the given median and shape: file sizes in a rootfs. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
}

/** Pronounceable pseudo-words: a vocabulary that compresses like configuration and docs. */
function vocabulary(prng: Prng, count: number): string[] {
  const consonants = 'bcdfghjklmnprstvwxz';
  const vowels = 'aeiou';
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const syllables = prng.int(1, 4);
    let word = '';
    for (let s = 0; s < syllables; s++) word += prng.pick([...consonants]) + prng.pick([...vowels]);
    words.push(word);
  }
  return words;
}

/** Text-like bytes: lines of words, numbers and punctuation (gzip ≈ 3:1). */
export function textPool(seed: number, bytes: number): Buffer {
  const prng = new Prng(seed);
  const words = vocabulary(prng, 4000);
  const out = Buffer.alloc(bytes);
  let at = 0;
  while (at < bytes) {
    const parts: string[] = [];
    const n = prng.int(3, 14);
    for (let i = 0; i < n; i++) {
      const r = prng.next();
      parts.push(r < 0.08 ? String(prng.nextU32() % 100000) : r < 0.12 ? `${prng.pick(words)}=` : prng.pick(words));
    }
    const line = `${prng.next() < 0.2 ? '  ' : ''}${parts.join(' ')}${prng.next() < 0.3 ? ';' : ''}\n`;
    at += out.write(line, at);
  }
  return out;
}

/** Binary-like bytes: little records with counters, flags and some noise (gzip ≈ 2:1). */
export function binaryPool(seed: number, bytes: number): Buffer {
  const prng = new Prng(seed);
  const out = Buffer.alloc(bytes);
  let counter = 0;
  for (let at = 0; at + 16 <= bytes; at += 16) {
    out.writeUInt32LE(counter, at);
    counter += prng.next() < 0.9 ? 1 : prng.int(2, 4000);
    out.writeUInt16LE(prng.int(0, 3) * 0x1000, at + 4);
    out.writeUInt16LE(0x4889, at + 6);
    out.writeUInt32LE(prng.next() < 0.5 ? 0 : prng.nextU32(), at + 8);
    out.writeUInt32LE(0xc3c3 + prng.int(0, 15), at + 12);
  }
  return out;
}

/**
 * Fills `out` from a pool: slices at pseudo-random offsets, each 4 KiB run stamped with a
 * running number so no two files (and no two blocks) are identical.
 */
export function fillFromPool(out: Buffer, pool: Buffer, prng: Prng, stamp: number): void {
  const run = 4096;
  for (let at = 0; at < out.length; at += run) {
    const len = Math.min(run, out.length - at);
    const from = prng.int(0, pool.length - len);
    pool.copy(out, at, from, from + len);
    if (len >= 24) out.write(`#${stamp.toString(36)}:${(at / run).toString(36)}\n`, at, 'latin1');
  }
}
