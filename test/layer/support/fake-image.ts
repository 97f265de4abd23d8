/**
 * A hand-made image for unit tests of the layer: a list of entries in DFS pre-order with
 * their data, behind the same `walkWithData` shape as the SquashFS reader. It records
 * which files' data were requested, and honours `prune` like the reader does.
 */
import type { Entry, EntryType } from '../../../src/squashfs/entry.ts';
import type { TarSourceImage } from '../../../src/layer/layer-tar.ts';

export interface FakeSpec {
  /** `/`-rooted path: '/', '/etc', '/etc/passwd'. */
  path: string | Uint8Array;
  type?: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  data?: Uint8Array | string;
  /** For a big file: its size, data generated as a repeating pattern. */
  size?: number;
  nlink?: number;
  inodeRef?: number;
  target?: string | Uint8Array;
  major?: number;
  minor?: number;
  xattrs?: Record<string, Uint8Array | string>;
}

const enc = new TextEncoder();
const bytes = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? enc.encode(v) : v);

export class FakeImage implements TarSourceImage {
  readonly superblock: { mkfsTime: number };
  readonly entries: Entry[];
  readonly #data = new Map<Entry, Uint8Array>();
  readonly dataRead: string[] = [];

  constructor(specs: FakeSpec[], mkfsTime = 1_700_000_000) {
    this.superblock = { mkfsTime };
    let ref = 1000;
    this.entries = specs.map((s, i) => {
      const raw = bytes(s.path);
      const rawPath = raw[0] === 0x2f ? raw.subarray(1) : raw;
      const slash = rawPath.lastIndexOf(0x2f);
      const rawName = rawPath.subarray(slash + 1);
      const depth = rawPath.length === 0 ? 0 : rawPath.filter((b) => b === 0x2f).length + 1;
      const type: EntryType = s.type ?? (s.data !== undefined || s.size !== undefined ? 'file' : 'dir');
      const data = s.data !== undefined ? bytes(s.data) : undefined;
      const target = s.target !== undefined ? bytes(s.target) : undefined;
      const entry: Entry = {
        path: `/${Buffer.from(rawPath).toString('utf8')}`,
        rawPath,
        rawName,
        depth,
        type,
        mode: s.mode ?? (type === 'dir' ? 0o755 : 0o644),
        uid: s.uid ?? 0,
        gid: s.gid ?? 0,
        mtime: s.mtime ?? 1_600_000_000 + i,
        size: type === 'file' ? (s.size ?? data?.length ?? 0) : type === 'symlink' ? (target?.length ?? 0) : 0,
        nlink: s.nlink ?? 1,
        inode: i + 1,
        inodeRef: s.inodeRef ?? ref++,
        ...(target ? { target, targetString: Buffer.from(target).toString('utf8') } : {}),
        ...(s.major !== undefined ? { major: s.major, minor: s.minor ?? 0 } : {}),
        xattrs: new Map(Object.entries(s.xattrs ?? {}).map(([k, v]) => [k, bytes(v)])),
      };
      if (data) this.#data.set(entry, data);
      return entry;
    });
  }

  async *#chunks(entry: Entry): AsyncGenerator<Uint8Array> {
    const data = this.#data.get(entry);
    if (data) {
      for (let at = 0; at < data.length; at += 4096) yield data.subarray(at, at + 4096);
      return;
    }
    let left = entry.size;
    while (left > 0) {
      const n = Math.min(left, 1 << 20);
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i += 4096) chunk[i] = (entry.size - left + i) & 0xff;
      yield chunk;
      left -= n;
    }
  }

  async *walkWithData(options: {
    signal?: AbortSignal;
    prune?: (entry: Entry) => boolean;
    wantData?: (entry: Entry) => boolean;
  } = {}): AsyncGenerator<{ entry: Entry; data?: AsyncIterable<Uint8Array> }> {
    let prunedDepth = -1;
    for (const entry of this.entries) {
      options.signal?.throwIfAborted();
      if (prunedDepth >= 0 && entry.depth > prunedDepth) continue;
      prunedDepth = -1;
      if (options.prune?.(entry)) {
        // Like the reader: neither the entry nor its subtree is yielded.
        prunedDepth = entry.depth;
        continue;
      }
      if (entry.type === 'file' && (options.wantData?.(entry) ?? true)) {
        this.dataRead.push(entry.path);
        yield { entry, data: this.#chunks(entry) };
      } else {
        yield { entry };
      }
    }
  }
}
