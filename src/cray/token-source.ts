/**
 * Where API tokens come from, and when they are renewed:
 *
 * - a token file (`--token FILE`, `CRAY_CREDENTIALS`, or the cray CLI's own token file):
 *   the OAuth2 token JSON, of which we need `access_token`. When it is about to expire
 *   (`expires_at`, else the JWT's `exp`) and holds a `refresh_token`, we ask Keycloak
 *   for a new one with its `client_id` (default `shasta`) and save it back to the file as
 *   the cray CLI does (Keycloak's answer + `client_id` + `expires_at`, mode 0600, written
 *   atomically), so a realm that revokes used refresh tokens does not leave the file with
 *   a dead one; the file is left alone if another process changed it meanwhile. Without a
 *   refresh token we re-read the file (another process may have renewed it).
 * - Keycloak client credentials (`--client-id`, `--client-secret-file`), as the CSM
 *   docs do with `admin-client`: a new token before each expiry.
 *
 * Tokens and secrets never appear in messages: only the file path or the client id.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { WarningHandler } from '../errors.ts';
import { CrayError } from './errors.ts';
import { httpError, type GatewayHttp } from './gateway-http.ts';

export interface TokenSource {
  /** A current access token: cached, renewed `refreshMarginMs` before it expires. */
  token(options?: { signal?: AbortSignal; forceRefresh?: boolean }): Promise<string>;
  /** Whether a forced refresh can give a different token (for the retry on 401). */
  readonly refreshable: boolean;
  /** Where the token comes from, for messages: a path or a client id, never a secret. */
  readonly description: string;
}

export interface TokenSourceOptions {
  /** Renew this long before expiry (default 30 s). */
  refreshMarginMs?: number;
  /** Keycloak realm (default `shasta`). */
  realm?: string;
  /** Clock, for tests. */
  now?: () => number;
  /** Told when a renewed token could not be saved back to its file. */
  onWarning?: WarningHandler;
}

interface OAuthToken {
  access_token: string;
  /** Absolute expiry in ms since the epoch, if known. */
  expiresAt?: number;
  refresh_token?: string;
  client_id?: string;
}

export function keycloakTokenPath(realm = 'shasta'): string {
  return `/keycloak/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`;
}

/** The `exp` claim of a JWT, in ms, without verifying anything. */
export function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Reads an OAuth2 token answer (Keycloak's or a file's) into what we keep. */
function parseToken(value: unknown, where: string, receivedAt: number): OAuthToken {
  const v = value as Record<string, unknown> | undefined;
  if (!v || typeof v !== 'object' || typeof v.access_token !== 'string' || v.access_token.length === 0) {
    throw new CrayError('UAI_CRAY_CONFIG', `${where}: no access_token in the token JSON`, { details: { where } });
  }
  const token: OAuthToken = { access_token: v.access_token };
  if (typeof v.expires_at === 'number') token.expiresAt = v.expires_at * 1000;
  else if (typeof v.expires_in === 'number') token.expiresAt = receivedAt + v.expires_in * 1000;
  else {
    const exp = jwtExpiry(v.access_token);
    if (exp !== undefined) token.expiresAt = exp;
  }
  if (typeof v.refresh_token === 'string' && v.refresh_token.length > 0) token.refresh_token = v.refresh_token;
  if (typeof v.client_id === 'string' && v.client_id.length > 0) token.client_id = v.client_id;
  return token;
}

/** A Keycloak token grant: what we keep, and the answer as sent (to save it whole). */
async function keycloakGrant(
  http: GatewayHttp,
  realm: string,
  form: Record<string, string>,
  who: string,
  now: () => number,
  signal?: AbortSignal,
): Promise<{ token: OAuthToken; answer: Record<string, unknown> }> {
  const req = { service: 'Keycloak', method: 'POST' as const, path: keycloakTokenPath(realm) };
  const res = await http.send({ ...req, form, auth: false, tenant: false, ...(signal ? { signal } : {}) });
  if (res.status !== 200) {
    const hint = form.grant_type === 'refresh_token' ? "; log in again with 'cray auth login' or give a fresh --token" : '';
    throw httpError(res.status === 400 || res.status === 401 ? 'UAI_CRAY_AUTH' : 'UAI_CRAY_HTTP', req, res, `${form.grant_type} grant for ${who}${hint}`);
  }
  const token = parseToken(res.body, `Keycloak ${form.grant_type} answer`, now());
  return { token, answer: res.body as Record<string, unknown> };
}

abstract class CachedTokenSource implements TokenSource {
  abstract readonly refreshable: boolean;
  abstract readonly description: string;
  protected current: OAuthToken | undefined;
  #pending: Promise<OAuthToken> | undefined;
  protected readonly margin: number;
  protected readonly now: () => number;

  constructor(options: TokenSourceOptions) {
    this.margin = options.refreshMarginMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  protected abstract renew(signal?: AbortSignal): Promise<OAuthToken>;

  async token(options: { signal?: AbortSignal; forceRefresh?: boolean } = {}): Promise<string> {
    const cur = this.current;
    const fresh = cur && (cur.expiresAt === undefined || cur.expiresAt - this.margin > this.now());
    if (cur && fresh && !options.forceRefresh) return cur.access_token;
    // One renewal at a time; concurrent callers share it.
    this.#pending ??= this.renew(options.signal).finally(() => {
      this.#pending = undefined;
    });
    this.current = await this.#pending;
    return this.current.access_token;
  }
}

/** A token JSON file; renewed with its refresh_token, or re-read. */
export class FileTokenSource extends CachedTokenSource {
  readonly description: string;
  readonly #path: string;
  readonly #http: GatewayHttp;
  readonly #realm: string;
  readonly #onWarning: WarningHandler | undefined;

  constructor(path: string, http: GatewayHttp, options: TokenSourceOptions = {}) {
    super(options);
    this.#path = path;
    this.#http = http;
    this.#realm = options.realm ?? 'shasta';
    this.#onWarning = options.onWarning;
    this.description = `token file ${path}`;
  }

  get refreshable(): boolean {
    return true;
  }

  protected async renew(signal?: AbortSignal): Promise<OAuthToken> {
    const previous = this.current;
    if (previous?.refresh_token) return this.#refresh(previous, signal);
    const fromFile = await this.#read();
    const expiring = fromFile.expiresAt !== undefined && fromFile.expiresAt - this.margin <= this.now();
    // Expiring, or the same token the gateway just refused: refresh it if we can.
    if (fromFile.refresh_token && (expiring || fromFile.access_token === previous?.access_token)) {
      return this.#refresh(fromFile, signal);
    }
    return fromFile;
  }

  async #refresh(from: OAuthToken, signal?: AbortSignal): Promise<OAuthToken> {
    const clientId = from.client_id ?? 'shasta';
    const grant = { grant_type: 'refresh_token', refresh_token: from.refresh_token ?? '', client_id: clientId };
    const receivedAt = this.now();
    const { token: renewed, answer } = await keycloakGrant(this.#http, this.#realm, grant, this.description, this.now, signal);
    renewed.client_id ??= clientId;
    await this.#save(from, answer, clientId, receivedAt);
    return renewed;
  }

  /**
   * Writes a renewed token over the file, as the cray CLI's token updater does, unless the
   * file no longer holds the refresh token we renewed (another process renewed it, or the
   * user logged in again). A failure to save is a warning: the token in memory still works.
   */
  async #save(from: OAuthToken, answer: Record<string, unknown>, clientId: string, receivedAt: number): Promise<void> {
    const onDisk = await this.#read().catch(() => undefined);
    if (onDisk?.refresh_token === undefined || onDisk.refresh_token !== from.refresh_token) return;
    const saved: Record<string, unknown> = { ...answer, client_id: clientId };
    // requests-oauthlib's `expires_at`: seconds since the epoch, when `expires_in` is given.
    if (typeof answer.expires_in === 'number') saved.expires_at = receivedAt / 1000 + answer.expires_in;
    const temp = join(dirname(this.#path), `.${basename(this.#path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(temp, `${JSON.stringify(saved)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temp, this.#path);
    } catch (cause) {
      await unlink(temp).catch(() => undefined);
      this.#onWarning?.({
        code: 'UAI_CRAY_TOKEN_NOT_SAVED',
        message: `${this.#path}: the renewed token could not be saved (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); it is used for this run only`,
        details: { path: this.#path },
      });
    }
  }

  async #read(): Promise<OAuthToken> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (cause) {
      throw new CrayError('UAI_CRAY_CONFIG', `${this.#path}: cannot read the token file: ${(cause as Error).message}`, {
        cause,
        details: { path: this.#path },
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CrayError('UAI_CRAY_CONFIG', `${this.#path}: the token file is not JSON`, { details: { path: this.#path } });
    }
    return parseToken(json, this.#path, this.now());
  }
}

/** Keycloak client-credentials grant (e.g. `admin-client` with the `admin-client-auth` secret). */
export class ClientCredentialsTokenSource extends CachedTokenSource {
  readonly refreshable = true;
  readonly description: string;
  readonly #clientId: string;
  readonly #secret: string;
  readonly #http: GatewayHttp;
  readonly #realm: string;

  constructor(clientId: string, secret: string, http: GatewayHttp, options: TokenSourceOptions = {}) {
    super(options);
    this.#clientId = clientId;
    this.#secret = secret;
    this.#http = http;
    this.#realm = options.realm ?? 'shasta';
    this.description = `Keycloak client '${clientId}'`;
  }

  protected async renew(signal?: AbortSignal): Promise<OAuthToken> {
    const grant = { grant_type: 'client_credentials', client_id: this.#clientId, client_secret: this.#secret };
    return (await keycloakGrant(this.#http, this.#realm, grant, this.description, this.now, signal)).token;
  }
}
