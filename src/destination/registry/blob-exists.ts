/**
 * `HEAD /v2/<repo>/blobs/<digest>`: is the blob there (skip the upload), and how big.
 */
import type { Action } from './auth.ts';
import type { Session } from './session.ts';
import { discard, header } from './http.ts';
import { checkDigest, checkRepo } from './reference.ts';

export interface BlobStat {
  exists: boolean;
  /** From Content-Length, when the registry sent it. */
  size?: number;
}

export async function statBlob(
  session: Session,
  repo: string,
  digest: string,
  signal?: AbortSignal,
  actions: readonly Action[] = ['pull'],
): Promise<BlobStat> {
  checkRepo(repo);
  checkDigest(digest);
  const res = await session.request({
    method: 'HEAD',
    url: `/v2/${repo}/blobs/${digest}`,
    repo,
    actions,
    ok: [200, 404],
    what: `blob check of ${digest}`,
    ...(signal === undefined ? {} : { signal }),
  });
  await discard(res);
  if (res.status === 404) return { exists: false };
  const length = Number(header(res, 'content-length'));
  return Number.isSafeInteger(length) && length >= 0 ? { exists: true, size: length } : { exists: true };
}
