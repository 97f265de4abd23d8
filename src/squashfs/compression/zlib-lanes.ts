/**
 * Long-lived node:zlib decoder streams ("lanes") for the async path of gzip and zstd: one
 * lane per block in flight, `reset()` between blocks, so a block no longer costs a new
 * stream, a new zlib context (state and window) and their teardown. node:zlib has no public
 * call that runs one block through a reused context, so this drives the documented stream
 * API:
 *
 * - the block is one `write()`; the stream's `flush` option makes every write final
 *   (inflate's `Z_FINISH`, zstd's `ZSTD_e_end`), so a block that ends early is an
 *   "unexpected end of file" error, as with the one-shot calls. A block that fills the
 *   output buffer exactly takes two trips through the libuv pool: node:zlib asks the
 *   codec once more when no output space is left, and finds the end;
 * - output arrives as `'data'` events before the write's callback; it is counted as it
 *   arrives and the lane is destroyed once it passes `maxOutput` (node:zlib checks
 *   `destroyed` before it hands out more), so a bomb stops a chunk past the limit;
 * - `bytesWritten` (input consumed) tells whether bytes followed the end of an inflate
 *   stream: node:zlib then ends the readable side, so that lane is retired, not reused
 *   (zstd reads such bytes as the start of another frame, see zstd.ts);
 * - any error destroys the lane; the next block gets a new one.
 *
 * Output comes in `chunkSize` (= block size) buffers that a stream fills one after the
 * other. A lane is reused only after a block that filled its buffer exactly, so every block
 * starts a buffer of its own and comes back in one piece; a shorter block (a fragment
 * block, a file's last block) retires its lane, since the rest of its buffer would take
 * the start of the next block. Images of large files reuse lanes; images of small files,
 * whose blocks are mostly fragment blocks, decode about as before.
 */
import type { Transform, TransformOptions } from 'node:stream';
import type { ZlibOptions } from 'node:zlib';
import type { CompressorName } from './decompressor.ts';
import { checkMaxOutput, decompressError } from './fail.ts';

/** What a lane needs from a node:zlib stream (Inflate, ZstdDecompress). */
type ZlibDecoder = Transform & { reset(): void; readonly bytesWritten: number };

/** Makes a decoder stream that writes its output in chunks of `chunkSize` bytes. */
export type ZlibDecoderFactory = (chunkSize: number) => ZlibDecoder;

/**
 * Stream options for a lane: output in `chunkSize` pieces, and room for a whole block in
 * the readable buffer so the stream never holds a write back waiting for a reader.
 */
export function laneOptions(chunkSize: number, extra: ZlibOptions = {}): ZlibOptions {
  const stream: Pick<TransformOptions, 'readableHighWaterMark'> = { readableHighWaterMark: 2 * chunkSize };
  return { ...extra, chunkSize, ...stream };
}

/** Idle lanes kept per decompressor: the SquashFS reader keeps up to 32 blocks in flight. */
const MAX_IDLE = 32;

interface Job {
  readonly max: number;
  readonly chunks: Buffer[];
  length: number;
  settle(err: Error | undefined, out?: Uint8Array): void;
}

class Lane {
  readonly chunkSize: number;
  readonly #stream: ZlibDecoder;
  #job: Job | undefined;
  /** False once the stream errored, ended or was destroyed: never handed out again. */
  usable = true;

  constructor(factory: ZlibDecoderFactory, chunkSize: number) {
    this.chunkSize = chunkSize;
    this.#stream = factory(chunkSize);
    this.#stream.on('data', (chunk: Buffer) => this.#data(chunk));
    this.#stream.on('error', (err: Error) => this.#fail(err));
    // Any other end node:zlib decides on (the check in `run` covers trailing bytes).
    this.#stream.on('end', () => {
      this.usable = false;
    });
  }

  run(input: Uint8Array, max: number, settle: Job['settle']): void {
    const job: Job = { max, chunks: [], length: 0, settle };
    this.#job = job;
    const consumedBefore = this.#stream.bytesWritten;
    this.#stream.write(input, (err) => {
      if (this.#job !== job) return; // already settled by 'data' (over the limit) or 'error'
      if (err) return this.#fail(err);
      if (this.#stream.readableLength > 0) {
        // Output still buffered in the stream: not how node:zlib delivers it in flowing
        // mode, so refuse rather than return part of a block.
        return this.#fail(new Error('decoder output was not delivered with its block'));
      }
      this.#job = undefined;
      // Retired instead of reset:
      // - after bytes that followed the end of the compressed stream: the output stands
      //   (as with the one-shot call), but node:zlib has ended this stream;
      // - after a block shorter than a chunk: the rest of that chunk would take the start
      //   of the next block, which would then come in two pieces to be joined.
      if (this.#stream.bytesWritten - consumedBefore < input.length || job.length % this.chunkSize !== 0) this.retire();
      else this.#stream.reset();
      job.settle(undefined, job.chunks.length === 1 ? job.chunks[0]! : Buffer.concat(job.chunks, job.length));
    });
  }

  #data(chunk: Buffer): void {
    const job = this.#job;
    if (!job) return;
    job.length += chunk.length;
    if (job.length > job.max) {
      this.#fail(new Error(`output passes the limit of ${job.max} bytes`));
      return;
    }
    job.chunks.push(chunk);
  }

  #fail(err: Error): void {
    this.retire();
    const job = this.#job;
    this.#job = undefined;
    job?.settle(err);
  }

  /**
   * Out of use at once; the stream (and its zlib context) is destroyed a microtask later,
   * rather than at the next GC. Most retirements happen inside the stream's own write
   * callback, and a stream destroyed there makes node:stream build an ERR_STREAM_DESTROYED
   * (with its stack trace) for its finish callbacks: ~0.1 s of main-thread time over the
   * 6,000 short blocks of the bench rootfs. A bomb still stops: the microtask runs before
   * node:zlib's next round, which finds the stream destroyed.
   */
  retire(): void {
    this.usable = false;
    if (!this.#stream.destroyed) queueMicrotask(() => this.#stream.destroy());
  }
}

/** A set of lanes for one decompressor (one image): lanes are made on demand and reused. */
export class ZlibLanes {
  readonly #codec: CompressorName;
  readonly #factory: ZlibDecoderFactory;
  readonly #reason: string;
  readonly #idle: Lane[] = [];
  #closed = false;
  /** Lanes made so far (tests check that blocks reuse them). */
  created = 0;

  constructor(codec: CompressorName, factory: ZlibDecoderFactory, reason: string) {
    this.#codec = codec;
    this.#factory = factory;
    this.#reason = reason;
  }

  /** Decodes one block of at most `maxOutput` bytes; the input is not read after the promise settles. */
  decode(input: Uint8Array, maxOutput: number): Promise<Uint8Array> {
    // One promise per block; a bad `maxOutput` thrown in the executor becomes its rejection.
    return new Promise((resolve, reject) => {
      checkMaxOutput(this.#codec, maxOutput);
      const lane = this.#take(Math.max(64, maxOutput));
      lane.run(input, maxOutput, (err, out) => {
        if (lane.usable && !this.#closed && this.#idle.length < MAX_IDLE) this.#idle.push(lane);
        else lane.retire();
        if (err) reject(decompressError(this.#codec, this.#reason, err));
        else resolve(out!);
      });
    });
  }

  /** Destroys the idle lanes; blocks in flight finish, and their lanes are destroyed then. */
  close(): void {
    this.#closed = true;
    for (const lane of this.#idle.splice(0)) lane.retire();
  }

  #take(chunkSize: number): Lane {
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const lane = this.#idle[i]!;
      if (!lane.usable) this.#idle.splice(i, 1)[0]!.retire();
      else if (lane.chunkSize === chunkSize) {
        this.#idle.splice(i, 1);
        return lane;
      }
    }
    this.created++;
    return new Lane(this.#factory, chunkSize);
  }
}
