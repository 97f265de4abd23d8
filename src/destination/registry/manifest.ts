/**
 * Manifests: PUT with the exact Content-Type and Content-Length (Nexus's `oci` format
 * wants the length; distribution wants the type to equal the body's `mediaType`), the
 * registry's Docker-Content-Digest compared with ours; GET with an Accept list and the
 * digest verified.
 */
import { createHash } from 'node:crypto';
import type { FetchedManifest } from './client-api.ts';
import { RegistryError } from './errors.ts';
import { discard, header, readBytes } from './http.ts';
import { checkReference, checkRepo, isDigest } from './reference.ts';
import type { Session } from './session.ts';

/** Registries must accept at least 4 MiB; we refuse to read more than 16 MiB back. */
export const MAX_MANIFEST_BYTES = 16 << 20;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function putManifest(
  session: Session,
  repo: string,
  reference: string,
  body: Uint8Array,
  mediaType: string,
  signal?: AbortSignal,
): Promise<{ digest: string }> {
  checkRepo(repo);
  checkReference(reference);
  const digest = sha256Digest(body);
  if (isDigest(reference) && reference !== digest) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `manifest for ${repo}@${reference}: its bytes hash to ${digest}`, {
      details: { reference, digest },
    });
  }
  const res = await session.request({
    method: 'PUT',
    url: `/v2/${repo}/manifests/${reference}`,
    headers: { 'content-type': mediaType, 'content-length': String(body.length) },
    body,
    repo,
    actions: ['pull', 'push'],
    ok: [201, 200, 202, 204],
    what: `manifest ${repo}:${reference}`,
    ...(signal === undefined ? {} : { signal }),
  });
  await discard(res);
  const reported = header(res, 'docker-content-digest');
  if (reported !== undefined && reported !== digest) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `the registry reports manifest ${repo}:${reference} as ${reported}, but we sent ${digest}`, {
      status: res.status,
      method: 'PUT',
      url: res.url,
      details: { expected: digest, reported },
    });
  }
  return { digest };
}

export async function getManifest(
  session: Session,
  repo: string,
  reference: string,
  accept: ReadonlyArray<string>,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  checkRepo(repo);
  checkReference(reference);
  const res = await session.request({
    method: 'GET',
    url: `/v2/${repo}/manifests/${reference}`,
    headers: accept.length === 0 ? {} : { accept: accept.join(', ') },
    repo,
    actions: ['pull'],
    ok: [200],
    what: `manifest ${repo}:${reference}`,
    ...(signal === undefined ? {} : { signal }),
  });
  const contentType = header(res, 'content-type');
  const reported = header(res, 'docker-content-digest');
  const body = await readBytes(res, MAX_MANIFEST_BYTES);
  const digest = sha256Digest(body);
  const expected = isDigest(reference) ? reference : reported?.startsWith('sha256:') ? reported : undefined;
  if (expected !== undefined && expected !== digest) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `manifest ${repo}:${reference} hashes to ${digest}, not ${expected}`, {
      status: res.status,
      method: 'GET',
      url: res.url,
      details: { expected, digest },
    });
  }
  let mediaType = contentType?.split(';')[0]?.trim() ?? '';
  if (mediaType === '' || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
    try {
      const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { mediaType?: unknown };
      if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
    } catch {
      // keep what the header said
    }
  }
  return { body, mediaType, digest };
}
