/**
 * The tree walk: depth-first pre-order, children in on-disk (sorted) order, root first,
 * with an explicit stack (no recursion, so a deep tree cannot blow the call stack).
 * Refuses directory loops and hard-linked directories (a directory inode reached twice),
 * and enforces the entry and declared-output limits as it goes.
 */
import type { Entry } from './entry.ts';
import type { ImageContext } from './context.ts';
import type { DirEntry } from './directory-reader.ts';
import { throwIfAborted } from '../errors.ts';
import { SquashfsError } from './errors.ts';
import { decodeInode, type Inode } from './inode.ts';
import { readDirectory } from './directory-reader.ts';
import { EMPTY_BYTES, joinPath, joinRaw, makeEntry } from './entry-builder.ts';
import { showName } from './binary.ts';
import { ByteSlab } from './byte-slab.ts';
import { storedBytes } from './stored-bytes.ts';

export interface WalkOptions {
  signal?: AbortSignal;
  /** Return true to skip this entry and its whole subtree (none of its data is read). */
  prune?: (entry: Entry) => boolean;
}

interface Frame {
  entries: DirEntry[];
  index: number;
  path: string;
  rawPath: Uint8Array;
  depth: number;
}

/** Decodes the inode a directory entry points at and checks that the two agree. */
export function inodeForEntry(ctx: ImageContext, dirEntry: DirEntry, parentPath: string): Inode {
  const inode = decodeInode(ctx.inodes, dirEntry.ref, ctx.superblock, ctx.limits);
  if (inode.basicType !== dirEntry.type || inode.number !== dirEntry.number) {
    throw new SquashfsError(
      'UAI_SQFS_CORRUPTED',
      ctx.inodes.name,
      undefined,
      `entry ${showName(dirEntry.name)} in ${parentPath} claims type ${dirEntry.type} inode ${dirEntry.number}, but its inode is type ${inode.type} number ${inode.number}`,
    );
  }
  return inode;
}

/** Decodes the root directory inode. */
export function rootInode(ctx: ImageContext): Inode {
  const inode = decodeInode(ctx.inodes, ctx.superblock.rootInodeRef, ctx.superblock, ctx.limits);
  if (inode.kind !== 'dir') {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', ctx.inodes.name, undefined, `the root inode is type ${inode.type}, not a directory`);
  }
  return inode;
}

/** The walk as a synchronous generator (all metadata is in memory once the image is open). */
export function* walkTree(ctx: ImageContext, options: WalkOptions = {}): Generator<Entry, void, undefined> {
  const { signal, prune } = options;
  const limits = ctx.limits;
  const visitedDirs = new Set<number>();
  const visitedDirNumbers = new Set<number>();
  const linkedFiles = new Set<number>();
  const slab = new ByteSlab();
  let entries = 0;
  let declared = 0;

  const count = (entry: Entry): void => {
    if (++entries > limits.maxEntries) {
      throw new SquashfsError('UAI_SQFS_LIMIT', 'directory table', undefined, `more than ${limits.maxEntries} entries (limits.maxEntries)`);
    }
    if ((entries & 1023) === 0) throwIfAborted(signal);
    if (entry.type === 'file' && entry.size > 0) {
      if (entry.nlink > 1) {
        if (linkedFiles.has(entry.inodeRef)) return;
        linkedFiles.add(entry.inodeRef);
      }
      declared += storedBytes(entry, ctx.superblock.blockSize);
      if (declared > limits.maxOutputBytes) {
        throw new SquashfsError(
          'UAI_SQFS_LIMIT',
          'inode table',
          undefined,
          `files declare more than ${limits.maxOutputBytes} bytes of non-sparse data in total (limits.maxOutputBytes), at ${entry.path}: overlapping data?`,
        );
      }
    }
  };

  throwIfAborted(signal);
  const rootRef = ctx.superblock.rootInodeRef;
  const root = rootInode(ctx);
  const rootEntry = makeEntry(ctx, root, rootRef, '/', EMPTY_BYTES, EMPTY_BYTES, 0);
  if (prune?.(rootEntry)) return;
  count(rootEntry);
  visitedDirs.add(rootRef);
  visitedDirNumbers.add(root.number);
  yield rootEntry;
  const stack: Frame[] = [{ entries: readDirectory(ctx.directories, root, ctx.superblock), index: 0, path: '/', rawPath: EMPTY_BYTES, depth: 0 }];

  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const dirEntry = frame.entries[frame.index++];
    if (dirEntry === undefined) {
      stack.pop();
      continue;
    }
    const inode = inodeForEntry(ctx, dirEntry, frame.path);
    const depth = frame.depth + 1;
    const entry = makeEntry(ctx, inode, dirEntry.ref, joinPath(frame.path, dirEntry.name), joinRaw(frame.rawPath, dirEntry.name, slab), dirEntry.name, depth);
    if (prune?.(entry)) continue;
    count(entry);
    if (inode.kind === 'dir') {
      if (visitedDirs.has(dirEntry.ref) || visitedDirNumbers.has(inode.number)) {
        throw new SquashfsError('UAI_SQFS_LOOP', 'directory table', undefined, `${entry.path}: directory inode ${inode.number} is reached twice (a loop or a hard-linked directory)`, {
          details: { path: entry.path, inode: inode.number },
        });
      }
      visitedDirs.add(dirEntry.ref);
      visitedDirNumbers.add(inode.number);
      if (depth > limits.maxDepth) {
        throw new SquashfsError('UAI_SQFS_LIMIT', 'directory table', undefined, `${entry.path}: deeper than ${limits.maxDepth} (limits.maxDepth)`);
      }
      yield entry;
      stack.push({ entries: readDirectory(ctx.directories, inode, ctx.superblock), index: 0, path: entry.path, rawPath: entry.rawPath, depth });
    } else {
      yield entry;
    }
  }
}
