import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemorySource, ReadAheadSource, SourceError, type ByteSource } from '../../src/source/index.ts';

/** An in-memory backend that counts requests and can fail the next N of them. */
class CountingSource implements ByteSource {
  readonly inner: MemorySource;
  readonly size: number;
  readonly name = 'counting';
  requests: Array<{ offset: number; length: number }> = [];
  failNext = 0;
  failWith: () => Error = () => new SourceError('UAI_SOURCE_HTTP', 'counting: 503', { details: { status: 503, transient: true } });
  inFlight = 0;
  maxInFlight = 0;
  closed = false;

  constructor(bytes: Uint8Array) {
    this.inner = new MemorySource(bytes, 'counting');
    this.size = bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.requests.push({ offset, length });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 2));
      if (this.failNext > 0) {
        this.failNext--;
        throw this.failWith();
      }
      return await this.inner.read(offset, length);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const data = randomBytes(1024 * 1024 + 12345);

/** A backend with readInto that remembers which buffers it was asked to fill. */
class IntoSource extends CountingSource {
  intoCalls = 0;
  readonly buffers = new Set<ArrayBufferLike>();

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    this.intoCalls++;
    this.buffers.add(target.buffer);
    await new Promise((r) => setTimeout(r, 1));
    target.set(await this.inner.read(offset, target.length));
  }
}



/**
 * A cache of two 16 KiB windows over `backend` with a 64 KiB pinned tail, what the
 * release() tests start from; `stream()` reads through ten windows from the start, more
 * than the cache holds, so whatever is evictable is evicted.
 */
function pinnedTail(backend: ByteSource) {
  const window = 16 * 1024;
  const src = new ReadAheadSource(backend, { windowSize: window, readAhead: 0, cacheBytes: 2 * window, tailBytes: 64 * 1024 });
  const fetches = () => src.stats.backendReads;
  const stream = async () => {
    for (let o = 0; o < 10 * window; o += window) {
      if (backend.readInto) await src.readInto(o, new Uint8Array(100));
      else await src.read(o, 100);
    }
  };
  return { window, src, fetches, stream };
}

describe('ReadAheadSource', () => {
  it('answers many small reads with few backend requests, with the right bytes', async () => {
    const backend = new CountingSource(data);
    const src = new ReadAheadSource(backend, { windowSize: 64 * 1024, readAhead: 2, tailBytes: 0 });
    let reads = 0;
    for (let offset = 0; offset < 300_000; offset += 4096) {
      const len = Math.min(4096, data.length - offset);
      expect(Buffer.from(await src.read(offset, len)).equals(data.subarray(offset, offset + len))).toBe(true);
      reads++;
    }
    expect(reads).toBe(74);
    // 300 000 bytes span 5 windows, plus at most 2 read ahead.
    expect(backend.requests.length).toBeLessThanOrEqual(7);
    expect(backend.requests.length).toBeGreaterThanOrEqual(5);
    expect(src.stats.reads).toBe(74);
    await src.close();
    expect(backend.closed).toBe(true);
  });

  it('gets the bytes right at and across window edges, and at the very end', async () => {
    const src = new ReadAheadSource(new CountingSource(data), { windowSize: 1000, readAhead: 0 });
    const cases: Array<[number, number]> = [
      [999, 1], [999, 2], [1000, 1000], [999, 1002], [1, 5000], [0, 0], [data.length - 1, 1], [data.length - 1500, 1500], [12_345, 54_321],
    ];
    for (const [offset, length] of cases) {
      expect(Buffer.from(await src.read(offset, length)).equals(data.subarray(offset, offset + length)), `${offset}+${length}`).toBe(true);
    }
    await expect(src.read(data.length - 1, 2)).rejects.toMatchObject({ code: 'UAI_SOURCE_RANGE' });
    await src.close();
    await expect(src.read(0, 1)).rejects.toMatchObject({ code: 'UAI_SOURCE_CLOSED' });
  });

  it('fetches the windows of one large read in parallel, bounded by concurrency', async () => {
    const backend = new CountingSource(data);
    const src = new ReadAheadSource(backend, { windowSize: 32 * 1024, concurrency: 3, readAhead: 0 });
    const bytes = await src.read(0, 512 * 1024);
    expect(Buffer.from(bytes).equals(data.subarray(0, 512 * 1024))).toBe(true);
    expect(backend.requests.length).toBe(16);
    expect(backend.maxInFlight).toBe(3);
    await src.close();
  });

  it('retries transient failures, and gives up on permanent ones at once', async () => {
    const backend = new CountingSource(data);
    const retried: number[] = [];
    const src = new ReadAheadSource(backend, { windowSize: 4096, retries: 3, retryDelayMs: 1, readAhead: 0, onRetry: (i) => retried.push(i.attempt) });
    backend.failNext = 2;
    expect(Buffer.from(await src.read(100, 10)).equals(data.subarray(100, 110))).toBe(true);
    expect(retried).toEqual([1, 2]);
    expect(src.stats.retries).toBe(2);

    backend.failNext = 10;
    await expect(src.read(50_000, 10)).rejects.toMatchObject({ code: 'UAI_SOURCE_HTTP' });
    expect(src.stats.retries).toBe(5);
    // The failed window is not cached: a later read tries again.
    backend.failNext = 0;
    expect(Buffer.from(await src.read(50_000, 10)).equals(data.subarray(50_000, 50_010))).toBe(true);

    const denied = backend.requests.length;
    backend.failNext = 1;
    backend.failWith = () => new SourceError('UAI_SOURCE_DENIED', 'counting: 403', { details: { status: 403 } });
    await expect(src.read(200_000, 10)).rejects.toMatchObject({ code: 'UAI_SOURCE_DENIED' });
    expect(backend.requests.length).toBe(denied + 1);
    await src.close();
  });

  it('fetches each window of a forward stream once even when cacheBytes is smaller than the read-ahead', async () => {
    const backend = new CountingSource(data);
    const window = 16 * 1024;
    // 4 windows ahead in a cache of 4 windows used to evict the window being read, and every
    // small read then fetched it again; the cache is raised to (readAhead + 2) windows.
    const src = new ReadAheadSource(backend, { windowSize: window, readAhead: 4, cacheBytes: 4 * window, tailBytes: 0 });
    for (let offset = 0; offset < 40 * window; offset += 1000) {
      const len = Math.min(1000, data.length - offset);
      expect(Buffer.from(await src.read(offset, len)).equals(data.subarray(offset, offset + len))).toBe(true);
    }
    const fetched = new Set(backend.requests.map((r) => r.offset));
    expect(fetched.size).toBe(backend.requests.length);
    // Windows 0-40 (the last read crosses into 40) and at most 4 read ahead of it.
    expect(backend.requests.length).toBeLessThanOrEqual(41 + 4);
    await src.close();
  });

  it('readInto: a forward stream recycles its window buffers, and the bytes stay right', async () => {
    const backend = new IntoSource(data);
    const window = 16 * 1024;
    const src = new ReadAheadSource(backend, { windowSize: window, readAhead: 2, tailBytes: 0 });
    const target = new Uint8Array(3000);
    for (let offset = 0; offset + target.length <= 50 * window; offset += target.length) {
      await src.readInto(offset, target);
      expect(Buffer.from(target).equals(data.subarray(offset, offset + target.length))).toBe(true);
    }
    // 50 windows fetched into a handful of buffers (cache of 4 windows, 2 idle ones kept).
    expect(backend.intoCalls).toBeGreaterThanOrEqual(50);
    expect(backend.buffers.size).toBeLessThanOrEqual(8);
    await src.close();
  });

  it('never recycles a window that a read() view or a waiting readInto still uses', async () => {
    const backend = new IntoSource(data);
    const window = 8 * 1024;
    // The smallest cache (3 windows) and random, overlapping, concurrent reads of both
    // kinds: evictions happen while reads wait and while views are held.
    const src = new ReadAheadSource(backend, { windowSize: window, readAhead: 1, concurrency: 3, tailBytes: 0 });
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const views: Array<{ offset: number; bytes: Uint8Array }> = [];
    for (let round = 0; round < 30; round++) {
      const jobs: Array<Promise<void>> = [];
      for (let j = 0; j < 8; j++) {
        const length = 1 + random(3 * window);
        const offset = random(data.length - length);
        if (random(2) === 0) {
          jobs.push(
            src.read(offset, length).then((bytes) => {
              views.push({ offset, bytes });
            }),
          );
        } else {
          const target = new Uint8Array(length);
          jobs.push(
            src.readInto(offset, target).then(() => {
              expect(Buffer.from(target).equals(data.subarray(offset, offset + length))).toBe(true);
            }),
          );
        }
      }
      await Promise.all(jobs);
    }
    // Views handed out earlier still hold their bytes after all that recycling.
    for (const v of views) expect(Buffer.from(v.bytes).equals(data.subarray(v.offset, v.offset + v.bytes.length))).toBe(true);
    expect(backend.intoCalls).toBeGreaterThan(0);
    await src.close();
  });

  it('honours prefetch hints and keeps the tail (SquashFS tables) cached', async () => {
    const backend = new CountingSource(data);
    const src = new ReadAheadSource(backend, { windowSize: 16 * 1024, readAhead: 0, cacheBytes: 128 * 1024, tailBytes: 32 * 1024 });
    src.prefetch([{ offset: 500_000, length: 40_000 }]);
    await new Promise((r) => setTimeout(r, 50));
    const afterPrefetch = backend.requests.length;
    expect(afterPrefetch).toBe(3);
    expect(Buffer.from(await src.read(510_000, 20_000)).equals(data.subarray(510_000, 530_000))).toBe(true);
    expect(backend.requests.length).toBe(afterPrefetch);

    // Read the tail, then stream far more than the cache holds: the tail stays.
    const tailOffset = data.length - 20_000;
    await src.read(tailOffset, 20_000);
    const afterTail = backend.requests.length;
    for (let o = 0; o < 400_000; o += 16 * 1024) await src.read(o, 100);
    const afterStream = backend.requests.length;
    expect(afterStream).toBeGreaterThan(afterTail);
    expect(Buffer.from(await src.read(tailOffset, 20_000)).equals(data.subarray(tailOffset))).toBe(true);
    expect(backend.requests.length).toBe(afterStream);
    // …while an evicted early window is fetched again.
    await src.read(0, 100);
    expect(backend.requests.length).toBe(afterStream + 1);
    await src.close();
  });

  it('release(): frees pinned tail windows (their buffers serve later fetches) and stops pinning the tail', async () => {
    const backend = new IntoSource(data);
    const { window, src, fetches, stream } = pinnedTail(backend);
    // Read the whole 64 KiB tail (five windows, the first only partly inside it).
    const tailStart = data.length - 64 * 1024;
    const tailWindows = Math.floor((data.length - 1) / window) - Math.floor(tailStart / window) + 1;
    const target = new Uint8Array(64 * 1024);
    await src.readInto(tailStart, target);
    expect(fetches()).toBe(tailWindows);
    // Pinned: streaming far more than the cache holds does not evict it.
    await stream();
    await src.readInto(tailStart, target);
    expect(fetches()).toBe(tailWindows + 10);
    const buffersBefore = backend.buffers.size;

    src.release([{ offset: tailStart, length: data.length - tailStart }]);
    // Released: read again, the tail is fetched anew (only the window that straddles the
    // range's start was kept, now evictable), mostly into the freed window buffers: three
    // full windows were freed, two idle buffers are kept, so one buffer is new.
    await src.readInto(tailStart, target);
    expect(Buffer.from(target).equals(data.subarray(tailStart))).toBe(true);
    expect(fetches()).toBe(2 * tailWindows + 10 - 1);
    expect(backend.buffers.size).toBe(buffersBefore + 1);
    // …and is no longer pinned: a stream evicts it like any window.
    await stream();
    const afterSecondStream = fetches();
    await src.readInto(data.length - 100, new Uint8Array(100));
    expect(fetches()).toBe(afterSecondStream + 1);
    await src.close();
  });

  it('release(): a window that only overlaps the range stays readable and becomes evictable; pinned ones outside stay', async () => {
    const { window, src, fetches, stream } = pinnedTail(new CountingSource(data));
    const lastWindow = Math.floor((data.length - 1) / window) * window;
    // Pin the last four windows: a, b, c (full) and the short last one.
    const a = lastWindow - 3 * window;
    await src.read(a, data.length - a);
    const pinned = fetches();
    // Release from inside a to the end of b: a only overlaps, b is wholly inside, c and the
    // last window are outside.
    src.release([{ offset: a + 100, length: 2 * window - 100 }]);
    expect(Buffer.from(await src.read(a, 100)).equals(data.subarray(a, a + 100))).toBe(true);
    expect(fetches()).toBe(pinned);
    await src.read(a + window, 100);
    expect(fetches()).toBe(pinned + 1); // b was dropped
    // Stream more than the cache holds: a (now evictable) goes, c and the last stay pinned.
    await stream();
    const streamed = fetches();
    await src.read(a + 2 * window, 100);
    await src.read(data.length - 100, 100);
    expect(fetches()).toBe(streamed);
    await src.read(a, 100);
    expect(fetches()).toBe(streamed + 1);
    await src.close();
  });

  it('release(): a range that reaches the end unpins the whole tail, windows before the range too', async () => {
    const { window, src, fetches, stream } = pinnedTail(new CountingSource(data));
    const tailStart = data.length - 64 * 1024;
    await src.read(tailStart, 64 * 1024);
    // Only the last window is released, as when a reader's tables start late in the tail.
    const lastWindow = Math.floor((data.length - 1) / window) * window;
    src.release([{ offset: lastWindow, length: data.length - lastWindow }]);
    await stream();
    const streamed = fetches();
    await src.read(tailStart, 100);
    expect(fetches()).toBe(streamed + 1);
    await src.close();
  });

  it('reads ahead for a forward stream even when reads of the tail tables interleave', async () => {
    const backend = new CountingSource(data);
    const window = 16 * 1024;
    const src = new ReadAheadSource(backend, { windowSize: window, readAhead: 2, tailBytes: 64 * 1024 });
    const tail = data.length - 5000;
    for (let w = 0; w < 20; w++) {
      expect(Buffer.from(await src.read(w * window + 100, 200)).equals(data.subarray(w * window + 100, w * window + 300))).toBe(true);
      await src.read(tail - (w % 3) * 1000, 500);
    }
    // Only the first two stream windows (and the first tail read) find nothing under way.
    expect(src.stats.reads).toBe(40);
    expect(src.stats.hits).toBeGreaterThanOrEqual(36);
    await src.close();
  });

  it('lets one reader abort without failing others waiting on the same window', async () => {
    const backend = new CountingSource(data);
    const src = new ReadAheadSource(backend, { windowSize: 64 * 1024, readAhead: 0 });
    const controller = new AbortController();
    const a = src.read(0, 10, { signal: controller.signal });
    const b = src.read(5, 10);
    controller.abort(new Error('stop'));
    await expect(a).rejects.toThrow('stop');
    expect(Buffer.from(await b).equals(data.subarray(5, 15))).toBe(true);
    expect(backend.requests.length).toBe(1);
    await src.close();
  });
});
