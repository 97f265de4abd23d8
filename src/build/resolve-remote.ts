/**
 * The remote half of resolveSource: BOS/IMS/S3 through the CSM clients, and HTTPS with
 * Range reads, each behind the read-ahead cache. Loaded on demand by resolve-source.ts.
 */
import { FileSource } from '../source/file.ts';
import { HttpSource } from '../source/http.ts';
import { ReadAheadSource } from '../source/read-ahead.ts';
import { downloadToFile } from '../source/download.ts';
import { parseS3Url } from '../source/s3.ts';
import { createCrayContext, type CrayContext } from '../cray/context.ts';
import { locateBosRootfs, locateImsRootfs, openS3Rootfs, type RootfsLocation } from '../cray/rootfs.ts';
import { Agent } from 'undici';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { UaiError } from '../errors.ts';
import { parseBosSpec, type ResolvedSource, type ResolveSourceOptions, type SourcePlan } from './resolve-source.ts';

/** `bos:`, `ims:`, `s3://` and `https://` SOURCEs (see resolve-source.ts). */
export async function resolveRemoteSource(spec: string, options: ResolveSourceOptions): Promise<ResolvedSource> {
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

  if (!/^https?:\/\//i.test(spec)) {
    throw new UaiError('UAI_CRAY_CONFIG', `invalid SOURCE '${spec}': expected bos:TEMPLATE[#BOOTSET], ims:IMAGE_ID, s3://BUCKET/KEY or https://URL`);
  }
  return openHttp(spec, options);
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
