/**
 * gzip that uses every core while the input streams, pigz style: the input is cut into
 * blocks (1 MiB by default), each block is raw-deflated on the libuv threadpool (node:zlib
 * async calls) with the previous 32 KiB of input as its dictionary, every block but the
 * last ends with a sync flush (byte-aligned, not final), the last with a final block.
 * The pieces join into ONE valid deflate stream inside one gzip member; the CRC-32 runs
 * over the input as it passes (node:zlib crc32) and ISIZE is the length mod 2^32.
 * Output is deterministic for a given input, block size and level (mtime 0, OS 255).
 */
import { availableParallelism } from 'node:os';
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';

export interface ParallelGzipOptions {
  /** 0-9, default `DEFAULT_GZIP_LEVEL` (1, as go-containerregistry/crane). */
  level?: number;
  /** Input bytes per independently compressed block (default 1 MiB, minimum 32 KiB). */
  blockSize?: number;
  /** Blocks compressed at the same time (default `defaultGzipConcurrency()`, at least 2). */
  concurrency?: number;
  signal?: AbortSignal;
}

const WINDOW = 32 * 1024;

/**
 * Level 1 (zlib's fastest), the default of go-containerregistry (crane, ko) for the layers
 * it compresses: on a rootfs tar here it deflates ~3x faster than level 6 for a ~5 %
 * larger output (docs/performance.md), and a UAI layer is pushed to a registry on the
 * same network, where the time to compress is what the admin waits for.
 */
export const DEFAULT_GZIP_LEVEL = 1;

/**
 * Blocks in flight by default: twice the cores the libuv pool can use (its
 * UV_THREADPOOL_SIZE threads, 4 unless set), so a pool thread that finishes a block always
 * finds the next one queued, even behind the SquashFS reader's inflate jobs in the same
 * pool. With one block per core, `build --compression gzip` took 16.7-18.3 s on rootfs and
 * 20.7-24.1 s on the 1 GiB image; with two, 15.1-15.6 s and 17.9-19.6 s (3 alternated
 * pairs each, 2 cores), for 1 MiB of input and its output per extra block in flight.
 */
export function defaultGzipConcurrency(): number {
  const poolThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return 2 * Math.min(availableParallelism(), poolThreads);
}

function deflateBlock(input: Uint8Array, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(input, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function header(level: number): Uint8Array {
  // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL (2 = best, 4 = fastest) OS=255 (unknown), as Go's gzip writer.
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]);
}

function trailer(crc: number, length: number): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(length % 0x1_0000_0000, 4);
  return out;
}

/** gzip-compresses an async stream of bytes in parallel; yields one gzip member. */
export async function* parallelGzip(input: AsyncIterable<Uint8Array>, options: ParallelGzipOptions = {}): AsyncGenerator<Uint8Array> {
  const level = options.level ?? DEFAULT_GZIP_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level ${level} is not 0-9`);
  const blockSize = Math.max(WINDOW, options.blockSize ?? 1024 * 1024);
  const concurrency = Math.max(2, options.concurrency ?? defaultGzipConcurrency());
  const signal = options.signal;

  let crc = 0;
  let length = 0;
  const pending: Array<Promise<Buffer>> = [];
  let previousTail: Uint8Array | undefined;

  const submit = (block: Uint8Array, last: boolean): void => {
    // memLevel 9 (zlib's maximum, 256 KiB of hash chains per call instead of 128 KiB):
    // 15-25 % faster at level 1 on rootfs tars here, and slightly smaller output.
    const opts: ZlibOptions = { level, memLevel: 9, finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH };
    if (previousTail && level > 0) opts.dictionary = previousTail;
    const p = deflateBlock(block, opts);
    p.catch(() => {}); // observed when awaited in order; avoid unhandled rejections meanwhile
    pending.push(p);
    previousTail = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : concatTail(previousTail, block);
  };

  yield header(level);
  // Input is copied once, into the block being filled: the producer may reuse its buffers
  // once we ask for the next chunk, and a block goes to the threadpool as one buffer.
  let block = Buffer.allocUnsafe(blockSize);
  let have = 0;
  for await (const chunk of input) {
    signal?.throwIfAborted();
    if (chunk.length === 0) continue;
    crc = crc32(chunk, crc);
    length += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      // A full block is sent only once more input exists, so the last block is known to be last.
      if (have === blockSize) {
        submit(block, false);
        block = Buffer.allocUnsafe(blockSize);
        have = 0;
        while (pending.length >= concurrency) yield await pending.shift()!;
      }
      const take = Math.min(blockSize - have, chunk.length - offset);
      block.set(chunk.subarray(offset, offset + take), have);
      have += take;
      offset += take;
    }
    while (pending.length > 0 && pending.length >= concurrency) yield await pending.shift()!;
  }
  signal?.throwIfAborted();
  submit(block.subarray(0, have), true);
  while (pending.length > 0) yield await pending.shift()!;
  yield trailer(crc, length);
}

function concatTail(previous: Uint8Array | undefined, block: Uint8Array): Uint8Array {
  if (!previous) return block;
  const joined = Buffer.concat([previous, block]);
  return joined.subarray(Math.max(0, joined.length - WINDOW));
}
