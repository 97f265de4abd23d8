/**
 * What `build()` and `planBuild()` (the dry run) decide before publishing anything: the
 * options checked (profile, compression and format, DESTs, env, labels, annotations,
 * registry access), then, from the open rootfs, the platform, the files to add, the
 * UAI script rule, the created time, entrypoint and cmd. Sharing this is what makes the
 * dry run fail exactly where the build would.
 */
import type { RegistryClientFactory } from '../destination/docker.ts';
import type { RegistryClientOptions } from '../destination/registry/client-api.ts';
import { parseDestination, type DestinationRef } from '../destination/transport.ts';
import type { WarningHandler } from '../errors.ts';
import { createdTime, type CreatedTime } from '../image/created.ts';
import { parseArch, type Platform } from '../image/elf-arch.ts';
import { parseCmd, parseEntrypoint, parseKeyValues } from '../image/entrypoint.ts';
import { ImageError } from '../image/errors.ts';
import type { ImageFormat } from '../image/media-types.ts';
import { compressionLevelProblem, type LayerCompression } from '../layer/compression/compressed-layer.ts';
import type { Injection } from '../layer/inject.ts';
import type { ByteSource } from '../source/byte-source.ts';
import type { BuildImage } from './open-image.ts';
import type { BuildProgress } from './publish.ts';
import type { ResolveSourceOptions } from './resolve-source.ts';
import { decidePlatform, requireUaiSsh, uaiSshDefaults } from './rootfs-checks.ts';
import { fetchUaiSsh } from './uai-ssh-from.ts';

export const UAI_ENTRYPOINT: readonly string[] = ['/usr/bin/uai-ssh.sh'];

/** Registry access, passed to every docker:// destination (and --uai-ssh-from) as given. */
export type BuildRegistryOptions = Pick<RegistryClientOptions, 'creds' | 'authfile' | 'tlsVerify' | 'certDir' | 'caFile' | 'chunkSize'>;

export interface BuildOptions extends BuildRegistryOptions {
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

/** The options after checking: everything `build()` needs that does not come from the rootfs. */
export interface CheckedBuildOptions {
  profile: 'uai' | 'plain';
  compression: LayerCompression;
  format: ImageFormat;
  refs: DestinationRef[];
  env: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  platformOverride: Platform | undefined;
  environment: NodeJS.ProcessEnv;
  registry: RegistryClientOptions;
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

function keyValues(values: readonly string[] | Readonly<Record<string, string>> | undefined, field: string): Record<string, string> {
  if (values === undefined) return {};
  if (Array.isArray(values)) return Object.fromEntries(parseKeyValues(values as readonly string[], field));
  return { ...(values as Record<string, string>) };
}

/** Checks every option that needs no rootfs and no network; throws what build() would. */
export function checkBuildOptions(options: BuildOptions): CheckedBuildOptions {
  const profile = options.profile ?? 'uai';
  if (profile !== 'uai' && profile !== 'plain') throw invalid(`profile ${JSON.stringify(profile)} is not uai or plain`, 'profile');
  const compression = options.compression ?? 'none';
  if (!['none', 'gzip', 'zstd'].includes(compression)) throw invalid(`compression ${JSON.stringify(compression)} is not none, gzip or zstd`, 'compression');
  // build()'s option errors are all UAI_IMAGE_INVALID_OPTION (docs/library.md).
  const levelProblem = compressionLevelProblem(compression, options.compressionLevel);
  if (levelProblem !== undefined) throw invalid(levelProblem, 'compressionLevel');
  const format = options.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker') throw invalid(`format ${JSON.stringify(format)} is not oci or docker`, 'format');
  const conflict = compressionConflict(format, options.compression, options.compressionLevel);
  if (conflict) throw invalid(conflict.message, conflict.field);
  if (options.destinations.length === 0) throw invalid('no destination given', 'destinations');
  const refs = options.destinations.map((d) => parseDestination(d));
  const env = options.env ? [...options.env] : [];
  parseKeyValues(env, 'env');
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
  return {
    profile,
    compression,
    format,
    refs,
    env,
    labels: keyValues(options.labels, 'label'),
    annotations: keyValues(options.annotations, 'annotation'),
    platformOverride: options.arch ? parseArch(options.arch) : undefined,
    environment,
    registry,
  };
}

/** What the rootfs (and --uai-ssh-from) decide. */
export interface RootfsDecisions {
  platform: Platform;
  /** `arch-option` (--arch), `elf` (/bin/sh), `source` (the declared arch: no shell in the image). */
  platformFrom: 'arch-option' | 'elf' | 'source';
  /** The files to add, --uai-ssh-from's script included, with the UAI script defaults applied. */
  add: Injection[];
  /** Where /usr/bin/uai-ssh.sh comes from (`not-required` for the plain profile). */
  uaiSsh: 'image' | 'add' | 'uai-ssh-from' | 'not-required';
  created: CreatedTime;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
}

/** The checks on the open rootfs; each failure here happens before anything is published. */
export async function decideFromRootfs(
  image: BuildImage,
  options: BuildOptions,
  checked: CheckedBuildOptions,
  source: { origin: string; declaredArch?: string },
): Promise<RootfsDecisions> {
  const signal = options.signal;
  const { profile, platformOverride } = checked;
  let fromSource = false;
  const platform = await decidePlatform(image, {
    origin: source.origin,
    ...(platformOverride ? { override: platformOverride } : {}),
    ...(source.declaredArch ? { declaredArch: source.declaredArch } : {}),
    ...(signal ? { signal } : {}),
    onWarning: (w) => {
      if (w.code === 'UAI_IMAGE_ARCH_FROM_SOURCE') fromSource = true;
      options.onWarning?.(w);
    },
  });
  const add = profile === 'uai' ? uaiSshDefaults(options.add ?? []) : [...(options.add ?? [])];
  let uaiSsh: RootfsDecisions['uaiSsh'] = 'not-required';
  if (options.uaiSshFrom) {
    add.push(await fetchUaiSsh(options.uaiSshFrom, { registry: checked.registry, architecture: platform.architecture, ...(signal ? { signal } : {}) }));
  }
  if (profile === 'uai') {
    const where = await requireUaiSsh(image, { add, origin: source.origin, ...(signal ? { signal } : {}), ...(options.onWarning ? { onWarning: options.onWarning } : {}) });
    uaiSsh = options.uaiSshFrom ? 'uai-ssh-from' : where;
  }
  const created = createdTime({ env: checked.environment, mkfsTime: image.superblock.mkfsTime });
  const entrypoint = options.entrypoint !== undefined ? parseEntrypoint(options.entrypoint) : profile === 'uai' ? [...UAI_ENTRYPOINT] : undefined;
  const cmd = options.cmd !== undefined ? parseCmd(options.cmd) : undefined;
  return {
    platform,
    platformFrom: platformOverride ? 'arch-option' : fromSource ? 'source' : 'elf',
    add,
    uaiSsh,
    created,
    entrypoint,
    cmd,
  };
}
