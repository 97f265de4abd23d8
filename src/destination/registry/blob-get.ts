/**
 * `GET /v2/<repo>/blobs/<digest>`: follows redirects (storage back-ends often send
 * one), sends Authorization only while the host stays the registry's, streams the
 * bytes and checks their sha256 at the end.
 */
import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../errors.ts';
import { RegistryError } from './errors.ts';
import { discard, header, type HttpResponse } from './http.ts';
import { checkDigest, checkRepo } from './reference.ts';
import type { Session } from './session.ts';

const REDIRECTS = [301, 302, 303, 307, 308];
const MAX_REDIRECTS = 5;

export async function* getBlob(session: Session, repo: string, digest: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  checkRepo(repo);
  checkDigest(digest);
  let url: URL | string = `/v2/${repo}/blobs/${digest}`;
  let res: HttpResponse | undefined;
  for (let hop = 0; ; hop++) {
    res = await session.request({
      method: 'GET',
      url,
      repo,
      actions: ['pull'],
      ok: [200, ...REDIRECTS],
      what: `blob ${digest}`,
      ...(signal === undefined ? {} : { signal }),
    });
    if (res.status === 200) break;
    await discard(res);
    const location = header(res, 'location');
    if (location === undefined || hop >= MAX_REDIRECTS) {
      throw new RegistryError('UAI_REGISTRY_PROTOCOL', `blob ${digest}: ${location === undefined ? 'redirect without Location' : `more than ${MAX_REDIRECTS} redirects`}`, {
        status: res.status,
        method: 'GET',
        url: res.url,
      });
    }
    // The session adds Authorization only for the registry's own host.
    url = new URL(location, res.url);
  }
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of res.body) {
      throwIfAborted(signal);
      const bytes = chunk as Buffer;
      hash.update(bytes);
      size += bytes.length;
      yield new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    }
  } catch (err) {
    if (err instanceof RegistryError || signal?.aborted) throw err;
    throw new RegistryError('UAI_REGISTRY_NETWORK', `blob ${digest}: the download broke off after ${size} bytes: ${(err as Error).message}`, {
      cause: err,
      method: 'GET',
      url: res.url,
      retryable: true,
    });
  } finally {
    await discard(res);
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `blob ${digest} from ${session.host}/${repo}: the ${size} bytes received hash to ${got}`, {
      method: 'GET',
      url: res.url,
      details: { expected: digest, computed: got, size },
    });
  }
}
