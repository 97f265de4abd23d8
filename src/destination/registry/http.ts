/**
 * The one place that talks to undici: sends a request, turns socket and TLS failures
 * into RegistryError (`UAI_REGISTRY_NETWORK`: retryable for resets and timeouts, not for
 * a refused connection or an unknown host; `UAI_REGISTRY_TLS`, never retryable), and
 * helps read or discard response bodies (every body is consumed or dumped).
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { isUaiError } from '../../errors.ts';
import { RegistryError, redactUrl } from './errors.ts';
import { isCertificateError, isTlsProtocolError, type TlsConnectOptions } from './tls.ts';

export type RequestBody = Uint8Array | AsyncIterable<Uint8Array> | null;

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: URL;
  method: string;
}

export function createAgent(connect: TlsConnectOptions): Agent {
  // No cookies, no Expect: 100-continue (Nexus hangs on it), HTTP/1.1.
  return new Agent({ connect: { ...connect }, keepAliveTimeout: 10_000 });
}

/** The first value of a response header (names are lower-case in undici). */
export function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a body as text, at most `limit` bytes (the rest is dropped). */
export async function readText(res: HttpResponse, limit = 64 * 1024): Promise<string> {
  const bytes = await readBytes(res, limit, false);
  return Buffer.from(bytes).toString('utf8');
}

/** Reads a whole body; throws UAI_REGISTRY_PROTOCOL beyond `limit` bytes when `strict`. */
export async function readBytes(res: HttpResponse, limit: number, strict = true): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (total + buf.length > limit) {
        if (strict) {
          throw new RegistryError('UAI_REGISTRY_PROTOCOL', `${res.method} ${redactUrl(res.url)}: response body exceeds ${limit} bytes`, {
            status: res.status,
            method: res.method,
            url: res.url,
          });
        }
        chunks.push(buf.subarray(0, limit - total));
        total = limit;
        break;
      }
      chunks.push(buf);
      total += buf.length;
    }
  } finally {
    await discard(res);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

/** Consumes what is left of a body so the connection can be reused (or closes it). */
export async function discard(res: HttpResponse): Promise<void> {
  try {
    await res.body.dump({ limit: 256 * 1024 });
  } catch {
    // the connection is closed instead; nothing to report
  }
}

/** Sends one request. Never retries; never follows redirects. */
export async function send(agent: Dispatcher, req: HttpRequest): Promise<HttpResponse> {
  // undici writes an async iterable itself, chunk by chunk, waiting for the socket to
  // drain (client-h1 writeIterable); its types list only Readable, hence the cast. No
  // Readable.from() in between: one stream machine less per chunk.
  const body = req.body === undefined || req.body === null ? null : (req.body as Uint8Array | Readable);
  try {
    const res = await agent.request({
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers ?? {},
      body,
      ...(req.signal === undefined ? {} : { signal: req.signal }),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body, url: req.url, method: req.method };
  } catch (err) {
    throw networkError(err, req);
  }
}

/**
 * Connection failures that will not heal within a retry's backoff: fail at once. Resets,
 * timeouts and closed sockets (mid-transfer trouble) stay retryable.
 */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is the registry running, and is the port right?)',
  ENOTFOUND: 'no such host (DNS lookup failed)',
  EAI_AGAIN: 'the host name could not be resolved (DNS lookup failed)',
  EAI_NONAME: 'no such host (DNS lookup failed)',
  EAI_FAIL: 'the host name could not be resolved (DNS lookup failed)',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

/** Maps a failure to send into a RegistryError, keeping aborts and library errors as they are. */
export function networkError(err: unknown, req: { method: string; url: URL; signal?: AbortSignal | undefined }): unknown {
  if (req.signal?.aborted) return req.signal.reason instanceof Error ? req.signal.reason : err;
  if (isUaiError(err)) return err;
  const where = `${req.method} ${redactUrl(req.url)}`;
  const reason = err instanceof Error ? err.message : String(err);
  if (isCertificateError(err)) {
    return new RegistryError('UAI_REGISTRY_TLS', `${where}: TLS verification failed: ${reason} (give --ca-file or --cert-dir, or --tls-verify=false)`, {
      cause: err,
      method: req.method,
      url: req.url,
    });
  }
  if (isTlsProtocolError(err)) {
    // Only reached when http:// may not be tried (or was forced to https://): say why.
    return new RegistryError(
      'UAI_REGISTRY_TLS',
      `${where}: the server answered plain HTTP to a TLS handshake: use --tls-verify=false for a plain-HTTP registry (${reason})`,
      { cause: err, method: req.method, url: req.url, details: { host: req.url.host } },
    );
  }
  const code = (err as { code?: unknown }).code;
  const unreachable = typeof code === 'string' ? UNREACHABLE[code] : undefined;
  if (unreachable !== undefined) {
    // Nothing that heals in seconds: no retry, so the user hears of it at once.
    return new RegistryError('UAI_REGISTRY_NETWORK', `${where}: cannot reach ${req.url.host}: ${unreachable} (${reason})`, {
      cause: err,
      method: req.method,
      url: req.url,
      retryable: false,
      details: { host: req.url.host, errno: code },
    });
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new RegistryError('UAI_REGISTRY_SIZE_INVALID', `${where}: the body did not have the announced length (${reason})`, {
      cause: err,
      method: req.method,
      url: req.url,
    });
  }
  return new RegistryError('UAI_REGISTRY_NETWORK', `${where}: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`, {
    cause: err,
    method: req.method,
    url: req.url,
    retryable: true,
  });
}
