/**
 * Puts headers and file data into large output chunks: no stream object per entry, no
 * small writes. Headers are encoded straight into the current chunk; small data pieces
 * are copied into it; large data pieces (≥ `passThroughBytes`) are handed on as they are
 * (the reader's decompressed blocks are fresh buffers nobody modifies), after the bytes
 * before them. The owner drains finished chunks with `take()` and yields them.
 */
import {
  BLOCK,
  NEED_GID,
  NEED_LINKPATH,
  NEED_PATH,
  NEED_SIZE,
  NEED_UID,
  TYPE_PAX,
  encodeTarHeader,
  type TarHeaderFields,
} from './tar-header.ts';
import { encodePaxRecords, paxNumber, type PaxRecord } from './pax.ts';

export interface TarWriterOptions {
  /** Size of the output chunks; default 1 MiB. */
  chunkSize?: number;
  /** Data pieces at least this long are passed on without a copy; default 64 KiB. */
  passThroughBytes?: number;
}

const PAX_DIR = new TextEncoder().encode('PaxHeaders/');

/** `PaxHeaders/<basename>`, at most 100 bytes: a fixed name, no PID, no counter. */
export function paxHeaderName(name: Uint8Array): Uint8Array {
  let end = name.length;
  if (end > 1 && name[end - 1] === 0x2f) end--;
  let start = name.lastIndexOf(0x2f, end - 1) + 1;
  if (start >= end) start = 0;
  const base = name.subarray(start, end);
  const out = new Uint8Array(Math.min(100, PAX_DIR.length + base.length));
  out.set(PAX_DIR, 0);
  out.set(base.subarray(0, out.length - PAX_DIR.length), PAX_DIR.length);
  return out;
}

export class TarWriter {
  readonly #chunkSize: number;
  readonly #passThrough: number;
  #chunk: Uint8Array;
  #pos = 0;
  #ready: Uint8Array[] = [];
  readonly #scratch = new Uint8Array(BLOCK);
  /** Bytes written so far (headers, data, padding). */
  bytes = 0;

  constructor(options: TarWriterOptions = {}) {
    this.#chunkSize = options.chunkSize ?? 1 << 20;
    this.#passThrough = options.passThroughBytes ?? 64 << 10;
    this.#chunk = new Uint8Array(this.#chunkSize);
  }

  /**
   * One entry's header, preceded by a PAX `x` header when a field does not fit ustar or
   * when `records` (xattrs) are given. Data, if any, follows with `addData` and `endData`.
   */
  addEntry(fields: TarHeaderFields, records: ReadonlyArray<PaxRecord> = []): void {
    const need = encodeTarHeader(fields, this.#scratch, 0);
    if (need !== 0 || records.length > 0) {
      const pax: PaxRecord[] = [];
      if (need & NEED_PATH) pax.push(['path', fields.name]);
      if (need & NEED_LINKPATH && fields.linkname) pax.push(['linkpath', fields.linkname]);
      if (need & NEED_UID) pax.push(['uid', paxNumber(fields.uid)]);
      if (need & NEED_GID) pax.push(['gid', paxNumber(fields.gid)]);
      if (need & NEED_SIZE) pax.push(['size', paxNumber(fields.size)]);
      pax.push(...records);
      const body = encodePaxRecords(pax);
      this.#reserve(BLOCK);
      encodeTarHeader(
        { name: paxHeaderName(fields.name), typeflag: TYPE_PAX, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: fields.mtime },
        this.#chunk,
        this.#pos,
      );
      this.#advance(BLOCK);
      this.#copy(body);
      this.#pad(body.length);
    }
    this.#reserve(BLOCK);
    this.#chunk.set(this.#scratch, this.#pos);
    this.#advance(BLOCK);
  }

  /** File data of the current entry. */
  addData(bytes: Uint8Array): void {
    if (bytes.length >= this.#passThrough) {
      this.#flushPartial();
      this.#ready.push(bytes);
      this.bytes += bytes.length;
    } else {
      this.#copy(bytes);
    }
  }

  /** Pads the current entry's `size` data bytes to a whole block. */
  endData(size: number): void {
    this.#pad(size);
  }

  /** The end-of-archive marker (two zero blocks); everything is then ready to take. */
  finish(): void {
    this.#zeros(2 * BLOCK);
    this.#flushPartial();
  }

  /** Chunks that are complete, in order; the writer no longer touches them. */
  take(): Uint8Array[] {
    const ready = this.#ready;
    if (ready.length === 0) return ready;
    this.#ready = [];
    return ready;
  }

  /** How many bytes are waiting in chunks not yet handed out. */
  get pending(): number {
    let n = this.#pos;
    for (const c of this.#ready) n += c.length;
    return n;
  }

  #pad(size: number): void {
    const rest = size % BLOCK;
    if (rest !== 0) this.#zeros(BLOCK - rest);
  }

  #zeros(count: number): void {
    let left = count;
    while (left > 0) {
      this.#reserve(1);
      const n = Math.min(left, this.#chunk.length - this.#pos);
      this.#chunk.fill(0, this.#pos, this.#pos + n);
      this.#advance(n);
      left -= n;
    }
  }

  #copy(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      this.#reserve(1);
      const n = Math.min(bytes.length - from, this.#chunk.length - this.#pos);
      this.#chunk.set(bytes.subarray(from, from + n), this.#pos);
      this.#advance(n);
      from += n;
    }
  }

  /** Makes room for `n` contiguous bytes (n ≤ BLOCK) in the current chunk. */
  #reserve(n: number): void {
    if (this.#chunk.length - this.#pos >= n) return;
    this.#flushPartial();
    if (this.#chunk.length < n) this.#chunk = new Uint8Array(this.#chunkSize);
  }

  #advance(n: number): void {
    this.#pos += n;
    this.bytes += n;
    if (this.#pos === this.#chunk.length) {
      this.#ready.push(this.#chunk);
      this.#chunk = new Uint8Array(this.#chunkSize);
      this.#pos = 0;
    }
  }

  /** Hands out the filled part of the current chunk and keeps writing into the rest. */
  #flushPartial(): void {
    if (this.#pos === 0) return;
    this.#ready.push(this.#chunk.subarray(0, this.#pos));
    this.#chunk = this.#chunk.subarray(this.#pos);
    this.#pos = 0;
    if (this.#chunk.length === 0) this.#chunk = new Uint8Array(this.#chunkSize);
  }
}
