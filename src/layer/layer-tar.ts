/**
 * The layer's tar, produced in one pass over the image: entries in the reader's DFS
 * pre-order (on-disk child order), named as `tar -cf X.tar .` names them (`./`, `./etc/`,
 * `./etc/passwd`), with excludes, injections, hard links, whiteout-name refusal and
 * sockets skipped. No data is read for excluded subtrees, excluded or replaced files or
 * repeated hard-link names. The same image and options give the same bytes.
 */
import type { Entry } from '../squashfs/entry.ts';
import { throwIfAborted, type WarningHandler } from '../errors.ts';
import { ByteSlab } from '../squashfs/byte-slab.ts';
import { utf8 } from './bytes.ts';
import { LayerError } from './errors.ts';
import { ExcludeFilter, type FilterOptions } from './filters.ts';
import { HardLinks } from './hard-links.ts';
import { InjectionMerger, InjectionPlan, type InjectedNode, type Injection } from './inject.ts';
import { xattrRecords } from './pax.ts';
import {
  MAX_OCTAL_7,
  TYPE_BLOCK,
  TYPE_CHAR,
  TYPE_DIR,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_HARDLINK,
  TYPE_SYMLINK,
} from './tar-header.ts';
import { TarWriter } from './tar-writer.ts';

/** What the layer needs of a SquashFS image (`SquashfsImage` has it; tests may fake it). */
export interface TarSourceImage {
  readonly superblock: { readonly mkfsTime: number };
  walkWithData(options: {
    signal?: AbortSignal;
    prune?: (entry: Entry) => boolean;
    wantData?: (entry: Entry) => boolean;
    readAheadBytes?: number;
  }): AsyncIterable<{ entry: Entry; data?: AsyncIterable<Uint8Array> }>;
}

export interface LayerTarOptions extends FilterOptions {
  signal?: AbortSignal;
  /** Files to add or replace (see `Injection`). */
  add?: readonly Injection[];
  /** Write entries named `.wh.*` instead of failing with `UAI_LAYER_WHITEOUT_NAME`. */
  allowWhiteoutNames?: boolean;
  /** Receives `UAI_LAYER_SOCKET_SKIPPED` warnings. */
  onWarning?: WarningHandler;
  /** Passed to the reader's `walkWithData` (how far file data is read ahead). */
  readAheadBytes?: number;
  /** Output chunk size in bytes; default 1 MiB. */
  chunkSize?: number;
}

export interface SkippedEntry {
  /** The entry's path (`/etc/foo`). */
  path: string;
  reason: 'excluded' | 'socket' | 'replaced';
  /** The exclude pattern, for `excluded`. */
  pattern?: string;
}

export interface LayerTarStats {
  /** Tar entries written (PAX helper headers not counted), injected ones included. */
  entries: number;
  /** Hard-link (typeflag 1) entries among them. */
  hardLinks: number;
  /** Entries left out, sorted by path; an excluded directory is listed once, not its contents. */
  skipped: SkippedEntry[];
}

const DOT_SLASH = utf8('./');
const SLASH = utf8('/');
const WHITEOUT = utf8('.wh.');

/** `./` + rawPath (+ `/` for a directory), cut from `slab` (one small buffer per entry would cost the GC). */
function archiveName(rawPath: Uint8Array, isDir: boolean, slab: ByteSlab): Uint8Array {
  if (rawPath.length === 0) return DOT_SLASH;
  const out = slab.alloc(2 + rawPath.length + (isDir ? 1 : 0));
  out.set(DOT_SLASH, 0);
  out.set(rawPath, 2);
  if (isDir) out[out.length - 1] = SLASH[0]!;
  return out;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

const TYPEFLAG: Record<Exclude<Entry['type'], 'socket'>, number> = {
  file: TYPE_FILE,
  dir: TYPE_DIR,
  symlink: TYPE_SYMLINK,
  char: TYPE_CHAR,
  block: TYPE_BLOCK,
  fifo: TYPE_FIFO,
};

/** Creates empty stats to pass to `layerTar`. */
export function newLayerTarStats(): LayerTarStats {
  return { entries: 0, hardLinks: 0, skipped: [] };
}

/**
 * The uncompressed tar of `image`, as large chunks. `stats`, if given, is filled in as
 * the stream goes. Throws `UAI_LAYER_*` errors (and the reader's `UAI_SQFS_*` ones).
 */
export async function* layerTar(
  image: TarSourceImage,
  options: LayerTarOptions = {},
  stats: LayerTarStats = newLayerTarStats(),
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options;
  throwIfAborted(signal);
  const filter = new ExcludeFilter(options);
  const mkfsTime = image.superblock.mkfsTime;
  const plan = await InjectionPlan.resolve(options.add ?? [], { mtime: mkfsTime, signal });
  const merger = new InjectionMerger(plan);
  const links = new HardLinks();
  const slab = new ByteSlab();
  const writer = new TarWriter(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize });
  const allowWhiteout = options.allowWhiteoutNames === true;

  // Data decisions, made in walk order (possibly ahead of the entries we process).
  const dataRefs = new Set<number>();
  const wantData = (entry: Entry): boolean => {
    if (entry.type !== 'file' || filter.match(entry) !== undefined || plan.fileAt(entry.rawPath)) return false;
    if (!HardLinks.isCandidate(entry)) return true;
    if (dataRefs.has(entry.inodeRef)) return false;
    dataRefs.add(entry.inodeRef);
    return true;
  };
  // The reader skips a pruned entry and its subtree without yielding it (or reading data).
  const prune = (entry: Entry): boolean => {
    const pattern = filter.match(entry);
    if (pattern === undefined) return false;
    stats.skipped.push({ path: entry.path, reason: 'excluded', pattern });
    return true;
  };

  const checkName = (rawName: Uint8Array, path: string): void => {
    if (!allowWhiteout && startsWith(rawName, WHITEOUT)) {
      throw new LayerError('UAI_LAYER_WHITEOUT_NAME', `${path}: a name starting with '.wh.' would be read as an OCI whiteout (keep it with --allow-whiteout-names, or allowWhiteoutNames in the library)`, {
        details: { path },
      });
    }
    if (rawName.includes(0)) {
      throw new LayerError('UAI_LAYER_UNREPRESENTABLE', `${path}: a name with a NUL byte cannot be stored in tar`, { details: { path } });
    }
  };

  const writeInjected = (node: InjectedNode): void => {
    const path = `/${new TextDecoder().decode(node.rawPath)}`;
    checkName(node.name, path);
    if (node.kind === 'dir') {
      writer.addEntry({ name: archiveName(node.rawPath, true, slab), typeflag: TYPE_DIR, mode: node.mode, uid: node.uid, gid: node.gid, size: 0, mtime: node.mtime });
    } else {
      const size = node.content.length;
      writer.addEntry({ name: archiveName(node.rawPath, false, slab), typeflag: TYPE_FILE, mode: node.mode, uid: node.uid, gid: node.gid, size, mtime: node.mtime });
      writer.addData(node.content);
      writer.endData(size);
    }
    stats.entries++;
  };

  let skipBelow = -1; // depth of an excluded directory whose subtree is still being walked
  const walk = image.walkWithData({
    ...(signal ? { signal } : {}),
    prune,
    wantData,
    ...(options.readAheadBytes === undefined ? {} : { readAheadBytes: options.readAheadBytes }),
  });
  for await (const { entry, data } of walk) {
    throwIfAborted(signal);
    if (skipBelow >= 0) {
      if (entry.depth > skipBelow) continue;
      skipBelow = -1;
    }
    const pattern = filter.match(entry);
    const excluded = pattern !== undefined;
    const step = merger.step(entry, excluded);
    for (const node of step.before) writeInjected(node);
    if (step.replacement) {
      writeInjected(step.replacement);
      stats.skipped.push({ path: entry.path, reason: 'replaced' });
    } else if (plan.fileAt(entry.rawPath)) {
      // Already written by the merger (only in a directory that is not sorted on disk):
      // never two entries with one path.
      stats.skipped.push({ path: entry.path, reason: 'replaced' });
    } else if (excluded) {
      // Only reached if a reader yields what `prune` refused; `prune` already counted it.
      if (entry.type === 'dir') skipBelow = entry.depth;
    } else if (entry.type === 'socket') {
      stats.skipped.push({ path: entry.path, reason: 'socket' });
      options.onWarning?.({
        code: 'UAI_LAYER_SOCKET_SKIPPED',
        message: `${entry.path}: sockets cannot be stored in a layer; skipped`,
        details: { path: entry.path },
      });
    } else if (writeEntry(entry)) {
      // A regular file written in full: stream its data, handing out chunks as they fill.
      const size = entry.size;
      if (size > 0 && !data) {
        throw new LayerError('UAI_LAYER_SIZE_MISMATCH', `${entry.path}: the reader gave no data for a ${size}-byte file`, {
          details: { path: entry.path, size },
        });
      }
      let got = 0;
      if (data) {
        for await (const chunk of data) {
          got += chunk.length;
          if (got > size) break;
          writer.addData(chunk);
          const ready = writer.take();
          for (let i = 0; i < ready.length; i++) yield ready[i]!;
        }
      }
      if (got !== size) {
        throw new LayerError('UAI_LAYER_SIZE_MISMATCH', `${entry.path}: the inode says ${size} bytes, the data had ${got > size ? 'more' : got}`, {
          details: { path: entry.path, size, got },
        });
      }
      writer.endData(size);
    }
    const ready = writer.take();
    for (let i = 0; i < ready.length; i++) yield ready[i]!;
  }
  for (const node of merger.finish()) writeInjected(node);
  writer.finish();
  // prune() runs ahead of the entries (read-ahead): give the list one stable order.
  stats.skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const rest = writer.take();
  for (let i = 0; i < rest.length; i++) yield rest[i]!;

  /** Writes the entry's header(s); true when its data must follow. */
  function writeEntry(entry: Entry): boolean {
    checkName(entry.rawName, entry.path);
    const isDir = entry.type === 'dir';
    const name = archiveName(entry.rawPath, isDir, slab);
    const linkTarget = links.targetOf(entry);
    if (linkTarget) {
      // No xattrs on a link: they belong to the inode, written with its first name (as sqfs2tar).
      writer.addEntry({ name, typeflag: TYPE_HARDLINK, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: 0, mtime: entry.mtime, linkname: linkTarget });
      stats.entries++;
      stats.hardLinks++;
      return false;
    }
    const typeflag = TYPEFLAG[entry.type as Exclude<Entry['type'], 'socket'>];
    let linkname: Uint8Array | undefined;
    let devmajor: number | undefined;
    let devminor: number | undefined;
    if (entry.type === 'symlink') {
      linkname = entry.target ?? utf8(entry.targetString ?? '');
      if (linkname.includes(0)) {
        throw new LayerError('UAI_LAYER_UNREPRESENTABLE', `${entry.path}: a symlink target with a NUL byte cannot be stored in tar`, {
          details: { path: entry.path },
        });
      }
    } else if (entry.type === 'char' || entry.type === 'block') {
      devmajor = entry.major ?? 0;
      devminor = entry.minor ?? 0;
      if (devmajor > MAX_OCTAL_7 || devminor > MAX_OCTAL_7) {
        throw new LayerError('UAI_LAYER_UNREPRESENTABLE', `${entry.path}: device ${devmajor}:${devminor} does not fit a tar header`, {
          details: { path: entry.path, major: devmajor, minor: devminor },
        });
      }
    }
    const size = entry.type === 'file' ? entry.size : 0;
    const records = xattrRecords(entry.xattrs, entry.path);
    writer.addEntry(
      { name, typeflag, mode: entry.mode, uid: entry.uid, gid: entry.gid, size, mtime: entry.mtime, linkname, devmajor, devminor },
      records,
    );
    stats.entries++;
    links.written(entry, name);
    return entry.type === 'file';
  }
}
