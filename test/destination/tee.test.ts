import { describe, expect, it } from 'vitest';
import { tee } from '../../src/destination/tee.ts';

async function* numbers(n: number, log: number[]): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) {
    log.push(i);
    yield Uint8Array.of(i);
  }
}

async function collect(stream: AsyncIterable<Uint8Array>, delayMs = 0): Promise<number[]> {
  const out: number[] = [];
  for await (const c of stream) {
    out.push(c[0]!);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
  return out;
}

describe('tee', () => {
  it('reads the source once and gives every consumer every chunk in order', async () => {
    const produced: number[] = [];
    const { results, sourceError } = await tee(numbers(50, produced), [(s) => collect(s), (s) => collect(s, 1), (s) => collect(s)]);
    expect(sourceError).toBeUndefined();
    const expected = Array.from({ length: 50 }, (_, i) => i);
    expect(produced).toEqual(expected);
    for (const r of results) expect(r).toEqual({ status: 'fulfilled', value: expected });
  });

  it('applies backpressure: the source runs at most one chunk ahead of the slowest consumer', async () => {
    const produced: number[] = [];
    let maxLead = 0;
    const slow = async (s: AsyncIterable<Uint8Array>) => {
      let seen = 0;
      for await (const _ of s) {
        seen++;
        await new Promise((r) => setTimeout(r, 2));
        maxLead = Math.max(maxLead, produced.length - seen);
      }
      return seen;
    };
    await tee(numbers(30, produced), [slow, (s) => collect(s).then((v) => v.length)]);
    expect(maxLead).toBeLessThanOrEqual(2);
  });

  it('detaches a failing consumer; the others finish', async () => {
    const failing = async (s: AsyncIterable<Uint8Array>) => {
      for await (const c of s) if (c[0] === 5) throw new Error('disk full');
      return [];
    };
    const { results } = await tee(numbers(20, []), [failing, (s) => collect(s)]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: 'disk full' }) });
    expect(results[1]).toMatchObject({ status: 'fulfilled', value: Array.from({ length: 20 }, (_, i) => i) });
  });

  it('a consumer failing while the source is slow is not an unhandled rejection', async () => {
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 30));
        yield Uint8Array.of(i);
      }
    }
    const failing = async (s: AsyncIterable<Uint8Array>) => {
      for await (const _ of s) throw new Error('early failure');
      return [];
    };
    const { results } = await tee(slow(), [failing, (s) => collect(s)]);
    expect(results[0]?.status).toBe('rejected');
    expect(results[1]).toEqual({ status: 'fulfilled', value: [0, 1, 2, 3] });
  });

  it('reports a source failure to every consumer and to the caller', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Uint8Array.of(1);
      throw new Error('bad block');
    }
    const { results, sourceError } = await tee(broken(), [(s) => collect(s), (s) => collect(s)]);
    expect((sourceError?.error as Error).message).toBe('bad block');
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
  });

  it('stops reading the source when every consumer has gone', async () => {
    const produced: number[] = [];
    const takeTwo = async (s: AsyncIterable<Uint8Array>) => {
      let n = 0;
      for await (const _ of s) if (++n === 2) break;
      return n;
    };
    await tee(numbers(1000, produced), [takeTwo, takeTwo]);
    expect(produced.length).toBeLessThan(10);
  });
});
