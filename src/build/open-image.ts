/**
 * Opens the SquashFS reader over a ByteSource. build.ts depends only on what it uses of
 * the reader: the tar source (walkWithData, superblock.mkfsTime), the rootfs lookups
 * (lookup, readFile) and a metadata-only `stats()` for the progress estimate.
 */
import type { RootfsReader } from '../image/rootfs.ts';
import type { TarSourceImage } from '../layer/layer-tar.ts';
import type { ByteSource } from '../source/byte-source.ts';
import { SquashfsImage } from '../squashfs/image.ts';
import type { WarningHandler } from '../errors.ts';

export type BuildImage = TarSourceImage &
  RootfsReader & {
    stats?(options?: { signal?: AbortSignal }): Promise<{ inodes: number; bytes: number }>;
    /** Closes the source too. */
    close(): Promise<void>;
  };

export async function openSquashfs(source: ByteSource, options: { signal?: AbortSignal; onWarning?: WarningHandler } = {}): Promise<BuildImage> {
  return SquashfsImage.open(source, options);
}
