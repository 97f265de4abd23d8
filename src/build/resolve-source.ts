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
import { HttpSource } from '../source/http.ts';
import { ReadAheadSource, type ReadAheadOptions } from '../source/read-ahead.ts';
import { downloadToFile } from '../source/download.ts';
import { parseS3Url } from '../source/s3.ts';
import type { ByteSource } from '../source/byte-source.ts';
import type { WarningHandler } from '../errors.ts';
import { createCrayContext, type CrayContext, type CrayContextOptions } from '../cray/context.ts';
import { locateBosRootfs, locateImsRootfs, openS3Rootfs, type RootfsLocation, type RootfsPlan } from '../cray/rootfs.ts';
import { CrayError } from '../cray/errors.ts';
import { Agent } from 'undici';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';

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
  const signal = options.signal ? { signal: options.signal } : {};
  const bos = parseBosSpec(spec);
  const ims = /^ims:(.+)$/.exec(spec);
  const s3 = parseS3Url(spec);

  if (bos || ims || s3) {
    const ctx = await createCrayContext({
      ...(options.env ? { env: options.env } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...options.cray,
      ...signal,
    });
    try {
      let loc: RootfsLocation;
      if (bos) loc = await locateBosRootfs(ctx, bos.template, bos.bootSet, signal);
      else if (ims) loc = await locateImsRootfs(ctx, ims[1]!, signal);
      else loc = { bucket: s3!.bucket, key: s3!.key, plan: { kind: 's3', rootfs: spec } };
      return await openLocated(ctx, spec, loc, options);
    } catch (err) {
      await ctx.close();
      throw err;
    }
  }

  if (/^https?:\/\//i.test(spec)) return openHttp(spec, options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new CrayError('UAI_CRAY_CONFIG', `unsupported SOURCE scheme in '${spec.replace(/\?.*$/, '')}' (use a path, s3://, https://, bos: or ims:)`);
  }
  const source = await FileSource.open(spec);
  return { source, origin: spec, plan: { kind: 'file', rootfs: spec, access: 'local', size: source.size } };
}

async function openLocated(ctx: CrayContext, spec: string, loc: RootfsLocation, options: ResolveSourceOptions): Promise<ResolvedSource> {
  const download = options.dryRun ? undefined : options.download;
  const source = await openS3Rootfs(ctx, loc.bucket, loc.key, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(download ? { download } : {}),
    ...(loc.md5 ? { md5: loc.md5 } : {}),
    ...(options.readAhead ? { readAhead: options.readAhead } : {}),
    onClose: () => ctx.close(),
  });
  const plan: SourcePlan = {
    ...loc.plan,
    access: options.download ? 'download' : 'in-place',
    ...(options.download ? { download: options.download } : {}),
    size: source.size,
  };
  const origin = loc.plan.kind === 's3' ? spec : `${spec} (${loc.plan.rootfs})`;
  return { source, origin, ...(loc.declaredArch ? { declaredArch: loc.declaredArch } : {}), plan };
}

async function openHttp(spec: string, options: ResolveSourceOptions): Promise<ResolvedSource> {
  const signal = options.signal ? { signal: options.signal } : {};
  const caFile = options.cray?.caFile;
  const ca = caFile ? await readFile(caFile, 'utf8') : undefined;
  const dispatcher = ca ? new Agent({ connect: { ca: [...rootCertificates, ca] } }) : undefined;
  const closeDispatcher = async () => {
    await dispatcher?.close();
  };
  try {
    const http = await HttpSource.open(spec, { ...signal, ...(dispatcher ? { dispatcher } : {}) });
    const remote = new ReadAheadSource(http, { ...options.readAhead, onClose: closeDispatcher });
    const plan: SourcePlan = { kind: 'https', rootfs: http.name, access: 'in-place', size: http.size };
    if (options.download && !options.dryRun) {
      try {
        await downloadToFile(remote, options.download, signal);
      } finally {
        await remote.close();
      }
      const file = await FileSource.open(options.download);
      return { source: file, origin: http.name, plan: { ...plan, access: 'download', download: options.download } };
    }
    return { source: remote, origin: http.name, plan: options.download ? { ...plan, access: 'download', download: options.download } : plan };
  } catch (err) {
    await closeDispatcher();
    throw err;
  }
}
