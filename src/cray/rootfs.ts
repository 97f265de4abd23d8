/**
 * From a BOS session template or an IMS image id to the rootfs SquashFS in S3, and an
 * open ByteSource over it:
 *   bos:TEMPLATE[#BOOTSET] → boot set → its manifest.json (S3) → the rootfs artifact's link.path
 *   ims:IMAGE_ID           → IMS record's link.path (manifest.json) → the same
 * The SquashFS is read in place (ranged GETs under a read-ahead cache), or with
 * `download` copied to a local file first and checked against the manifest's md5.
 */
import type { ByteSource } from '../source/byte-source.ts';
import { downloadToFile } from '../source/download.ts';
import { FileSource } from '../source/file.ts';
import { isTransientSourceError, ReadAheadSource, type ReadAheadOptions } from '../source/read-ahead.ts';
import { getS3Object, parseS3Url, S3Source } from '../source/s3.ts';
import { getSessionTemplate, normalizeArch, selectBootSet } from './bos.ts';
import type { CrayContext } from './context.ts';
import { CrayError } from './errors.ts';
import { getImsImage } from './ims.ts';
import { MAX_MANIFEST_BYTES, parseImsManifest } from './manifest.ts';

/** S3 error codes that mean "these credentials expired": renew them and retry. */
const EXPIRED_CREDENTIAL_CODES = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired', 'RequestExpired', 'InvalidToken']);

/** How a rootfs was found: printed by `--dry-run` and kept as provenance. */
export interface RootfsPlan {
  kind: 'bos' | 'ims' | 's3';
  gateway?: string;
  tenant?: string;
  template?: string;
  bosApi?: 'v1' | 'v2';
  bootSet?: string;
  imageId?: string;
  imageName?: string;
  /** `s3://…/manifest.json`. */
  manifest?: string;
  /** `s3://bucket/key` of the SquashFS. */
  rootfs: string;
  md5?: string;
  etag?: string;
  /** The arch as the metadata spells it (BOS `X86`/`ARM`, IMS `x86_64`/`aarch64`). */
  arch?: string;
}

export interface RootfsLocation {
  bucket: string;
  key: string;
  md5?: string;
  /** The architecture the metadata declares, as an ELF machine name (`x86_64`, `aarch64`). */
  declaredArch?: string;
  plan: RootfsPlan;
}

async function readManifest(ctx: CrayContext, manifestUrl: string, what: string, signal?: AbortSignal) {
  const loc = parseS3Url(manifestUrl);
  if (!loc) {
    throw new CrayError('UAI_CRAY_MANIFEST', `${what}: manifest path '${manifestUrl}' is not s3://BUCKET/KEY`, { details: { manifest: manifestUrl } });
  }
  const client = await ctx.s3Client(signal ? { signal } : {});
  let object: { bytes: Uint8Array; etag?: string };
  try {
    object = await getS3Object(client, loc.bucket, loc.key, { maxBytes: MAX_MANIFEST_BYTES, ...(signal ? { signal } : {}) });
  } catch (err) {
    const size = (err as { code?: string; details?: { size?: unknown } }).details?.size;
    if ((err as { code?: string }).code === 'UAI_SOURCE_RANGE') {
      throw new CrayError('UAI_CRAY_MANIFEST', `${manifestUrl}: invalid IMS manifest: ${String(size)} bytes is more than ${MAX_MANIFEST_BYTES}`, {
        cause: err,
        details: { manifest: manifestUrl, size },
      });
    }
    throw err;
  }
  return { artifact: parseImsManifest(object.bytes, manifestUrl), etag: object.etag };
}

export async function locateBosRootfs(ctx: CrayContext, template: string, bootSetName?: string, options: { signal?: AbortSignal } = {}): Promise<RootfsLocation> {
  const { template: t, api } = await getSessionTemplate(ctx, template, options);
  const { name, bootSet } = selectBootSet(t, template, bootSetName);
  const { artifact, etag } = await readManifest(ctx, bootSet.path, `BOS template '${template}' boot set '${name}'`, options.signal);
  if (bootSet.etag && etag && bootSet.etag !== etag) {
    ctx.onWarning?.({
      code: 'UAI_CRAY_ETAG_MISMATCH',
      message: `${bootSet.path}: ETag ${etag} differs from the boot set's etag ${bootSet.etag} (the manifest changed since the template was written)`,
      details: { manifest: bootSet.path, etag, bootSetEtag: bootSet.etag },
    });
  }
  const declaredArch = normalizeArch(bootSet.arch);
  const plan: RootfsPlan = {
    kind: 'bos',
    gateway: ctx.gateway.origin,
    ...(ctx.tenant ? { tenant: ctx.tenant } : {}),
    template,
    bosApi: api,
    bootSet: name,
    manifest: bootSet.path,
    rootfs: artifact.url,
    ...(artifact.md5 ? { md5: artifact.md5 } : {}),
    ...(artifact.etag ? { etag: artifact.etag } : {}),
    ...(typeof bootSet.arch === 'string' ? { arch: bootSet.arch } : {}),
  };
  return { bucket: artifact.bucket, key: artifact.key, ...(artifact.md5 ? { md5: artifact.md5 } : {}), ...(declaredArch ? { declaredArch } : {}), plan };
}

export async function locateImsRootfs(ctx: CrayContext, imageId: string, options: { signal?: AbortSignal } = {}): Promise<RootfsLocation> {
  const image = await getImsImage(ctx, imageId, options);
  const manifestUrl = image.link!.path;
  const { artifact } = await readManifest(ctx, manifestUrl, `IMS image '${imageId}'`, options.signal);
  const declaredArch = normalizeArch(image.arch);
  const plan: RootfsPlan = {
    kind: 'ims',
    gateway: ctx.gateway.origin,
    ...(ctx.tenant ? { tenant: ctx.tenant } : {}),
    imageId,
    ...(typeof image.name === 'string' ? { imageName: image.name } : {}),
    manifest: manifestUrl,
    rootfs: artifact.url,
    ...(artifact.md5 ? { md5: artifact.md5 } : {}),
    ...(artifact.etag ? { etag: artifact.etag } : {}),
    ...(typeof image.arch === 'string' ? { arch: image.arch } : {}),
  };
  return { bucket: artifact.bucket, key: artifact.key, ...(artifact.md5 ? { md5: artifact.md5 } : {}), ...(declaredArch ? { declaredArch } : {}), plan };
}

export interface OpenRootfsOptions {
  signal?: AbortSignal;
  /** Copy the object to this local file first (verified against `md5` when given). */
  download?: string;
  md5?: string;
  readAhead?: ReadAheadOptions;
  /** Runs when the returned source is closed (e.g. closing the context). */
  onClose?: () => Promise<void>;
}

/** An S3 object as a ByteSource: in place behind a read-ahead cache, or downloaded. */
export async function openS3Rootfs(ctx: CrayContext, bucket: string, key: string, options: OpenRootfsOptions = {}): Promise<ByteSource> {
  const signal = options.signal ? { signal: options.signal } : {};
  const client = await ctx.s3Client(signal);
  const s3 = await S3Source.open(client, bucket, key, signal);
  const onRetry: ReadAheadOptions['onRetry'] = (info) =>
    ctx.onWarning?.({
      code: 'UAI_CRAY_S3_RETRY',
      message: `${s3.name}: retrying a read of ${info.length} bytes at offset ${info.offset} (attempt ${info.attempt}): ${(info.error as Error).message}`,
      details: { source: s3.name, offset: info.offset, length: info.length, attempt: info.attempt },
    });
  // Credentials S3 calls expired before their time: renew them and retry.
  const isTransient = (err: unknown): boolean => {
    const s3Code = (err as { details?: { s3Code?: unknown } }).details?.s3Code;
    if (typeof s3Code === 'string' && EXPIRED_CREDENTIAL_CODES.has(s3Code) && ctx.sts) {
      ctx.sts.invalidate();
      return true;
    }
    return isTransientSourceError(err);
  };
  if (!options.download) {
    return new ReadAheadSource(s3, { onRetry, isTransient, ...options.readAhead, ...(options.onClose ? { onClose: options.onClose } : {}) });
  }
  // The manifest's md5; else the object's ETag when it is a plain MD5 (a single-part
  // upload: multipart ETags look like `<hex>-<parts>` and are not checksums of the object).
  const expected = options.md5 ?? (s3.etag && /^[0-9a-f]{32}$/i.test(s3.etag) ? s3.etag.toLowerCase() : undefined);
  const remote = new ReadAheadSource(s3, { onRetry, isTransient, ...options.readAhead, windowSize: 8 * 1024 * 1024, readAhead: 4 });
  try {
    await downloadToFile(remote, options.download, { ...signal, ...(expected ? { md5: expected } : {}) });
  } catch (err) {
    const d = (err as { details?: { expected?: unknown } }).details;
    if (d?.expected !== undefined) throw new CrayError('UAI_CRAY_CHECKSUM', (err as Error).message, { cause: err, details: { ...d } });
    throw err;
  } finally {
    await remote.close();
  }
  if (!expected) {
    ctx.onWarning?.({
      code: 'UAI_CRAY_NO_MD5',
      message: `${s3.name}: no md5 in the manifest and a multipart ETag, so the download to ${options.download} is not verified`,
      details: { source: s3.name, path: options.download },
    });
  }
  const file = await FileSource.open(options.download);
  if (!options.onClose) return file;
  const onClose = options.onClose;
  return {
    size: file.size,
    name: file.name,
    read: (offset, length, o) => file.read(offset, length, o),
    async close() {
      try {
        await file.close();
      } finally {
        await onClose();
      }
    },
  };
}
