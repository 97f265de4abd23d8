/**
 * Writes a tar archive straight into its file with positional writes. A streamed entry
 * whose name and size are known only at its end (a layer named by its digest) gets a
 * 512-byte header slot first; the bytes follow, and the header is written into the
 * slot afterwards. So no layer is ever staged in a temporary file or in memory: the
 * archive file itself is the staging area. Sizes ≥ 8 GiB use the GNU base-256 size field
 * (read by GNU tar, Go's archive/tar, containers/image and docker).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DestinationError } from './errors.ts';

const BLOCK = 512;

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new RangeError(`tar header: ${JSON.stringify(value)} does not fit ${length} bytes`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length < length) {
    writeString(buf, offset, length, `${digits.padStart(length - 1, '0')}\0`);
    return;
  }
  // GNU base-256: high bit set, big-endian binary in the rest of the field.
  buf[offset] = 0x80;
  let v = BigInt(value);
  for (let i = offset + length - 1; i > offset; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export interface TarHeaderInput {
  name: string;
  size: number;
  mode?: number;
  mtime?: number;
  type?: 'file' | 'dir';
}

/** One ustar header block (names up to 100 bytes, or 255 split with the prefix field). */
export function tarHeader(input: TarHeaderInput): Buffer {
  const buf = Buffer.alloc(BLOCK);
  let name = input.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new RangeError(`tar header: name too long: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  writeString(buf, 0, 100, name);
  writeOctal(buf, 100, 8, input.mode ?? (input.type === 'dir' ? 0o755 : 0o644));
  writeOctal(buf, 108, 8, 0);
  writeOctal(buf, 116, 8, 0);
  writeOctal(buf, 124, 12, input.type === 'dir' ? 0 : input.size);
  writeOctal(buf, 136, 12, input.mtime ?? 0);
  buf.fill(0x20, 148, 156);
  buf[156] = input.type === 'dir' ? 0x35 : 0x30;
  writeString(buf, 257, 6, 'ustar\0');
  writeString(buf, 263, 2, '00');
  writeString(buf, 345, 155, prefix);
  let sum = 0;
  for (const b of buf) sum += b;
  writeString(buf, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return buf;
}

export class TarFileWriter {
  readonly path: string;
  #handle: FileHandle | undefined;
  #position = 0;
  readonly #mtime: number;

  private constructor(path: string, handle: FileHandle, mtime: number) {
    this.path = path;
    this.#handle = handle;
    this.#mtime = mtime;
  }

  /** Creates (truncates) `path`. `mtime` is every entry's time (the image's created time, for reproducible archives). */
  static async create(path: string, options: { mtime?: number } = {}): Promise<TarFileWriter> {
    try {
      return new TarFileWriter(path, await open(path, 'w', 0o644), options.mtime ?? 0);
    } catch (cause) {
      throw new DestinationError('UAI_DEST_IO', `${path}: cannot create: ${(cause as Error).message}`, { cause, details: { path } });
    }
  }

  async #write(bytes: Uint8Array, position: number): Promise<void> {
    const handle = this.#handle;
    if (!handle) throw new DestinationError('UAI_DEST_STATE', `${this.path}: write after close`);
    let done = 0;
    while (done < bytes.length) {
      try {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
        done += bytesWritten;
      } catch (cause) {
        throw new DestinationError('UAI_DEST_IO', `${this.path}: write at offset ${position + done} failed: ${(cause as Error).message}`, {
          cause,
          details: { path: this.path, offset: position + done },
        });
      }
    }
  }

  async #pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) {
      await this.#write(Buffer.alloc(BLOCK - rest), this.#position);
      this.#position += BLOCK - rest;
    }
  }

  async addDirectory(name: string): Promise<void> {
    await this.#write(tarHeader({ name, size: 0, type: 'dir', mtime: this.#mtime }), this.#position);
    this.#position += BLOCK;
  }

  async addFile(name: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
    await this.#write(tarHeader({ name, size: bytes.length, mode, mtime: this.#mtime }), this.#position);
    this.#position += BLOCK;
    await this.#write(bytes, this.#position);
    this.#position += bytes.length;
    await this.#pad(bytes.length);
  }

  /**
   * Streams an entry whose name is decided after its bytes (`nameAfter()` is called at
   * the end, e.g. to name a blob by the digest its stream produced).
   */
  async addStream(stream: AsyncIterable<Uint8Array>, nameAfter: (size: number) => string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const headerAt = this.#position;
    this.#position += BLOCK;
    let size = 0;
    try {
      for await (const chunk of stream) {
        options.signal?.throwIfAborted();
        await this.#write(chunk, this.#position + size);
        size += chunk.length;
      }
    } catch (err) {
      this.#position = headerAt; // the next entry (a retry) overwrites this one
      throw err;
    }
    this.#position += size;
    await this.#pad(size);
    await this.#write(tarHeader({ name: nameAfter(size), size, mtime: this.#mtime }), headerAt);
    return size;
  }

  /** Two zero blocks, truncate to the end (a retried entry may have left bytes beyond), close. */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(2 * BLOCK), this.#position);
    this.#position += 2 * BLOCK;
    const handle = this.#handle!;
    await handle.truncate(this.#position);
    await handle.sync();
    await this.close();
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
