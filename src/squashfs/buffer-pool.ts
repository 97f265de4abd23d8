/**
 * Recycled read buffers for the data path. Every fresh ArrayBuffer counts towards V8's
 * external-memory trigger (a full GC per ~64 MiB allocated) and costs page faults to
 * zero it, so the compressed bytes of data and fragment blocks are read into buffers
 * that go back to a pool once nothing reads them any more. Only compressed input lives
 * here: decoded output is handed downstream and is never recycled.
 *
 * A buffer is reused only after `release`; the owner must release it after the last
 * decode that reads it has settled, and must not hand out views of it.
 */
export interface PooledBuffer {
  /** The bytes asked for (a view of the pooled buffer, or a fresh one when too large). */
  readonly bytes: Uint8Array;
  /** Gives the buffer back; a second call is a no-op. */
  release(): void;
}

export class BufferPool {
  readonly #size: number;
  readonly #maxFree: number;
  readonly #free: Uint8Array[] = [];
  /** Buffers handed out and not yet released (for tests). */
  outstanding = 0;

  /** Buffers of `size` bytes; at most `maxFree` idle ones are kept, the rest left to the GC. */
  constructor(size: number, maxFree: number) {
    this.#size = size;
    this.#maxFree = maxFree;
  }

  get bufferSize(): number {
    return this.#size;
  }

  /** `length` bytes (≤ the buffer size come from the pool; longer ones are fresh and not kept). */
  acquire(length: number): PooledBuffer {
    if (length > this.#size) return { bytes: new Uint8Array(length), release: noop };
    const whole = this.#free.pop() ?? new Uint8Array(this.#size);
    this.outstanding++;
    let released = false;
    return {
      bytes: whole.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        this.outstanding--;
        if (this.#free.length < this.#maxFree) this.#free.push(whole);
      },
    };
  }
}

function noop(): void {}
