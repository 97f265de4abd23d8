/**
 * One pass over a layer stream feeding several consumers. Each chunk is handed to every
 * live consumer; the source is read on only when all of them have taken the previous
 * chunk (backpressure: the slowest destination sets the pace, memory stays one chunk per
 * branch). A consumer that fails or stops is detached and the others go on; the caller
 * then retries that destination alone from `layer.open()`.
 */
class Branch implements AsyncIterableIterator<Uint8Array> {
  #slot: Uint8Array | undefined;
  #offered: (() => void) | undefined;
  #waiting: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #error: { err: unknown } | undefined;
  detached = false;

  offer(chunk: Uint8Array): Promise<void> {
    if (this.detached) return Promise.resolve();
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w.resolve({ value: chunk, done: false });
      return Promise.resolve();
    }
    this.#slot = chunk;
    return new Promise((resolve) => {
      this.#offered = resolve;
    });
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  fail(err: unknown): void {
    this.#error = { err };
    this.#wake();
  }

  detach(): void {
    this.detached = true;
    this.#slot = undefined;
    const offered = this.#offered;
    this.#offered = undefined;
    offered?.();
  }

  #wake(): void {
    const w = this.#waiting;
    if (!w) return;
    this.#waiting = undefined;
    if (this.#error) w.reject(this.#error.err);
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#slot !== undefined) {
      const value = this.#slot;
      this.#slot = undefined;
      const offered = this.#offered;
      this.#offered = undefined;
      offered?.();
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) return Promise.reject(this.#error.err);
    if (this.#ended || this.detached) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export interface TeeOutcome<T> {
  /** One settled result per consumer, in order. */
  results: PromiseSettledResult<T>[];
  /** Set when the source itself failed (then no consumer should retry alone). */
  sourceError?: { error: unknown };
}

/**
 * Reads `source` once and feeds each consumer its own iterable of the same chunks.
 * Resolves when the source is done and every consumer has settled.
 */
export async function tee<T>(
  source: AsyncIterable<Uint8Array>,
  consumers: ReadonlyArray<(stream: AsyncIterable<Uint8Array>) => Promise<T>>,
  options: { signal?: AbortSignal } = {},
): Promise<TeeOutcome<T>> {
  const branches = consumers.map(() => new Branch());
  const settled = consumers.map((consume, i) => {
    const branch = branches[i]!;
    return Promise.resolve()
      .then(() => consume(branch))
      .finally(() => branch.detach());
  });
  // Observed now: a consumer may fail long before allSettled below is reached.
  for (const p of settled) p.catch(() => undefined);
  let sourceError: { error: unknown } | undefined;
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (branches.every((b) => b.detached)) break;
      const step = await iterator.next();
      if (step.done) break;
      await Promise.all(branches.map((b) => b.offer(step.value)));
    }
    for (const b of branches) b.end();
  } catch (error) {
    sourceError = { error };
    for (const b of branches) b.fail(error);
  } finally {
    if (sourceError || branches.every((b) => b.detached)) await iterator.return?.().catch(() => undefined);
  }
  const results = await Promise.allSettled(settled);
  return sourceError ? { results, sourceError } : { results };
}
