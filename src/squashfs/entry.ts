/**
 * What the reader yields for every inode it reaches in a walk. This is the contract
 * between `squashfs` and everything after it (layer, image, CLI): later stages use
 * these fields and never reach into the reader's tables.
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** Where a regular file's bytes are: opaque to later stages, used by `readFile`. */
export interface FileLayout {
  /** Absolute image offset of the first data block. */
  readonly blocksStart: number;
  /** One on-disk size word per full or partial block (bit 24 = stored uncompressed; 0 = sparse). */
  readonly blockSizes: Uint32Array;
  /** Fragment table index, or 0xFFFFFFFF for none. */
  readonly fragment: number;
  /** Offset of the tail inside the decompressed fragment block. */
  readonly fragmentOffset: number;
}

export interface Entry {
  /** Path as in the image, `/`-rooted: `/` for the root, `/etc/passwd`. Non-UTF-8 bytes are replaced (U+FFFD). */
  readonly path: string;
  /** The exact path bytes relative to the root, no leading `/`: empty for the root, `etc/passwd`. */
  readonly rawPath: Uint8Array;
  /** The exact name bytes (empty for the root). */
  readonly rawName: Uint8Array;
  /** Depth below the root: 0 for the root, 1 for `/etc`. */
  readonly depth: number;
  readonly type: EntryType;
  /** Permission bits only (`mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch, unsigned 32-bit. */
  readonly mtime: number;
  /** Bytes for files; target length for symlinks; 0 otherwise. Safe integer. */
  readonly size: number;
  /** Directories: the listing size as stored (the `file_size` field, 3 more than the listing), which `unsquashfs -l` shows. */
  readonly listingSize?: number;
  readonly nlink: number;
  /** The inode number (1..superblock.inodes). */
  readonly inode: number;
  /** The inode reference `(block << 16) | offset`: the identity used for hard links. */
  readonly inodeRef: number;
  /** Symlink target bytes, verbatim (never resolved). */
  readonly target?: Uint8Array;
  /** Symlink target as a string (non-UTF-8 bytes replaced). */
  readonly targetString?: string;
  /** Device numbers for char/block devices. */
  readonly major?: number;
  readonly minor?: number;
  /** Full xattr names (`security.capability`) → raw values, in on-disk order. */
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
  /** For regular files: where the data is. */
  readonly layout?: FileLayout;
}
