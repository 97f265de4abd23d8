/**
 * The data pipeline of `walkWithData` and `readFile`: it runs ahead of the consumer
 * across files, planning the blocks of the next wanted files while their total
 * decompressed length stays under a budget, reading runs of adjacent blocks with one
 * source read, decompressing them concurrently (the async `decompress`), and handing
 * the pieces out in order. Planning restarts when the budget falls to half, so reads
 * come in large batches. Data the consumer does not read before asking for the next
 * item is discarded and its budget released.
 */
import type { Entry } from './entry.ts';
import type { DataReader, FilePlan } from './data-reader.ts';
import { throwIfAborted } from '../errors.ts';
import { MAX_RUN, planFile } from './data-reader.ts';

export interface ReadAheadOptions {
  wantData: (entry: Entry) => boolean;
  /** Most decompressed bytes planned but not yet consumed. */
  budget: number;
  signal?: AbortSignal;
}

export interface WalkItem {
  entry: Entry;
  data?: AsyncIterable<Uint8Array>;
}

interface Piece {
  length: number;
  /** The bytes when they were at hand while planning (no promise needed). */
  value: Uint8Array | undefined;
  promise: Promise<Uint8Array> | undefined;
}

interface BlockRequest {
  offset: number;
  word: number;
  expected: number;
  resolve: (chunk: Uint8Array) => void;
  reject: (err: unknown) => void;
}

class Item {
  readonly entry: Entry;
  readonly wanted: boolean;
  plan: FilePlan | undefined;
  error: unknown;
  nextBlock = 0;
  diskPos = 0;
  tailPlanned = false;
  fullyPlanned: boolean;
  readonly pieces: Array<Piece | undefined> = [];
  taken = 0;
  discarded = false;

  constructor(entry: Entry, wanted: boolean) {
    this.entry = entry;
    this.wanted = wanted;
    this.fullyPlanned = !wanted;
  }
}

const MAX_ITEMS_AHEAD = 1024;
const noop = (): void => {};

export class ReadAhead {
  readonly #data: DataReader;
  readonly #entries: Iterator<Entry, void, undefined>;
  readonly #options: ReadAheadOptions;
  readonly #budget: number;
  #queue: Array<Item | undefined> = [];
  #head = 0;
  #planIdx = 0;
  #used = 0;
  #walkDone = false;
  #walkError: unknown = undefined;

  constructor(data: DataReader, entries: Iterator<Entry, void, undefined>, options: ReadAheadOptions) {
    this.#data = data;
    this.#entries = entries;
    this.#options = options;
    this.#budget = Math.max(options.budget, data.blockSize);
  }

  /** Every entry in walk order; wanted regular files carry their data. */
  async *run(): AsyncGenerator<WalkItem, void, undefined> {
    const signal = this.#options.signal;
    try {
      while (true) {
        throwIfAborted(signal);
        if (this.#used <= this.#budget / 2 || this.#head >= this.#queue.length) this.#plan();
        const item = this.#queue[this.#head];
        if (!item) {
          if (this.#walkError !== undefined) throw this.#walkError;
          return;
        }
        if (item.error !== undefined) throw item.error;
        if (item.wanted) yield { entry: item.entry, data: this.#dataOf(item) };
        else yield { entry: item.entry };
        this.#discard(item);
        this.#queue[this.#head] = undefined;
        this.#head++;
        if (this.#planIdx < this.#head) this.#planIdx = this.#head;
        if (this.#head >= 4096) {
          this.#queue = this.#queue.slice(this.#head);
          this.#planIdx -= this.#head;
          this.#head = 0;
        }
      }
    } finally {
      for (let i = this.#head; i < this.#queue.length; i++) {
        const item = this.#queue[i];
        if (item) this.#discard(item);
      }
      this.#queue = [];
      this.#head = 0;
      this.#planIdx = 0;
    }
  }

  async *#dataOf(item: Item): AsyncGenerator<Uint8Array, void, undefined> {
    while (!item.discarded) {
      if (item.taken < item.pieces.length) {
        const piece = item.pieces[item.taken]!;
        item.pieces[item.taken] = undefined;
        item.taken++;
        let chunk: Uint8Array;
        try {
          chunk = piece.value ?? (await piece.promise!);
        } finally {
          this.#used -= piece.length;
        }
        if (this.#used <= this.#budget / 2) this.#plan();
        yield chunk;
      } else if (item.fullyPlanned) {
        return;
      } else {
        this.#plan();
        if (item.taken >= item.pieces.length && !item.fullyPlanned) {
          throw new Error('read-ahead made no progress (internal error)');
        }
      }
    }
  }

  #discard(item: Item): void {
    if (item.discarded) return;
    item.discarded = true;
    item.fullyPlanned = true;
    for (let i = item.taken; i < item.pieces.length; i++) {
      const piece = item.pieces[i];
      if (piece) this.#used -= piece.length;
      item.pieces[i] = undefined;
    }
    item.taken = item.pieces.length;
  }

  /** Pulls entries and plans pieces until the budget is used; then issues the reads. */
  #plan(): void {
    const requests: BlockRequest[] = [];
    const blockSize = this.#data.blockSize;
    const signal = this.#options.signal;
    try {
      while (this.#used < this.#budget) {
        const item = this.#queue[this.#planIdx];
        if (!item) {
          if (this.#walkDone || this.#queue.length - this.#head >= MAX_ITEMS_AHEAD) break;
          this.#pull();
          continue;
        }
        if (item.fullyPlanned) {
          this.#planIdx++;
          continue;
        }
        const plan = item.plan!;
        const layout = item.entry.layout!;
        let piece: Piece;
        if (item.nextBlock < plan.blockCount) {
          const i = item.nextBlock++;
          const word = layout.blockSizes[i]!;
          const disk = word & 0x00ff_ffff;
          const expected = i === plan.blockCount - 1 ? plan.lastLength : blockSize;
          if (disk === 0) {
            piece = { length: expected, value: this.#data.zeros(expected), promise: undefined };
          } else {
            let resolve!: (chunk: Uint8Array) => void;
            let reject!: (err: unknown) => void;
            const promise = new Promise<Uint8Array>((res, rej) => {
              resolve = res;
              reject = rej;
            });
            requests.push({ offset: item.diskPos, word, expected, resolve, reject });
            item.diskPos += disk;
            piece = { length: expected, value: undefined, promise };
          }
        } else if (plan.tailLength > 0 && !item.tailPlanned) {
          item.tailPlanned = true;
          const value = this.#data.fragmentTailNow(layout, plan.tailLength);
          piece = { length: plan.tailLength, value, promise: value ? undefined : this.#data.fragmentTail(layout, plan.tailLength, signal) };
        } else {
          item.fullyPlanned = true;
          this.#planIdx++;
          continue;
        }
        piece.promise?.catch(noop);
        item.pieces.push(piece);
        this.#used += piece.length;
      }
    } finally {
      this.#issue(requests);
    }
  }

  #pull(): void {
    let next: IteratorResult<Entry, void>;
    try {
      next = this.#entries.next();
    } catch (err) {
      this.#walkError = err;
      this.#walkDone = true;
      return;
    }
    if (next.done) {
      this.#walkDone = true;
      return;
    }
    const entry = next.value;
    const wanted = entry.type === 'file' && entry.layout !== undefined && this.#options.wantData(entry);
    const item = new Item(entry, wanted);
    if (wanted) {
      try {
        item.plan = planFile(entry.layout!, entry.size, this.#data.blockSize, entry.path);
        item.diskPos = entry.layout!.blocksStart;
      } catch (err) {
        item.error = err;
        item.fullyPlanned = true;
        this.#walkDone = true; // stop at the first broken file
      }
    }
    this.#queue.push(item);
  }

  /** Reads runs of adjacent blocks with one source read each, then decodes each block. */
  #issue(requests: BlockRequest[]): void {
    const signal = this.#options.signal;
    let i = 0;
    while (i < requests.length) {
      const first = requests[i]!;
      let end = first.offset + (first.word & 0x00ff_ffff);
      let j = i + 1;
      while (j < requests.length) {
        const next = requests[j]!;
        const size = next.word & 0x00ff_ffff;
        if (next.offset !== end || end + size - first.offset > MAX_RUN) break;
        end += size;
        j++;
      }
      const group = requests.slice(i, j);
      const start = first.offset;
      this.#data.readRaw(start, end - start, signal).then(
        (raw) => {
          // The run's buffer is recycled once the last of its blocks has been decoded.
          let left = group.length;
          const settled = (): void => {
            if (--left === 0) raw.release();
          };
          for (const r of group) {
            const from = r.offset - start;
            const bytes = raw.bytes.subarray(from, from + (r.word & 0x00ff_ffff));
            const decoded = this.#data.decodeBlock(bytes, r.word, r.expected, r.offset, 'data block', raw.recycled);
            decoded.then(settled, settled);
            decoded.then(r.resolve, r.reject);
          }
        },
        (err: unknown) => {
          for (const r of group) r.reject(err);
        },
      );
      i = j;
    }
  }
}
