/**
 * The one HTTP helper every CSM client uses: the gateway's base URL, TLS, the bearer
 * token (refreshed before expiry, and once more on a 401), the `Cray-Tenant-Name`
 * header, and errors that name the service, method, path and status (with the RFC 7807
 * `detail`). Response bodies are always read or dumped.
 */
import { request, type Dispatcher } from 'undici';
import { throwIfAborted } from '../errors.ts';
import { CrayError, type CrayErrorCode } from './errors.ts';
import type { TokenSource } from './token-source.ts';

export const TENANT_HEADER = 'Cray-Tenant-Name';
/** Bodies larger than this are refused: every CSM answer we read is small JSON. */
const MAX_BODY = 16 * 1024 * 1024;

export interface GatewayRequest {
  /** Short service name for messages: `BOS`, `IMS`, `STS`, `UAS`, `Keycloak`. */
  service: string;
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under the gateway, starting with `/`, e.g. `/apis/bos/v2/sessiontemplates/x`. */
  path: string;
  query?: Record<string, string>;
  /** A JSON body, or form fields (`application/x-www-form-urlencoded`). */
  json?: unknown;
  form?: Record<string, string>;
  /** Send the bearer token (default true). */
  auth?: boolean;
  /** Send `Cray-Tenant-Name` when a tenant is set (default true). */
  tenant?: boolean;
  signal?: AbortSignal;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  text: string;
}

export interface GatewayHttpOptions {
  base: URL;
  dispatcher?: Dispatcher;
  tenant?: string;
  tokens?: TokenSource;
}

export class GatewayHttp {
  readonly base: URL;
  readonly tenant: string | undefined;
  readonly dispatcher: Dispatcher | undefined;
  tokens: TokenSource | undefined;

  constructor(options: GatewayHttpOptions) {
    this.base = options.base;
    this.tenant = options.tenant || undefined;
    this.dispatcher = options.dispatcher;
    this.tokens = options.tokens;
  }

  /** The full URL of a gateway path (the base may carry a path prefix). */
  url(path: string, query?: Record<string, string>): URL {
    const url = new URL(this.base.href.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    return url;
  }

  /** Sends a request; returns any status (callers decide), retrying once on 401 with a fresh token. */
  async send(req: GatewayRequest): Promise<GatewayResponse> {
    const useAuth = req.auth ?? true;
    let response = await this.#once(req, useAuth ? await this.#token(req, false) : undefined);
    if (response.status === 401 && useAuth && this.tokens?.refreshable) {
      response = await this.#once(req, await this.#token(req, true));
    }
    if (response.status === 401 && useAuth) {
      throw httpError('UAI_CRAY_AUTH', req, response, `the gateway refused the token from ${this.tokens?.description ?? 'nowhere'}`);
    }
    return response;
  }

  async #token(req: GatewayRequest, forceRefresh: boolean): Promise<string> {
    if (!this.tokens) {
      throw new CrayError(
        'UAI_CRAY_AUTH',
        `${req.service}: no API token: give --token FILE, set CRAY_CREDENTIALS, run 'cray auth login', or give --client-id and --client-secret-file`,
        { details: { service: req.service } },
      );
    }
    return this.tokens.token({ forceRefresh, ...(req.signal ? { signal: req.signal } : {}) });
  }

  async #once(req: GatewayRequest, token: string | undefined): Promise<GatewayResponse> {
    throwIfAborted(req.signal);
    const url = this.url(req.path, req.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (this.tenant && (req.tenant ?? true)) headers[TENANT_HEADER.toLowerCase()] = this.tenant;
    let body: string | undefined;
    if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    } else if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: req.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (cause) {
      throwIfAborted(req.signal);
      throw connectError(req, url, cause);
    }
    let text: string;
    try {
      const length = Number(res.headers['content-length'] ?? 0);
      if (length > MAX_BODY) {
        await res.body.dump();
        throw new CrayError('UAI_CRAY_RESPONSE', `${req.service}: ${req.method} ${req.path}: answer of ${length} bytes is too large`, {
          details: { service: req.service, path: req.path, status: res.statusCode },
        });
      }
      text = await res.body.text();
    } catch (cause) {
      if (cause instanceof CrayError) throw cause;
      throwIfAborted(req.signal);
      throw connectError(req, url, cause);
    }
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }
}

/** Turns a low-level failure (DNS, refused, TLS) into UAI_CRAY_CONNECT with a hint. */
function connectError(req: GatewayRequest, url: URL, cause: unknown): CrayError {
  const code = (cause as { code?: string }).code ?? '';
  const message = (cause as Error).message ?? String(cause);
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|certificate/i.test(`${code} ${message}`);
  const hint = tls ? ' (is the platform CA trusted? give it with --ca-file)' : '';
  return new CrayError('UAI_CRAY_CONNECT', `${req.service}: ${req.method} ${url.origin}${req.path}: ${message}${hint}`, {
    cause,
    details: { service: req.service, method: req.method, path: req.path, origin: url.origin, ...(code ? { errorCode: code } : {}) },
  });
}

/** The problem+json `detail` (or `title`, or a short text body) of a failed answer. */
export function problemDetail(response: GatewayResponse): string | undefined {
  const body = response.body as { detail?: unknown; title?: unknown; message?: unknown; error_description?: unknown; error?: unknown } | undefined;
  if (body && typeof body === 'object') {
    for (const v of [body.detail, body.error_description, body.message, body.title, body.error]) {
      if (typeof v === 'string' && v.length > 0) return v.slice(0, 500);
    }
  }
  if (typeof response.body === 'string') return response.body.slice(0, 500);
  const text = response.text.trim();
  return text.length > 0 && text.length <= 500 && !text.startsWith('<') ? text : undefined;
}

/** A CrayError for an unexpected status: `BOS: GET /apis/bos/v2/... → 500: detail`. */
export function httpError(code: CrayErrorCode, req: Pick<GatewayRequest, 'service' | 'method' | 'path'>, response: GatewayResponse, what?: string): CrayError {
  const detail = problemDetail(response);
  const text = `${req.service}: ${req.method} ${req.path} → ${response.status}${detail ? `: ${detail}` : ''}${what ? ` (${what})` : ''}`;
  return new CrayError(code, text, {
    details: { service: req.service, method: req.method, path: req.path, status: response.status, ...(detail ? { detail } : {}) },
  });
}
