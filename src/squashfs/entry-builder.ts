/** Turns a decoded inode plus its place in the tree into the public `Entry`. */
import type { Entry } from './entry.ts';
import type { ImageContext } from './context.ts';
import type { Inode } from './inode.ts';
import { decodeName } from './binary.ts';
import { deviceMajor, deviceMinor } from './inode.ts';
import type { ByteSlab } from './byte-slab.ts';

export const EMPTY_BYTES = new Uint8Array(0);

/** `parentRaw + "/" + name` (or just `name` under the root), cut from `slab` if given. */
export function joinRaw(parentRaw: Uint8Array, name: Uint8Array, slab?: ByteSlab): Uint8Array {
  const length = parentRaw.length === 0 ? name.length : parentRaw.length + 1 + name.length;
  const out = slab ? slab.alloc(length) : new Uint8Array(length);
  if (parentRaw.length === 0) {
    out.set(name, 0);
    return out;
  }
  out.set(parentRaw, 0);
  out[parentRaw.length] = 0x2f;
  out.set(name, parentRaw.length + 1);
  return out;
}

/** `parentPath + "/" + name` with `/` for the root. */
export function joinPath(parentPath: string, name: Uint8Array): string {
  return parentPath === '/' ? `/${decodeName(name)}` : `${parentPath}/${decodeName(name)}`;
}

export function makeEntry(
  ctx: ImageContext,
  inode: Inode,
  ref: number,
  path: string,
  rawPath: Uint8Array,
  rawName: Uint8Array,
  depth: number,
): Entry {
  const kind = inode.kind;
  const entry: {
    -readonly [K in keyof Entry]: Entry[K];
  } = {
    path,
    rawPath,
    rawName,
    depth,
    type: kind,
    mode: inode.mode,
    uid: ctx.ids.get(inode.uidIndex, () => `inode ${inode.number} uid`),
    gid: ctx.ids.get(inode.gidIndex, () => `inode ${inode.number} gid`),
    mtime: inode.mtime,
    size: kind === 'file' || kind === 'symlink' ? inode.size : 0,
    nlink: inode.nlink,
    inode: inode.number,
    inodeRef: ref,
    xattrs: ctx.xattrs.get(inode.xattrIndex),
  };
  if (kind === 'symlink' && inode.target) {
    entry.target = inode.target;
    entry.targetString = decodeName(inode.target);
  } else if (kind === 'char' || kind === 'block') {
    entry.major = deviceMajor(inode.rdev);
    entry.minor = deviceMinor(inode.rdev);
  } else if (kind === 'dir') {
    entry.listingSize = inode.size;
  } else if (kind === 'file') {
    entry.layout = {
      blocksStart: inode.blocksStart,
      blockSizes: inode.blockSizes ?? new Uint32Array(0),
      fragment: inode.fragment,
      fragmentOffset: inode.fragmentOffset,
    };
  }
  return entry;
}
