/**
 * Opens the SquashFS reader over a ByteSource. Kept apart so that build.ts depends only
 * on what it uses of the reader: the tar source (walkWithData, superblock.mkfsTime) and
 * the rootfs lookups (lookup, readFile).
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { RootfsReader } from '../image/rootfs.ts';
import type { TarSourceImage } from '../layer/layer-tar.ts';
import * as squashfs from '../squashfs/index.ts';
import { UaiError } from '../errors.ts';

export type BuildImage = TarSourceImage & RootfsReader & { close?(): Promise<void> };

interface ReaderModule {
  SquashfsImage?: { open(source: ByteSource, options?: Record<string, unknown>): Promise<BuildImage> };
}

export async function openSquashfs(source: ByteSource, options: { signal?: AbortSignal } = {}): Promise<BuildImage> {
  const reader = (squashfs as unknown as ReaderModule).SquashfsImage;
  if (!reader) throw new UaiError('UAI_SQFS_UNSUPPORTED', 'the SquashFS reader is not available in this build');
  return reader.open(source, options);
}
