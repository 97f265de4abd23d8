/**
 * `build(options)`: the library's one call from a SquashFS to published images.
 *
 *   resolve SOURCE → open the reader → decide arch, created, entrypoint; check the UAI
 *   profile's /usr/bin/uai-ssh.sh (fail here, before anything is published) → open every
 *   DEST and check access → stream the layer once per compression, teed to the
 *   destinations → config and manifest per destination → tag.
 */
import type { Destination, DestinationResult } from '../destination/destination.ts';
import type { RegistryClientFactory } from '../destination/docker.ts';
import { openDestination } from '../destination/open-destination.ts';
import type { RegistryClientOptions } from '../destination/registry/client-api.ts';
import { parseDestination } from '../destination/transport.ts';
import { UaiError, type WarningHandler } from '../errors.ts';
import { createdTime } from '../image/created.ts';
import { parseArch } from '../image/elf-arch.ts';
import { parseCmd, parseEntrypoint, parseKeyValues } from '../image/entrypoint.ts';
import { ImageError } from '../image/errors.ts';
import { assembleImage, type Image } from '../image/image.ts';
import type { ImageFormat } from '../image/media-types.ts';
import { checkCompressionLevel, compressLayer, type LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Injection } from '../layer/inject.ts';
import type { Layer } from '../layer/layer.ts';
import { createSquashfsLayer } from '../layer/squashfs-layer.ts';
import type { ByteSource } from '../source/byte-source.ts';
import { openSquashfs, type BuildImage } from './open-image.ts';
import { countingLayer, decidePlatform, requireUaiSsh, uaiSshDefaults } from './rootfs-checks.ts';
import { publish, type BuildProgress } from './publish.ts';
import { resolveSource, type ResolveSourceOptions } from './resolve-source.ts';
import { fetchUaiSsh } from './uai-ssh-from.ts';

export const UAI_ENTRYPOINT: readonly string[] = ['/usr/bin/uai-ssh.sh'];

export interface BuildOptions {
  /** A SOURCE string (path, s3://, https://, bos:, ims:) or an open ByteSource. */
  source: string | ByteSource;
  /** DEST strings: docker://HOST/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG]. */
  destinations: readonly string[];
  /** `uai` (default): entrypoint /usr/bin/uai-ssh.sh, default excludes, uai-ssh.sh required. `plain`: none of it. */
  profile?: 'uai' | 'plain';
  /** JSON array string or array = exec form; other string = `/bin/sh -c STRING` (podman import --change). */
  entrypoint?: string | readonly string[];
  cmd?: string | readonly string[];
  /** `KEY=VALUE`. */
  env?: readonly string[];
  /** `KEY=VALUE` strings or a record. */
  labels?: readonly string[] | Readonly<Record<string, string>>;
  /**
   * Manifest annotations (OCI only; `KEY=VALUE` strings or a record), e.g. provenance a
   * user wants recorded. None are added by default: nothing in the config or manifest
   * depends on how SOURCE was spelled.
   */
  annotations?: readonly string[] | Readonly<Record<string, string>>;
  workdir?: string;
  user?: string;
  /** `amd64`, `arm64`, `arm64/v8`… (default: from /bin/sh's ELF header). */
  arch?: string;
  /** Layer compression for registry and OCI destinations (default none: `…layer.v1.tar`). */
  compression?: LayerCompression;
  compressionLevel?: number;
  /** Registry manifest format (default oci; docker = v2 schema2 with a gzip layer). */
  format?: ImageFormat;
  exclude?: readonly string[];
  /** Default: true for the uai profile, false for plain. */
  defaultExcludes?: boolean;
  add?: readonly Injection[];
  allowWhiteoutNames?: boolean;
  /** `docker://REF` of an image to take /usr/bin/uai-ssh.sh from. */
  uaiSshFrom?: string;
  creds?: { username: string; password: string };
  authfile?: string;
  tlsVerify?: boolean;
  certDir?: string;
  caFile?: string;
  chunkSize?: number;
  /** Extra options for resolving SOURCE (CSM context, …). */
  resolve?: ResolveSourceOptions;
  /** Environment for SOURCE_DATE_EPOCH and credential lookups (default process.env). */
  environment?: NodeJS.ProcessEnv;
  /** Base for relative destination paths (default process.cwd()). */
  cwd?: string;
  signal?: AbortSignal;
  onProgress?: (event: BuildProgress) => void;
  onWarning?: WarningHandler;
  /** For tests: how registry clients are made. */
  clientFactory?: RegistryClientFactory;
}

export interface BuildResult {
  manifestDigest: string;
  configDigest: string;
  layer: { digest: string; diffId: string; size: number; mediaType: string };
  architecture: string;
  variant?: string;
  created: string;
  /** One per destination: `HOST/REPO@sha256:…`, `oci:DIR:TAG`, … */
  references: string[];
  destinations: DestinationResult[];
  timings: { resolveMs: number; checkMs: number; publishMs: number; totalMs: number };
}

function invalid(message: string, field: string): ImageError {
  return new ImageError('UAI_IMAGE_INVALID_OPTION', message, { details: { field } });
}

/**
 * Option pairs that would be silently ignored: Docker schema2 has no zstd layer type (the
 * registry would get gzip), and a level means nothing without compression.
 */
export function compressionConflict(format: ImageFormat | undefined, compression: LayerCompression | undefined, level: number | undefined): { message: string; field: string } | undefined {
  if (format === 'docker' && compression === 'zstd') {
    return { message: '--format docker cannot carry a zstd layer (Docker v2 schema2 layers are gzip): use --compression gzip, or --format oci', field: 'compression' };
  }
  if (level !== undefined && (compression === undefined || compression === 'none')) {
    return { message: `--compression-level ${level} needs --compression gzip or zstd (the layer is not compressed)`, field: 'compressionLevel' };
  }
  return undefined;
}

function labelsRecord(labels: BuildOptions['labels'] | BuildOptions['annotations'], field = 'label'): Record<string, string> {
  if (labels === undefined) return {};
  if (Array.isArray(labels)) return Object.fromEntries(parseKeyValues(labels as readonly string[], field));
  return { ...(labels as Record<string, string>) };
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const t0 = performance.now();
  const signal = options.signal;
  const profile = options.profile ?? 'uai';
  if (profile !== 'uai' && profile !== 'plain') throw invalid(`profile ${JSON.stringify(profile)} is not uai or plain`, 'profile');
  const compression = options.compression ?? 'none';
  if (!['none', 'gzip', 'zstd'].includes(compression)) throw invalid(`compression ${JSON.stringify(compression)} is not none, gzip or zstd`, 'compression');
  checkCompressionLevel(compression, options.compressionLevel);
  const format = options.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker') throw invalid(`format ${JSON.stringify(format)} is not oci or docker`, 'format');
  const conflict = compressionConflict(format, options.compression, options.compressionLevel);
  if (conflict) throw invalid(conflict.message, conflict.field);
  if (options.destinations.length === 0) throw invalid('no destination given', 'destinations');
  const refs = options.destinations.map((d) => parseDestination(d));
  const env = options.env ? [...options.env] : [];
  parseKeyValues(env, 'env');
  const labels = labelsRecord(options.labels);
  const annotations = labelsRecord(options.annotations, 'annotation');
  const platformOverride = options.arch ? parseArch(options.arch) : undefined;
  const environment = options.environment ?? process.env;
  const registry: RegistryClientOptions = {
    env: environment,
    ...(options.creds ? { creds: options.creds } : {}),
    ...(options.authfile ? { authfile: options.authfile } : {}),
    ...(options.tlsVerify !== undefined ? { tlsVerify: options.tlsVerify } : {}),
    ...(options.certDir ? { certDir: options.certDir } : {}),
    ...(options.caFile ? { caFile: options.caFile } : {}),
    ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  };

  options.onProgress?.({ phase: 'resolve' });
  let source: ByteSource;
  let origin: string;
  let declaredArch: string | undefined;
  const ownSource = typeof options.source === 'string';
  if (typeof options.source === 'string') {
    const resolved = await resolveSource(options.source, { env: environment, ...options.resolve, ...(signal ? { signal } : {}) });
    ({ source, origin, declaredArch } = resolved);
  } else {
    source = options.source;
    origin = source.name;
  }
  let image: BuildImage | undefined;
  try {
    image = await openSquashfs(source, { ...(signal ? { signal } : {}), ...(options.onWarning ? { onWarning: options.onWarning } : {}) });
    const t1 = performance.now();
    options.onProgress?.({ phase: 'check' });

    // Everything that can fail for a reason in the rootfs or the options fails here, before publishing.
    const platform = await decidePlatform(image, {
      origin,
      ...(platformOverride ? { override: platformOverride } : {}),
      ...(declaredArch ? { declaredArch } : {}),
      ...(signal ? { signal } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    const add = profile === 'uai' ? uaiSshDefaults(options.add ?? []) : [...(options.add ?? [])];
    if (options.uaiSshFrom) {
      add.push(await fetchUaiSsh(options.uaiSshFrom, { registry, architecture: platform.architecture, ...(signal ? { signal } : {}) }));
    }
    if (profile === 'uai') {
      await requireUaiSsh(image, { add, origin, ...(signal ? { signal } : {}), ...(options.onWarning ? { onWarning: options.onWarning } : {}) });
    }
    const created = createdTime({ env: environment, mkfsTime: image.superblock.mkfsTime });
    const entrypoint =
      options.entrypoint !== undefined ? parseEntrypoint(options.entrypoint) : profile === 'uai' ? [...UAI_ENTRYPOINT] : undefined;
    const cmd = options.cmd !== undefined ? parseCmd(options.cmd) : undefined;

    const inner = createSquashfsLayer(image, {
      exclude: options.exclude ?? [],
      defaultExcludes: options.defaultExcludes ?? profile === 'uai',
      add,
      allowWhiteoutNames: options.allowWhiteoutNames ?? false,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...(signal ? { signal } : {}),
    });
    // Progress counts the uncompressed tar; its total is estimated from a metadata walk.
    let total: number | undefined;
    if (options.onProgress && image.stats) {
      const stats = await image.stats(signal ? { signal } : {});
      total = stats.bytes + stats.inodes * 1024;
    }
    const progressed = options.onProgress ? countingLayer(inner, (bytes) => options.onProgress!({ phase: 'layer', bytes, ...(total ? { total } : {}) })) : inner;
    const variants = new Map<LayerCompression, Layer>();
    const layerVariant = (c: LayerCompression): Layer => {
      let layer = variants.get(c);
      if (!layer) {
        const level = c === compression ? options.compressionLevel : undefined;
        layer = compressLayer(progressed, { compression: c, ...(level !== undefined ? { level } : {}) });
        variants.set(c, layer);
      }
      return layer;
    };
    const assemble = (fmt: ImageFormat, layers: readonly Layer[]): Image =>
      assembleImage({
        format: fmt,
        layers,
        config: {
          architecture: platform.architecture,
          ...(platform.variant ? { variant: platform.variant } : {}),
          os: 'linux',
          created: created.rfc3339,
          ...(entrypoint ? { entrypoint } : {}),
          ...(cmd ? { cmd } : {}),
          env,
          ...(options.workdir ? { workingDir: options.workdir } : {}),
          ...(options.user ? { user: options.user } : {}),
          labels,
          // Nothing here names the source: the same rootfs gives the same digests whether
          // it was read as a relative path, an absolute path, s3://, bos: or ims:.
          createdBy: 'uai-assembler build',
        },
        annotations: { ...annotations, 'org.opencontainers.image.created': created.rfc3339 },
      });

    const destinations: Destination[] = [];
    try {
      for (const ref of refs) {
        destinations.push(
          openDestination(ref, {
            format,
            registry,
            mtime: created.seconds,
            ...(options.cwd ? { cwd: options.cwd } : {}),
            ...(options.clientFactory ? { clientFactory: options.clientFactory } : {}),
            ...(options.onWarning ? { onWarning: options.onWarning } : {}),
          }),
        );
      }
    } catch (err) {
      // e.g. an unreadable --cert-dir: release the clients already made.
      await Promise.all(destinations.map((d) => d.close().catch(() => undefined)));
      throw err;
    }
    const t2 = performance.now();
    const results = await publish({
      destinations,
      compression,
      layerVariant,
      assemble,
      ...(signal ? { signal } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const t3 = performance.now();
    options.onProgress?.({ phase: 'done' });
    const main = results.find((r) => r.transport === 'docker') ?? results.find((r) => r.transport !== 'docker-archive') ?? results[0]!;
    return {
      manifestDigest: main.manifestDigest,
      configDigest: main.configDigest,
      layer: main.layer,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: created.rfc3339,
      references: results.map((r) => r.reference),
      destinations: results,
      timings: { resolveMs: Math.round(t1 - t0), checkMs: Math.round(t2 - t1), publishMs: Math.round(t3 - t2), totalMs: Math.round(t3 - t0) },
    };
  } catch (err) {
    if (signal?.aborted && !(err instanceof UaiError && err.code === 'UAI_ABORTED')) {
      throw signal.reason instanceof Error ? signal.reason : err;
    }
    throw err;
  } finally {
    // Closing the image closes its source: only when build() opened that source itself.
    if (ownSource) await (image ? image.close() : source.close()).catch(() => undefined);
  }
}
