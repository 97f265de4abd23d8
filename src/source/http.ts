/**
 * A ByteSource over an `https://` (or `http://`) URL of any server that honours `Range`:
 * one probe (`Range: bytes=0-0`) for the size and ETag, then one ranged GET per read,
 * with `If-Match` so a file replaced mid-read is noticed. Redirects are followed (e.g.
 * to a presigned S3 URL). The name drops user info and the query (presigned secrets).
 */
import { getGlobalDispatcher, interceptors, request, type Dispatcher } from 'undici';
import type { ByteSource, ReadOptions } from './byte-source.ts';
import { checkRange } from './check-range.ts';
import { SourceError, type SourceErrorCode } from './errors.ts';
import { throwIfAborted } from '../errors.ts';

export interface HttpSourceOptions {
  signal?: AbortSignal;
  /** An undici dispatcher (e.g. an Agent with `connect: { ca }`); default: the global one. */
  dispatcher?: Dispatcher;
  /** Extra request headers (e.g. `authorization`); never shown in messages. */
  headers?: Record<string, string>;
  /** Redirects to follow (default 5). */
  maxRedirections?: number;
}

/** The URL without user info and query: safe for messages. */
export function safeUrl(url: URL | string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = u.search ? '?…' : '';
  u.hash = '';
  return u.href;
}

function statusCode(status: number): SourceErrorCode {
  if (status === 404 || status === 410) return 'UAI_SOURCE_NOT_FOUND';
  if (status === 401 || status === 403) return 'UAI_SOURCE_DENIED';
  return 'UAI_SOURCE_HTTP';
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class HttpSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  readonly etag: string | undefined;
  readonly #url: URL;
  #dispatcher: Dispatcher | undefined;
  readonly #headers: Record<string, string>;

  private constructor(url: URL, size: number, etag: string | undefined, dispatcher: Dispatcher, headers: Record<string, string>) {
    this.#url = url;
    this.size = size;
    this.etag = etag;
    this.#dispatcher = dispatcher;
    this.#headers = headers;
    this.name = safeUrl(url);
  }

  static async open(url: string | URL, options: HttpSourceOptions = {}): Promise<HttpSource> {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new SourceError('UAI_SOURCE_IO', `${safeUrl(u)}: only http(s) URLs are supported`, { details: { source: safeUrl(u) } });
    }
    const dispatcher = (options.dispatcher ?? getGlobalDispatcher()).compose(interceptors.redirect({ maxRedirections: options.maxRedirections ?? 5 }));
    const headers = { ...(options.headers ?? {}) };
    const name = safeUrl(u);
    const res = await send(u, dispatcher, { ...headers, range: 'bytes=0-0' }, name, 'probe', options.signal);
    const cr = header(res.headers, 'content-range');
    if (res.statusCode === 200) {
      await res.body.dump();
      throw new SourceError('UAI_SOURCE_HTTP', `${name}: the server ignores Range requests (200 instead of 206); use --download or another server`, {
        details: { source: name, status: 200 },
      });
    }
    if (res.statusCode === 416) {
      // An empty file: "bytes */0".
      await res.body.dump();
      const m = /^bytes \*\/(\d+)$/.exec(cr ?? '');
      if (m) return new HttpSource(u, Number(m[1]), undefined, dispatcher, headers);
    }
    if (res.statusCode !== 206) {
      await res.body.dump();
      throw new SourceError(statusCode(res.statusCode), `${name}: GET → ${res.statusCode}`, {
        details: { source: name, status: res.statusCode, transient: res.statusCode >= 500 || res.statusCode === 429 },
      });
    }
    await res.body.dump();
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(cr ?? '');
    if (!m) {
      throw new SourceError('UAI_SOURCE_HTTP', `${name}: 206 without a usable Content-Range (${cr ?? 'none'})`, { details: { source: name } });
    }
    const etag = header(res.headers, 'etag');
    return new HttpSource(u, Number(m[3]), etag && !etag.startsWith('W/') ? etag : undefined, dispatcher, headers);
  }

  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    await this.readInto(offset, out, options);
    return out;
  }

  /** The ranged GET straight into the caller's buffer (a read-ahead cache recycles its windows this way). */
  async readInto(offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const dispatcher = this.#dispatcher;
    if (!dispatcher) throw new SourceError('UAI_SOURCE_CLOSED', `${this.name}: read after close`);
    const length = target.length;
    checkRange(this, offset, length);
    if (length === 0) return;
    const range = `bytes=${offset}-${offset + length - 1}`;
    const headers: Record<string, string> = { ...this.#headers, range };
    if (this.etag) headers['if-match'] = this.etag;
    const res = await send(this.#url, dispatcher, headers, this.name, `GET ${range}`, options?.signal, { offset, length });
    if (res.statusCode !== 206) {
      await res.body.dump();
      const changed = res.statusCode === 412 || res.statusCode === 200;
      throw new SourceError(changed ? 'UAI_SOURCE_HTTP' : statusCode(res.statusCode), `${this.name}: GET ${range} → ${res.statusCode}${changed ? ' (the file changed since it was opened)' : ''}`, {
        details: { source: this.name, status: res.statusCode, offset, length, transient: res.statusCode >= 500 || res.statusCode === 429 },
      });
    }
    const cr = header(res.headers, 'content-range');
    if (cr !== undefined && !cr.startsWith(`bytes ${offset}-${offset + length - 1}/`)) {
      await res.body.dump();
      throw new SourceError('UAI_SOURCE_HTTP', `${this.name}: asked for ${range}, got ${cr}`, { details: { source: this.name, offset, length } });
    }
    const out = target;
    let got = 0;
    try {
      for await (const chunk of res.body) {
        const c = chunk as Buffer;
        if (got + c.length > length) {
          res.body.destroy();
          throw new SourceError('UAI_SOURCE_HTTP', `${this.name}: GET ${range} sent more than ${length} bytes`, { details: { source: this.name, offset, length } });
        }
        out.set(c, got);
        got += c.length;
      }
    } catch (cause) {
      if (cause instanceof SourceError) throw cause;
      throwIfAborted(options?.signal);
      throw new SourceError('UAI_SOURCE_HTTP', `${this.name}: GET ${range}: ${(cause as Error).message}`, {
        cause,
        details: { source: this.name, offset, length, transient: true },
      });
    }
    if (got !== length) {
      throw new SourceError('UAI_SOURCE_SHORT_READ', `${this.name}: GET ${range} returned ${got} bytes, not ${length}`, {
        details: { source: this.name, offset, length, got, transient: true },
      });
    }
  }

  async close(): Promise<void> {
    this.#dispatcher = undefined;
  }
}

async function send(
  url: URL,
  dispatcher: Dispatcher,
  headers: Record<string, string>,
  name: string,
  action: string,
  signal: AbortSignal | undefined,
  extra: Record<string, unknown> = {},
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(url, { method: 'GET', headers, dispatcher, ...(signal ? { signal } : {}) });
  } catch (cause) {
    throwIfAborted(signal);
    const code = (cause as { code?: string }).code;
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code ?? '');
    throw new SourceError('UAI_SOURCE_HTTP', `${name}: ${action}: ${(cause as Error).message}${tls ? ' (is its CA trusted? give it with --ca-file)' : ''}`, {
      cause,
      details: { source: name, ...extra, ...(code ? { errorCode: code } : {}), transient: !tls },
    });
  }
}
