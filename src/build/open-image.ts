/**
 * Opens the SquashFS reader over a ByteSource. build.ts depends only on what it uses of
 * the reader: the tar source (walkWithData, superblock.mkfsTime), the rootfs lookups
 * (lookup, readFile), `inodeTotals()` for the progress estimate and a metadata-only
 * `stats()` for the dry-run plan.
 */
import type { RootfsReader } from '../image/rootfs.ts';
import type { TarSourceImage } from '../layer/layer-tar.ts';
import type { ByteSource } from '../source/byte-source.ts';
import { SquashfsImage } from '../squashfs/image.ts';
import type { WarningHandler } from '../errors.ts';
import { resolveSource, type ResolveSourceOptions, type SourcePlan } from './resolve-source.ts';

export type BuildImage = TarSourceImage &
  RootfsReader & {
    stats?(options?: { signal?: AbortSignal }): Promise<{ inodes: number; bytes: number }>;
    inodeTotals?(): { inodes: number; fileBytes: number };
    /** Closes the source too. */
    close(): Promise<void>;
  };

export async function openSquashfs(source: ByteSource, options: { signal?: AbortSignal; onWarning?: WarningHandler } = {}): Promise<BuildImage> {
  return SquashfsImage.open(source, options);
}

/** Where build() and planBuild() read from: the SOURCE as given or resolved, and whether they own it. */
export interface BuildSource {
  source: ByteSource;
  origin: string;
  declaredArch?: string;
  plan?: SourcePlan;
  /** True when the SOURCE string was resolved here: then closing it is ours to do. */
  owned: boolean;
}

/** Resolves `options.source` (a SOURCE string or an open ByteSource) the same way for a build and a plan. */
export async function buildSource(
  given: string | ByteSource,
  options: { env: NodeJS.ProcessEnv; resolve?: ResolveSourceOptions; dryRun?: boolean; signal?: AbortSignal },
): Promise<BuildSource> {
  if (typeof given !== 'string') return { source: given, origin: given.name, owned: false };
  const resolved = await resolveSource(given, {
    env: options.env,
    ...options.resolve,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { ...resolved, owned: true };
}
