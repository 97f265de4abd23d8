/**
 * sha256 and length of a byte stream, learnt while the stream passes through: the layer
 * is never buffered or read twice to get its digest.
 */
import { createHash, type Hash } from 'node:crypto';

export interface StreamDigest {
  /** `sha256:<64 hex>`. */
  digest: string;
  size: number;
}

export class DigestCounter {
  readonly #hash: Hash = createHash('sha256');
  #size = 0;

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }

  get size(): number {
    return this.#size;
  }

  /** The final digest; the counter cannot be updated afterwards. */
  finish(): StreamDigest {
    return { digest: `sha256:${this.#hash.digest('hex')}`, size: this.#size };
  }
}

/**
 * Passes `source` through unchanged and calls `onEnd` with its digest once it has been
 * read to the end (not when the consumer stops early or it fails).
 */
export async function* digestStream(
  source: AsyncIterable<Uint8Array>,
  onEnd: (result: StreamDigest) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const counter = new DigestCounter();
  for await (const chunk of source) {
    counter.update(chunk);
    yield chunk;
  }
  onEnd(counter.finish());
}
