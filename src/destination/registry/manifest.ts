/**
 * Manifests: PUT with the exact Content-Type and Content-Length (Nexus's `oci` format
 * wants the length; distribution wants the type to equal the body's `mediaType`), the
 * registry's Docker-Content-Digest compared with ours; GET with an Accept list and the
 * digest verified.
 */
import { createHash } from 'node:crypto';
import type { WarningHandler } from '../../errors.ts';
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
  onWarning?: WarningHandler,
): Promise<{ digest: string }> {
  checkRepo(repo);
  checkReference(reference);
  const digest = sha256Digest(body);
  if (isDigest(reference) && reference !== digest) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `manifest for ${repo}@${reference}: its bytes hash to ${digest}`, {
      details: { reference, digest },
    });
  }
  let res;
  try {
    res = await session.request({
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
  } catch (err) {
    // Nexus with "Disable redeploy" refuses any PUT of an existing asset, even the
    // same manifest again (400 BLOB_UPLOAD_INVALID). The same bytes already under
    // this reference are a success; anything else gets a hint.
    if (!(err instanceof RegistryError) || !err.hasRegistryCode('BLOB_UPLOAD_INVALID')) throw err;
    const present = await manifestDigest(session, repo, reference, mediaType, signal).catch(() => undefined);
    if (present === digest) {
      onWarning?.({
        code: 'UAI_REGISTRY_MANIFEST_PRESENT',
        message: `the registry refused to store manifest ${repo}:${reference} again (${err.registryErrors[0]?.message ?? 'BLOB_UPLOAD_INVALID'}) but already has exactly these bytes (${digest})`,
        details: { repo, reference, digest },
      });
      return { digest };
    }
    throw new RegistryError(err.code, `${err.message} (the repository may not allow redeploying an existing tag: push under a new tag or allow redeploy)`, {
      cause: err,
      ...(err.status === undefined ? {} : { status: err.status }),
      ...(err.method === undefined ? {} : { method: err.method }),
      ...(err.url === undefined ? {} : { url: err.url }),
      errors: [...err.registryErrors],
    });
  }
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

/** `HEAD /v2/<repo>/manifests/<reference>`: the digest the registry has there, or undefined. */
export async function manifestDigest(session: Session, repo: string, reference: string, mediaType: string, signal?: AbortSignal): Promise<string | undefined> {
  const res = await session.request({
    method: 'HEAD',
    url: `/v2/${repo}/manifests/${reference}`,
    headers: { accept: mediaType },
    repo,
    actions: ['pull'],
    ok: [200, 404],
    what: `manifest ${repo}:${reference}`,
    ...(signal === undefined ? {} : { signal }),
  });
  await discard(res);
  return res.status === 200 ? header(res, 'docker-content-digest') : undefined;
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
