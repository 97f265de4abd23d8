/**
 * Path lookup inside the image. Symlinks are resolved inside the image root and never
 * escape it: an absolute target restarts at the root and `..` at the root stays there.
 * The number of symlinks followed is bounded (`limits.maxLinkFollows`).
 */
import type { Entry } from './entry.ts';
import type { ImageContext } from './context.ts';
import type { Inode } from './inode.ts';
import { SquashfsError } from './errors.ts';
import { compareBytes, readDirectory, type DirEntry } from './directory-reader.ts';
import { inodeForEntry, rootInode } from './walk.ts';
import { EMPTY_BYTES, joinPath, joinRaw, makeEntry } from './entry-builder.ts';
import { showName } from './binary.ts';

interface Step {
  inode: Inode;
  ref: number;
  name: Uint8Array;
  path: string;
  rawPath: Uint8Array;
}

const utf8 = new TextEncoder();

function components(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      if (i > start && !(i - start === 1 && bytes[start] === 0x2e)) out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

function isDotDot(name: Uint8Array): boolean {
  return name.length === 2 && name[0] === 0x2e && name[1] === 0x2e;
}

function find(entries: DirEntry[], name: Uint8Array): DirEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const order = compareBytes(entries[mid]!.name, name);
    if (order === 0) return entries[mid];
    if (order < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

export function lookupPath(ctx: ImageContext, path: string | Uint8Array, options: { followLast?: boolean; signal?: AbortSignal } = {}): Entry {
  const bytes = typeof path === 'string' ? utf8.encode(path) : path;
  const shown = typeof path === 'string' ? path : showName(path);
  const rootRef = ctx.superblock.rootInodeRef;
  const root: Step = { inode: rootInode(ctx), ref: rootRef, name: EMPTY_BYTES, path: '/', rawPath: EMPTY_BYTES };
  let stack: Step[] = [root];
  const todo = components(bytes).reverse();
  let links = 0;
  while (todo.length > 0) {
    options.signal?.throwIfAborted();
    const name = todo.pop()!;
    if (isDotDot(name)) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const current = stack[stack.length - 1]!;
    if (current.inode.kind !== 'dir') {
      throw new SquashfsError('UAI_SQFS_NOT_DIR', 'lookup', undefined, `${shown}: ${current.path} is not a directory`, { details: { path: shown } });
    }
    const dirEntry = find(readDirectory(ctx.directories, current.inode, ctx.superblock), name);
    if (!dirEntry) {
      throw new SquashfsError('UAI_SQFS_NOT_FOUND', 'lookup', undefined, `${shown}: no ${showName(name)} in ${current.path}`, { details: { path: shown } });
    }
    const inode = inodeForEntry(ctx, dirEntry, current.path);
    if (inode.kind === 'symlink' && (todo.length > 0 || options.followLast)) {
      if (++links > ctx.limits.maxLinkFollows) {
        throw new SquashfsError('UAI_SQFS_LINK_LOOP', 'lookup', undefined, `${shown}: more than ${ctx.limits.maxLinkFollows} symlinks followed`, { details: { path: shown } });
      }
      const target = inode.target ?? EMPTY_BYTES;
      if (target[0] === 0x2f) stack = [root];
      for (const part of components(target).reverse()) todo.push(part);
      continue;
    }
    stack.push({ inode, ref: dirEntry.ref, name: dirEntry.name, path: joinPath(current.path, dirEntry.name), rawPath: joinRaw(current.rawPath, dirEntry.name) });
  }
  const last = stack[stack.length - 1]!;
  return makeEntry(ctx, last.inode, last.ref, last.path, last.rawPath, last.name, stack.length - 1);
}
