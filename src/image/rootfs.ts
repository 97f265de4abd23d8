/**
 * What the image stage reads from the root filesystem: a path lookup that resolves
 * symlinks inside the image root, and a file's bytes. `SquashfsImage` (src/squashfs)
 * provides both; tests can pass a small fake.
 */
import type { Entry } from '../squashfs/entry.ts';

export interface RootfsReader {
  /** The entry at `path` (symlinks resolved inside the root); throws `UAI_SQFS_NOT_FOUND` or returns undefined/null when absent. */
  lookup(path: string, options?: { followLast?: boolean; signal?: AbortSignal }): Promise<Entry | undefined | null>;
  /** A regular file's bytes, whole or as a stream. */
  readFile(entry: Entry, options?: { signal?: AbortSignal }): Promise<Uint8Array> | AsyncIterable<Uint8Array>;
}

/**
 * `lookup` that follows a final symlink too (`/bin/sh -> bash`, all inside the image
 * root) and answers undefined for a missing path instead of throwing.
 */
export async function lookupOrUndefined(
  rootfs: RootfsReader,
  path: string,
  signal?: AbortSignal,
): Promise<Entry | undefined> {
  try {
    return (await rootfs.lookup(path, { followLast: true, ...(signal ? { signal } : {}) })) ?? undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'UAI_SQFS_NOT_FOUND' || code === 'UAI_SQFS_NOT_DIR') return undefined;
    throw err;
  }
}

/** Reads at most `limit` bytes from the start of a file. */
export async function readHead(rootfs: RootfsReader, entry: Entry, limit: number, signal?: AbortSignal): Promise<Uint8Array> {
  const result = rootfs.readFile(entry, { signal });
  if (result instanceof Promise) return (await result).subarray(0, limit);
  const parts: Uint8Array[] = [];
  let have = 0;
  for await (const chunk of result as AsyncIterable<Uint8Array>) {
    parts.push(chunk);
    have += chunk.length;
    if (have >= limit) break;
  }
  return Buffer.concat(parts).subarray(0, limit);
}

/** Reads a whole file. */
export async function readWhole(rootfs: RootfsReader, entry: Entry, signal?: AbortSignal): Promise<Uint8Array> {
  const result = rootfs.readFile(entry, { signal });
  if (result instanceof Promise) return await result;
  const parts: Uint8Array[] = [];
  for await (const chunk of result as AsyncIterable<Uint8Array>) parts.push(chunk);
  return Buffer.concat(parts);
}
