/**
 * A fake HPE CSM API gateway for tests: one Node HTTP(S) server on 127.0.0.1 (port
 * chosen by the OS) that implements, as /work/shared/docs/csm-reference.md describes:
 *
 *   Keycloak  POST /keycloak/realms/shasta/protocol/openid-connect/token  (client_credentials, refresh_token)
 *   BOS v2    GET /apis/bos/v2, GET /apis/bos/v2/sessiontemplates/{name}  (Cray-Tenant-Name filters)
 *   BOS v1    GET /apis/bos/v1, GET /apis/bos/v1/sessiontemplate/{name}   (non-empty tenant → 400)
 *   IMS       GET /apis/ims/v3/images/{id}
 *   STS       PUT /apis/sts/token → 201 {Credentials}
 *   UAS       POST|GET /apis/uas-mgr/v1/admin/config/images, PATCH …/{image_id}
 *
 * Every /apis/ path needs `Authorization: Bearer` with a token this server issued and
 * that has not expired (else 401). Errors are application/problem+json. Knobs: which
 * APIs exist, token and STS lifetimes, and `fail()` to inject statuses.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Problem {
  status: number;
  title?: string;
  detail?: string;
}

export interface RequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  tenant: string | undefined;
  authorized: boolean;
}

interface Injection {
  method: string;
  prefix: string;
  status: number;
  body?: unknown;
  times: number;
}

export interface FakeGatewayOptions {
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export class FakeGateway {
  url = '';
  readonly requests: RequestLog[] = [];
  /** BOS v2 templates by name; `tenant` restricts who sees them. */
  readonly templates = new Map<string, Record<string, unknown>>();
  /** Which BOS APIs exist (CSM ≤ 1.2: v1 only; CSM 1.6: v2 only). */
  bosV2 = true;
  bosV1 = true;
  readonly imsImages = new Map<string, Record<string, unknown>>();
  uasInstalled = true;
  readonly uasImages: Array<{ image_id: string; imagename: string; default: boolean }> = [];
  /** Keycloak clients (id → secret). */
  readonly clients = new Map<string, string>([['admin-client', 'admin-secret']]);
  /** Lifetime of issued access tokens, seconds. */
  tokenLifetime = 300;
  /** What STS hands out; `EndpointURL` should point at the test's s3rver. */
  stsCredentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken?: string; EndpointURL: string } = {
    AccessKeyId: 'S3RVER',
    SecretAccessKey: 'S3RVER',
    SessionToken: 'session',
    EndpointURL: 'http://127.0.0.1:1',
  };
  /** Lifetime of STS credentials, seconds (CSM: 3600). */
  stsLifetime = 3600;
  /** Give every STS answer its own AccessKeyId (`<AccessKeyId>-<n>`), recorded in `stsIssued`. */
  stsUniqueKeys = false;
  readonly stsIssued: Array<{ accessKeyId: string; expiration: number }> = [];
  readonly #tokens = new Map<string, number>();
  readonly #refreshTokens = new Map<string, string>();
  /** Keycloak's realm setting "Revoke Refresh Token": each refresh token is good for one refresh. */
  revokeRefreshTokens = false;
  /** Called when a Keycloak grant arrives, before it is answered (tests race other processes here). */
  onKeycloakGrant: ((grant: string | null) => void) | undefined;
  readonly #injections: Injection[] = [];
  readonly #server: Server;
  readonly #tls: boolean;

  constructor(options: FakeGatewayOptions = {}) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.#problem(res, { status: 500, title: 'Internal Server Error', detail: String(err) });
      });
    };
    this.#tls = options.tls !== undefined;
    this.#server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `${this.#tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Issues an access token (a JWT-shaped string with `exp`) valid for `lifetime` seconds. */
  issueToken(lifetime = this.tokenLifetime): string {
    const exp = Math.floor(Date.now() / 1000) + lifetime;
    const token = `${b64url({ alg: 'none' })}.${b64url({ exp, jti: randomUUID() })}.sig`;
    this.#tokens.set(token, exp * 1000);
    return token;
  }

  /** A token JSON like Keycloak's answer (and the cray CLI's token file). */
  tokenJson(lifetime = this.tokenLifetime, clientId = 'shasta'): Record<string, unknown> {
    const refresh = `refresh-${randomUUID()}`;
    this.#refreshTokens.set(refresh, clientId);
    return { access_token: this.issueToken(lifetime), expires_in: lifetime, refresh_expires_in: 1800, refresh_token: refresh, token_type: 'bearer', scope: 'profile email', client_id: clientId };
  }

  /** Makes every issued access token invalid (as if Keycloak rotated its keys). */
  revokeTokens(): void {
    this.#tokens.clear();
  }

  /** Answers `times` requests whose path starts with `prefix` with `status` (problem+json unless `body`). */
  fail(method: string, prefix: string, status: number, options: { times?: number; body?: unknown } = {}): void {
    this.#injections.push({ method, prefix, status, times: options.times ?? Number.POSITIVE_INFINITY, ...(options.body !== undefined ? { body: options.body } : {}) });
  }

  clearFailures(): void {
    this.#injections.length = 0;
  }

  count(method: string, prefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length;
  }

  #problem(res: ServerResponse, p: Problem): void {
    const body = JSON.stringify({ type: 'about:blank', title: p.title ?? 'Error', status: p.status, detail: p.detail ?? '', instance: '' });
    res.writeHead(p.status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  #json(res: ServerResponse, status: number, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const tenantHeader = req.headers['cray-tenant-name'];
    const tenant = typeof tenantHeader === 'string' && tenantHeader.length > 0 ? tenantHeader : undefined;
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expires = auth ? this.#tokens.get(auth) : undefined;
    const authorized = expires !== undefined && expires > Date.now();
    this.requests.push({ method, path, query: Object.fromEntries(url.searchParams), tenant, authorized });

    const inj = this.#injections.find((i) => i.times > 0 && i.method === method && path.startsWith(i.prefix));
    if (inj) {
      inj.times--;
      if (inj.body !== undefined) return this.#json(res, inj.status, inj.body);
      return this.#problem(res, { status: inj.status, title: 'Injected', detail: `injected failure for ${method} ${path}` });
    }

    if (path === '/keycloak/realms/shasta/protocol/openid-connect/token' && method === 'POST') return this.#keycloak(res, new URLSearchParams(body));
    if (!path.startsWith('/apis/')) return this.#problem(res, { status: 404, title: 'Not Found' });
    if (!authorized) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      return void res.end(JSON.stringify({ message: auth ? 'Jwt is expired or invalid' : 'Jwt is missing' }));
    }

    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/apis/bos/v2') {
      return this.bosV2 ? this.#json(res, 200, { major: '2', minor: '10', patch: '28', links: [] }) : this.#problem(res, { status: 404, title: 'Not Found' });
    }
    if (method === 'GET' && path === '/apis/bos/v1') {
      return this.bosV1 ? this.#json(res, 200, { major: '1', minor: '0', patch: '0', links: [] }) : this.#problem(res, { status: 404, title: 'Not Found' });
    }
    if (method === 'GET' && (m = /^\/apis\/bos\/v2\/sessiontemplates\/([^/]+)$/.exec(path))) {
      if (!this.bosV2) return this.#problem(res, { status: 404, title: 'Not Found' });
      const name = decodeURIComponent(m[1]!);
      const t = this.templates.get(name);
      const owner = (t?.tenant as string | undefined) || undefined;
      if (!t || (tenant !== undefined && owner !== tenant)) {
        return this.#problem(res, { status: 404, title: 'The resource was not found', detail: `Session template not found: ${name}` });
      }
      return this.#json(res, 200, { ...t, name });
    }
    if (method === 'GET' && (m = /^\/apis\/bos\/v1\/sessiontemplate\/([^/]+)$/.exec(path))) {
      if (!this.bosV1) return this.#problem(res, { status: 404, title: 'Not Found' });
      if (tenant !== undefined) return this.#problem(res, { status: 400, title: 'MultiTenancyNotSupported', detail: 'BOS v1 does not support multi-tenancy' });
      const name = decodeURIComponent(m[1]!);
      const t = this.templates.get(name);
      if (!t) return this.#problem(res, { status: 404, title: 'The resource was not found', detail: `Session template not found: ${name}` });
      return this.#json(res, 200, { ...t, name });
    }
    if (method === 'GET' && (m = /^\/apis\/ims\/v3\/images\/([^/]+)$/.exec(path))) {
      const image = this.imsImages.get(decodeURIComponent(m[1]!));
      if (!image) return this.#problem(res, { status: 404, title: 'Not Found', detail: `No image record exists with id=${m[1]}` });
      return this.#json(res, 200, image);
    }
    if (method === 'PUT' && path === '/apis/sts/token') {
      const expiration = Date.now() + this.stsLifetime * 1000;
      const AccessKeyId = this.stsUniqueKeys ? `${this.stsCredentials.AccessKeyId}-${this.stsIssued.length + 1}` : this.stsCredentials.AccessKeyId;
      this.stsIssued.push({ accessKeyId: AccessKeyId, expiration });
      return this.#json(res, 201, { Credentials: { ...this.stsCredentials, AccessKeyId, Expiration: new Date(expiration).toISOString() } });
    }
    if (path.startsWith('/apis/uas-mgr/v1/')) return this.#uas(res, method, path, url.searchParams);
    return this.#problem(res, { status: 404, title: 'Not Found', detail: `${method} ${path}` });
  }

  #keycloak(res: ServerResponse, form: URLSearchParams): void {
    const grant = form.get('grant_type');
    this.onKeycloakGrant?.(grant);
    if (grant === 'client_credentials') {
      const id = form.get('client_id') ?? '';
      if (!this.clients.has(id) || this.clients.get(id) !== form.get('client_secret')) {
        return this.#json(res, 401, { error: 'unauthorized_client', error_description: 'Invalid client secret' });
      }
      const t = this.tokenJson(this.tokenLifetime, id);
      delete t.refresh_token;
      delete t.client_id;
      return this.#json(res, 200, t);
    }
    if (grant === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      const client = this.#refreshTokens.get(rt);
      if (client === undefined || client !== form.get('client_id')) {
        return this.#json(res, 400, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
      }
      // Keycloak's default: refresh tokens stay valid until they expire (no rotation);
      // with "Revoke Refresh Token" on, a refresh token works once.
      if (this.revokeRefreshTokens) this.#refreshTokens.delete(rt);
      const t = this.tokenJson(this.tokenLifetime, client);
      delete t.client_id;
      return this.#json(res, 200, t);
    }
    return this.#json(res, 400, { error: 'unsupported_grant_type', error_description: `grant ${grant}` });
  }

  #uas(res: ServerResponse, method: string, path: string, q: URLSearchParams): void {
    if (!this.uasInstalled) return this.#problem(res, { status: 404, title: 'Not Found' });
    const base = '/apis/uas-mgr/v1/admin/config/images';
    const bool = (v: string | null) => v !== null && ['true', 'yes', '1'].includes(v.toLowerCase());
    if (path === base && method === 'GET') return this.#json(res, 200, this.uasImages);
    if (path === base && method === 'POST') {
      const name = q.get('imagename');
      if (!name) return this.#json(res, 200, 'Must provide imagename to create.');
      if (this.uasImages.some((i) => i.imagename === name)) {
        return this.#problem(res, { status: 409, title: 'Conflict', detail: `image named '${name}' already exists` });
      }
      const def = bool(q.get('default'));
      if (def) for (const i of this.uasImages) i.default = false;
      const rec = { image_id: randomUUID(), imagename: name, default: def };
      this.uasImages.push(rec);
      return this.#json(res, 201, rec);
    }
    const m = /^\/apis\/uas-mgr\/v1\/admin\/config\/images\/([^/]+)$/.exec(path);
    if (m && method === 'PATCH') {
      const rec = this.uasImages.find((i) => i.image_id === decodeURIComponent(m[1]!));
      if (!rec) return this.#problem(res, { status: 404, title: 'Not Found', detail: `image ${m[1]} not found` });
      if (q.has('default')) {
        const def = bool(q.get('default'));
        if (def) for (const i of this.uasImages) i.default = false;
        rec.default = def;
      }
      if (q.get('imagename')) rec.imagename = q.get('imagename')!;
      return this.#json(res, 200, rec);
    }
    return this.#problem(res, { status: 404, title: 'Not Found' });
  }
}

export async function startFakeGateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
  return new FakeGateway(options).start();
}
