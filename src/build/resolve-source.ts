/**
 * SOURCE strings of the CLI and of `build()` → an open ByteSource plus where it came from:
 *
 *   bos:TEMPLATE[#BOOTSET]  BOS session template → boot set → IMS manifest → rootfs in S3
 *   ims:IMAGE_ID            IMS image record → manifest → rootfs in S3
 *   s3://BUCKET/KEY         an object in S3 (STS credentials, or --s3-endpoint + AWS env)
 *   https://… / http://…    any server that honours Range requests
 *   anything else           a local file
 *
 * Remote sources are read in place behind a read-ahead cache, unless `download` names a
 * local file to copy them to first. Closing the returned source closes the CSM context.
 */
import { FileSource } from '../source/file.ts';
import type { ReadAheadOptions } from '../source/read-ahead.ts';
import type { ByteSource } from '../source/byte-source.ts';
import { UaiError, type WarningHandler } from '../errors.ts';
import type { CrayContextOptions } from '../cray/context.ts';
import type { RootfsPlan } from '../cray/rootfs.ts';

/** How the source was resolved; for `--dry-run` output and image annotations. */
export interface SourcePlan extends Omit<RootfsPlan, 'kind' | 'rootfs'> {
  kind: 'bos' | 'ims' | 's3' | 'https' | 'file';
  /** Where the SquashFS bytes are: `s3://…`, an URL (secrets removed), or a path. */
  rootfs: string;
  /** `in-place` (ranged reads) or `download` (copied to `download` first). */
  access: 'in-place' | 'download' | 'local';
  download?: string;
  size?: number;
}

export interface ResolvedSource {
  source: ByteSource;
  /** A description of where the rootfs came from, for annotations and messages. */
  origin: string;
  /** The architecture the source's metadata declares (BOS boot set / IMS record), if any. */
  declaredArch?: string;
  /** How the source was resolved (every kind of SOURCE). */
  plan?: SourcePlan;
}

export interface ResolveSourceOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** CSM gateway, token, tenant, CA, S3 endpoint (for bos:, ims:, s3://). */
  cray?: CrayContextOptions;
  /** Copy a remote rootfs to this local file first (md5-verified when the manifest has one). */
  download?: string;
  /** Resolve and open, but do not download (the plan still names `download`). */
  dryRun?: boolean;
  /** Tuning of the read-ahead cache over remote sources. */
  readAhead?: ReadAheadOptions;
  onWarning?: WarningHandler;
}

/** Splits `bos:TEMPLATE[#BOOTSET]`. */
export function parseBosSpec(spec: string): { template: string; bootSet?: string } | undefined {
  const m = /^bos:([^#]+)(?:#(.+))?$/.exec(spec);
  if (!m) return undefined;
  return m[2] === undefined ? { template: m[1]! } : { template: m[1]!, bootSet: m[2] };
}

export async function resolveSource(spec: string, options: ResolveSourceOptions = {}): Promise<ResolvedSource> {
  options.signal?.throwIfAborted();
  // Remote kinds load their modules (cray clients, the AWS SDK, undici) only when used, so
  // reading a local image does not pay for them.
  if (/^(bos|ims):/.test(spec) || /^(s3|https?):\/\//i.test(spec)) {
    const { resolveRemoteSource } = await import('./resolve-remote.ts');
    return resolveRemoteSource(spec, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new UaiError('UAI_CRAY_CONFIG', `unsupported SOURCE scheme in '${spec.replace(/\?.*$/, '')}' (use a path, s3://, https://, bos: or ims:)`);
  }
  const source = await FileSource.open(spec);
  return { source, origin: spec, plan: { kind: 'file', rootfs: spec, access: 'local', size: source.size } };
}
