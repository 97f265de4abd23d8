/**
 * Files added to the layer (`--add SRC:DEST[:MODE]`). An injection replaces the entry at
 * its destination in place (OCI forbids two entries with one path) or, when there is
 * none, is inserted where the sorted on-disk order puts it, with missing parent
 * directories created (root-owned, 0755). A destination whose parent is a symlink or a
 * file in the image is refused: writing through a symlink would put the file elsewhere.
 *
 * `InjectionPlan` is the resolved, sorted tree of what to add; `InjectionMerger` walks
 * beside the image's DFS pre-order and says, for each entry, which injected nodes come
 * before it and whether an injected file takes its place.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Entry } from '../squashfs/entry.ts';
import { throwIfAborted } from '../errors.ts';
import { compareBytes, concatBytes, latin1, utf8 } from './bytes.ts';
import { LayerError } from './errors.ts';

export interface Injection {
  /** Absolute path in the layer (`/etc/motd`; a leading `/` or `./` is optional). */
  dest: string;
  /** The bytes, or a local file to read them from (read once, kept in memory). */
  content: Uint8Array | { path: string };
  /** Permission bits; default: the local file's `mode & 0o7777`, or 0644 for bytes. */
  mode?: number;
  /** Default 0. */
  uid?: number;
  /** Default 0. */
  gid?: number;
  /** Default: the image's mkfs time, so the layer stays deterministic. */
  mtime?: number;
}

interface NodeBase {
  /** Path bytes relative to the root, no leading `/`. */
  readonly rawPath: Uint8Array;
  readonly name: Uint8Array;
  readonly depth: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
}

export interface InjectedFile extends NodeBase {
  readonly kind: 'file';
  readonly content: Uint8Array;
  /** The destination as the caller wrote it, for messages. */
  readonly dest: string;
}

export interface InjectedDir extends NodeBase {
  readonly kind: 'dir';
  /** Sorted by name bytes. */
  readonly children: InjectedNode[];
}

export type InjectedNode = InjectedFile | InjectedDir;

function badDest(dest: string, why: string): LayerError {
  return new LayerError('UAI_LAYER_BAD_OPTION', `injection destination ${JSON.stringify(dest)}: ${why}`, { details: { dest } });
}

/** `/etc/motd` → `['etc', 'motd']` as bytes; refuses the root, `.`, `..` and empty parts. */
export function destComponents(dest: string): Uint8Array[] {
  let p = dest;
  while (p.startsWith('/') || p.startsWith('./')) p = p.startsWith('/') ? p.slice(1) : p.slice(2);
  if (p === '' || p.endsWith('/')) throw badDest(dest, 'must name a file below the root');
  const parts = p.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') throw badDest(dest, `has an empty, '.' or '..' component`);
    if (part.includes('\0')) throw badDest(dest, 'contains a NUL byte');
  }
  return parts.map(utf8);
}

function checkId(value: number, what: string, dest: string, max: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw badDest(dest, `${what} ${value} is out of range`);
  return value;
}

async function loadContent(injection: Injection, signal: AbortSignal | undefined): Promise<{ bytes: Uint8Array; mode: number }> {
  const { content, dest } = injection;
  if (content instanceof Uint8Array) return { bytes: content, mode: 0o644 };
  try {
    const info = await stat(content.path);
    if (!info.isFile()) throw new Error('not a regular file');
    const bytes = await readFile(content.path, signal ? { signal } : {});
    return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mode: info.mode & 0o7777 };
  } catch (cause) {
    throwIfAborted(signal);
    throw new LayerError('UAI_LAYER_INJECT_READ', `cannot read ${content.path} (for ${dest}): ${(cause as Error).message}`, {
      cause,
      details: { source: content.path, dest },
    });
  }
}

/**
 * The injections with local files read (content as bytes, mode filled in from the file),
 * so a layer that is opened several times uses the same bytes every time.
 */
export async function loadInjections(injections: readonly Injection[], options: { signal?: AbortSignal | undefined } = {}): Promise<Injection[]> {
  const { signal } = options;
  const out: Injection[] = [];
  for (const injection of injections) {
    if (injection.content instanceof Uint8Array) {
      out.push(injection);
      continue;
    }
    const loaded = await loadContent(injection, signal);
    out.push({ ...injection, content: loaded.bytes, mode: injection.mode ?? loaded.mode });
  }
  return out;
}

export class InjectionPlan {
  readonly root: InjectedDir;
  readonly #files = new Map<string, InjectedFile>();

  private constructor(root: InjectedDir, files: InjectedFile[]) {
    this.root = root;
    for (const f of files) this.#files.set(latin1(f.rawPath), f);
  }

  get empty(): boolean {
    return this.root.children.length === 0;
  }

  /** The injected file that replaces the entry at this path, if any. */
  fileAt(rawPath: Uint8Array): InjectedFile | undefined {
    return this.#files.size === 0 ? undefined : this.#files.get(latin1(rawPath));
  }

  /** Reads local contents, checks the destinations and builds the sorted tree. */
  static async resolve(
    injections: readonly Injection[],
    defaults: { mtime: number; signal?: AbortSignal | undefined },
  ): Promise<InjectionPlan> {
    const mkdir = (rawPath: Uint8Array, name: Uint8Array, depth: number): InjectedDir => ({
      kind: 'dir', rawPath, name, depth, mode: 0o755, uid: 0, gid: 0, mtime: defaults.mtime, children: [],
    });
    const root = mkdir(new Uint8Array(0), new Uint8Array(0), 0);
    const files: InjectedFile[] = [];
    for (const injection of injections) {
      throwIfAborted(defaults.signal);
      const { dest } = injection;
      const parts = destComponents(dest);
      const loaded = await loadContent(injection, defaults.signal);
      let dir = root;
      for (let i = 0; i < parts.length; i++) {
        const name = parts[i]!;
        const rawPath = dir.rawPath.length === 0 ? name : concatBytes(dir.rawPath, utf8('/'), name);
        const existing = dir.children.find((c) => compareBytes(c.name, name) === 0);
        if (i === parts.length - 1) {
          if (existing) throw badDest(dest, existing.kind === 'file' ? 'is given twice' : 'is a parent of another destination');
          const mode = injection.mode ?? loaded.mode;
          if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw badDest(dest, `mode ${mode} is not within 0..07777`);
          const file: InjectedFile = {
            kind: 'file', rawPath, name, depth: i + 1, dest, content: loaded.bytes, mode,
            uid: checkId(injection.uid ?? 0, 'uid', dest, 0xffffffff),
            gid: checkId(injection.gid ?? 0, 'gid', dest, 0xffffffff),
            mtime: checkId(injection.mtime ?? defaults.mtime, 'mtime', dest, 0o77777777777),
          };
          dir.children.push(file);
          files.push(file);
        } else if (existing?.kind === 'file') {
          throw badDest(dest, `its parent ${JSON.stringify(existing.dest)} is also injected as a file`);
        } else if (existing) {
          dir = existing;
        } else {
          const sub = mkdir(rawPath, name, i + 1);
          dir.children.push(sub);
          dir = sub;
        }
      }
    }
    const sort = (dir: InjectedDir): void => {
      dir.children.sort((a, b) => compareBytes(a.name, b.name));
      for (const c of dir.children) if (c.kind === 'dir') sort(c);
    };
    sort(root);
    return new InjectionPlan(root, files);
  }
}

/** A node and, for a directory, everything below it, in sorted pre-order. */
export function* flatten(node: InjectedNode): Generator<InjectedNode> {
  yield node;
  if (node.kind === 'dir') for (const c of node.children) yield* flatten(c);
}

interface Frame {
  depth: number;
  nodes: InjectedNode[];
  next: number;
}

export interface MergeStep {
  /** Injected nodes to write before the entry, in order. */
  before: InjectedNode[];
  /** An injected file that takes the entry's place (the entry itself is not written). */
  replacement?: InjectedFile;
}

const NOTHING: MergeStep = Object.freeze({ before: [] }) as MergeStep;

export class InjectionMerger {
  readonly #plan: InjectionPlan;
  readonly #stack: Frame[] = [];
  #sawRoot = false;

  constructor(plan: InjectionPlan) {
    this.#plan = plan;
  }

  /**
   * Called for every entry of the walk, in order. `excluded` entries count as absent: an
   * injection at their path is written as new (and a needed parent is created).
   */
  step(entry: Entry, excluded: boolean): MergeStep {
    if (this.#plan.empty) return NOTHING;
    const before: InjectedNode[] = [];
    this.#close(entry.depth, before);
    if (entry.depth === 0) {
      this.#sawRoot = true;
      this.#stack.push({ depth: 0, nodes: this.#plan.root.children, next: 0 });
      return { before };
    }
    const top = this.#stack.at(-1);
    if (!top || top.depth !== entry.depth - 1) return before.length ? { before } : NOTHING;
    while (top.next < top.nodes.length && compareBytes(top.nodes[top.next]!.name, entry.rawName) < 0) {
      before.push(...flatten(top.nodes[top.next++]!));
    }
    const node = top.nodes[top.next];
    if (!node || compareBytes(node.name, entry.rawName) !== 0) return { before };
    top.next++;
    if (excluded) {
      before.push(...flatten(node));
      return { before };
    }
    if (node.kind === 'file') {
      if (entry.type === 'dir') {
        throw new LayerError('UAI_LAYER_INJECT_PATH', `cannot inject ${node.dest}: ${entry.path} is a directory in the image`, {
          details: { dest: node.dest, path: entry.path },
        });
      }
      return { before, replacement: node };
    }
    if (entry.type !== 'dir') {
      const dest = [...flatten(node)].find((n): n is InjectedFile => n.kind === 'file')?.dest ?? entry.path;
      const what = entry.type === 'symlink' ? `is a symlink (to ${entry.targetString ?? '?'})` : `is a ${entry.type}, not a directory`;
      throw new LayerError('UAI_LAYER_INJECT_PATH', `cannot inject ${dest}: its parent ${entry.path} ${what} in the image`, {
        details: { dest, path: entry.path, type: entry.type },
      });
    }
    this.#stack.push({ depth: entry.depth, nodes: node.children, next: 0 });
    return { before };
  }

  /** Everything not yet written, once the walk has ended. */
  finish(): InjectedNode[] {
    const rest: InjectedNode[] = [];
    if (!this.#sawRoot) {
      this.#sawRoot = true;
      for (const c of this.#plan.root.children) rest.push(...flatten(c));
      return rest;
    }
    this.#close(0, rest);
    return rest;
  }

  #close(depth: number, out: InjectedNode[]): void {
    while (this.#stack.length > 0 && this.#stack.at(-1)!.depth >= depth) {
      const frame = this.#stack.pop()!;
      while (frame.next < frame.nodes.length) out.push(...flatten(frame.nodes[frame.next++]!));
    }
  }
}
