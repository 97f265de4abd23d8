/**
 * `--download FILE`: copies a (remote) ByteSource to a local file first, computing its
 * MD5 on the way, and checks it against the expected one (the IMS manifest's `md5`).
 * Writes `FILE.partial` and renames it only when complete and verified, so a failed or
 * interrupted copy never leaves a file that looks whole.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { ByteSource } from './byte-source.ts';
import { SourceError } from './errors.ts';
import { throwIfAborted } from '../errors.ts';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Expected MD5 (hex); a mismatch throws `UAI_SOURCE_IO` with `details.expected`/`actual` and leaves no file. */
  md5?: string;
  /** Bytes per read (default 8 MiB); wrap the source in a ReadAheadSource for parallel fetches. */
  chunkSize?: number;
  /** Told after each chunk. */
  onProgress?: (done: number, total: number) => void;
}

export interface DownloadResult {
  path: string;
  size: number;
  md5: string;
  /** Whether an expected md5 was given and matched. */
  verified: boolean;
}

export async function downloadToFile(source: ByteSource, path: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const chunk = options.chunkSize ?? 8 * 1024 * 1024;
  const partial = `${path}.partial`;
  const hash = createHash('md5');
  let handle;
  try {
    handle = await open(partial, 'w', 0o600);
  } catch (cause) {
    throw new SourceError('UAI_SOURCE_IO', `${partial}: cannot create: ${(cause as Error).message}`, { cause, details: { path: partial } });
  }
  let ok = false;
  try {
    for (let offset = 0; offset < source.size; offset += chunk) {
      throwIfAborted(options.signal);
      const length = Math.min(chunk, source.size - offset);
      // Hint the next chunk so a read-ahead wrapper overlaps fetching and writing.
      if (offset + length < source.size) source.prefetch?.([{ offset: offset + length, length: Math.min(chunk, source.size - offset - length) }]);
      const bytes = await source.read(offset, length, options.signal ? { signal: options.signal } : {});
      hash.update(bytes);
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, offset + written);
        written += bytesWritten;
      }
      options.onProgress?.(offset + length, source.size);
    }
    await handle.sync();
    ok = true;
  } finally {
    await handle.close();
    if (!ok) await rm(partial, { force: true });
  }
  const md5 = hash.digest('hex');
  if (options.md5 !== undefined && options.md5.toLowerCase() !== md5) {
    await rm(partial, { force: true });
    throw new SourceError('UAI_SOURCE_IO', `${source.name}: downloaded ${source.size} bytes have md5 ${md5}, the manifest says ${options.md5}`, {
      details: { source: source.name, path, expected: options.md5, actual: md5 },
    });
  }
  await rename(partial, path);
  return { path, size: source.size, md5, verified: options.md5 !== undefined };
}
