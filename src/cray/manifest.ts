/**
 * The IMS image manifest (`s3://boot-images/<id>/manifest.json`), validated the way IMS
 * and BOS do: a JSON object of at most 1 MiB, `version` "1.0", `artifacts` a list, and
 * exactly one artifact of type `application/vnd.cray.image.rootfs.squashfs` whose
 * `link` is `{type: 's3', path: 's3://bucket/key'}`. We take that `link.path`; we never
 * guess `<id>/rootfs`.
 */
import { parseS3Url } from '../source/s3.ts';
import { CrayError } from './errors.ts';

export const ROOTFS_ARTIFACT_TYPE = 'application/vnd.cray.image.rootfs.squashfs';
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface RootfsArtifact {
  bucket: string;
  key: string;
  /** `s3://bucket/key`. */
  url: string;
  /** The artifact's md5 (hex), to verify a download. */
  md5?: string;
  /** The S3 ETag recorded at upload; for multipart uploads not an MD5. */
  etag?: string;
}

export function parseImsManifest(bytes: Uint8Array, where: string): RootfsArtifact {
  const bad = (why: string, details: Record<string, unknown> = {}) =>
    new CrayError('UAI_CRAY_MANIFEST', `${where}: invalid IMS manifest: ${why}`, { details: { manifest: where, ...details } });
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`${bytes.length} bytes is more than ${MAX_MANIFEST_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad('not a JSON object');
  const m = json as { version?: unknown; artifacts?: unknown };
  if (m.version !== '1.0') throw bad(`version ${JSON.stringify(m.version)} is not "1.0"`, { version: m.version });
  if (!Array.isArray(m.artifacts)) throw bad('artifacts is not a list');
  const rootfs = m.artifacts.filter((a: unknown) => !!a && typeof a === 'object' && (a as { type?: unknown }).type === ROOTFS_ARTIFACT_TYPE);
  if (rootfs.length !== 1) {
    throw bad(`${rootfs.length} artifacts of type ${ROOTFS_ARTIFACT_TYPE} (exactly one is needed)`, { rootfsArtifacts: rootfs.length });
  }
  const art = rootfs[0] as { link?: { path?: unknown; type?: unknown; etag?: unknown }; md5?: unknown };
  if (!art.link || typeof art.link !== 'object') throw bad('the rootfs artifact has no link');
  if (art.link.type !== undefined && art.link.type !== 's3') throw bad(`the rootfs link type is ${JSON.stringify(art.link.type)}, not "s3"`);
  if (typeof art.link.path !== 'string') throw bad('the rootfs link has no path');
  const loc = parseS3Url(art.link.path);
  if (!loc) throw bad(`the rootfs link path '${art.link.path}' is not s3://BUCKET/KEY`);
  const out: RootfsArtifact = { ...loc, url: art.link.path };
  if (typeof art.md5 === 'string' && /^[0-9a-fA-F]{32}$/.test(art.md5)) out.md5 = art.md5.toLowerCase();
  else if (art.md5 !== undefined && art.md5 !== '') throw bad(`the rootfs md5 ${JSON.stringify(art.md5)} is not 32 hex digits`);
  if (typeof art.link.etag === 'string' && art.link.etag) out.etag = art.link.etag.replace(/^"|"$/g, '');
  return out;
}
