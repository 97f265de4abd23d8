/**
 * Hard-link grouping. SquashFS gives every name of one inode the same inode reference;
 * the first name written carries the data, every later name becomes a tar typeflag `1`
 * entry pointing at it (OCI layer spec: hard links are possible for every type but
 * directories). Names that are excluded or replaced are never registered, so the next
 * kept name of the inode carries the data.
 */
import type { Entry } from '../squashfs/entry.ts';
import { ByteSlab } from '../squashfs/byte-slab.ts';

export class HardLinks {
  readonly #first = new Map<number, Uint8Array>();
  /**
   * The names kept here live until the layer ends. They are copied into slabs of their own:
   * the name given to `written` is cut from a 64 KiB slab shared with thousands of other
   * paths, and keeping it would keep that whole slab alive. On a 600k-entry image with
   * 6,000 hard links that grew the layer's live memory by ~3 MB/s for its whole run
   * (`tar` peak RSS 275 → 210 MiB with the copy; docs/performance.md, session 4).
   */
  readonly #names = new ByteSlab();

  /** True for an inode that may have several names (not a directory, nlink > 1). */
  static isCandidate(entry: Entry): boolean {
    return entry.type !== 'dir' && entry.nlink > 1;
  }

  /** The archive name that an earlier name of this inode was written under, if any. */
  targetOf(entry: Entry): Uint8Array | undefined {
    return HardLinks.isCandidate(entry) ? this.#first.get(entry.inodeRef) : undefined;
  }

  /** Records that `entry` was written in full under `archiveName`. */
  written(entry: Entry, archiveName: Uint8Array): void {
    if (!HardLinks.isCandidate(entry) || this.#first.has(entry.inodeRef)) return;
    const kept = this.#names.alloc(archiveName.length);
    kept.set(archiveName);
    this.#first.set(entry.inodeRef, kept);
  }

  get size(): number {
    return this.#first.size;
  }
}
