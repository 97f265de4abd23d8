/**
 * Answers the registry's challenge: Basic (user:password) or Bearer (a token fetched
 * from the challenge's realm with `service` and `scope=repository:R:pull,push`, Basic
 * credentials on that request when we have them, `token` or `access_token`,
 * `expires_in` defaulting to 60 s). The Authorization header goes only to the registry
 * host and, for the token request, to the realm host.
 */
import type { Dispatcher } from 'undici';
import type { WarningHandler } from '../../errors.ts';
import { pickChallenge, parseChallenges, type Challenge } from './challenge.ts';
import { findCredentials, type Credentials } from './credentials.ts';
import { RegistryError, httpError, redactUrl } from './errors.ts';
import { readBytes, readText, send, type HttpResponse } from './http.ts';

export type Action = 'pull' | 'push';

export interface AuthOptions {
  creds?: Credentials;
  authfile?: string;
  env?: NodeJS.ProcessEnv;
  onWarning?: WarningHandler;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** `repository:R:pull,push` with actions in a stable order. */
export function scopeFor(repo: string, actions: readonly Action[]): string {
  const sorted = [...new Set(actions)].sort();
  return `repository:${repo}:${sorted.join(',')}`;
}

export class Authenticator {
  readonly #host: string;
  readonly #agent: Dispatcher;
  readonly #options: AuthOptions;
  /** undefined: not pinged yet; null: the registry asked for nothing. */
  #challenge: Challenge | null | undefined;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #creds = new Map<string, Promise<Credentials | undefined>>();

  constructor(host: string, agent: Dispatcher, options: AuthOptions) {
    this.#host = host;
    this.#agent = agent;
    this.#options = options;
  }

  get challenge(): Challenge | null | undefined {
    return this.#challenge;
  }

  /** Sets the challenge from the ping (`null` when `/v2/` answered 200). */
  setChallenge(challenge: Challenge | null): void {
    this.#challenge = challenge;
  }

  /** The credentials for `repo` (looked up once per repository). */
  credentials(repo: string | undefined, signal?: AbortSignal): Promise<Credentials | undefined> {
    const key = repo ?? '';
    let found = this.#creds.get(key);
    if (found === undefined) {
      found = findCredentials(this.#host, repo, {
        ...this.#options,
        ...(signal === undefined ? {} : { signal }),
      });
      this.#creds.set(key, found);
      found.catch(() => this.#creds.delete(key));
    }
    return found;
  }

  /** The Authorization header for a request to `url`, or undefined (other host, no auth needed, no credentials). */
  async headerFor(url: URL, repo: string | undefined, actions: readonly Action[], signal?: AbortSignal): Promise<string | undefined> {
    if (url.host !== this.#host) return undefined;
    const challenge = this.#challenge;
    if (challenge === undefined || challenge === null) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.credentials(repo, signal);
      return creds === undefined ? undefined : basicHeader(creds);
    }
    const scope = repo === undefined ? undefined : scopeFor(repo, actions);
    const cached = this.#cachedToken(repo, actions);
    if (cached !== undefined) return `Bearer ${cached}`;
    // Parallel blob uploads share one token request per scope.
    const key = scope ?? '';
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(challenge, scope === undefined ? [] : [scope], repo, signal);
      this.#inflight.set(key, pending);
      const forget = (): void => {
        this.#inflight.delete(key);
      };
      pending.then(forget, forget);
    }
    return `Bearer ${await pending}`;
  }

  /**
   * For a Bearer token that is a JWT with an `access` claim: the actions it grants on
   * `repo` (the token server returns the intersection of what was asked and what is
   * allowed, without an error). Undefined when that cannot be told.
   */
  grantedActions(authorization: string | undefined, repo: string): string[] | undefined {
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
    const parts = authorization.slice('Bearer '.length).split('.');
    if (parts.length !== 3) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { access?: unknown };
      if (!Array.isArray(claims.access)) return undefined;
      const granted = new Set<string>();
      for (const entry of claims.access as Array<{ type?: unknown; name?: unknown; actions?: unknown }>) {
        if (entry.type === 'repository' && entry.name === repo && Array.isArray(entry.actions)) {
          for (const a of entry.actions) if (typeof a === 'string') granted.add(a);
        }
      }
      return [...granted];
    } catch {
      return undefined;
    }
  }

  /**
   * After a 401: takes the new challenge and forgets cached tokens. Returns true when a
   * retry may succeed (a fresh token, or credentials now known); throws UNAUTHORIZED
   * with the registry's words when it cannot (no or rejected credentials).
   */
  async onUnauthorized(res: HttpResponse, bodyText: string, repo: string | undefined, sentAuthorization: boolean, signal?: AbortSignal): Promise<boolean> {
    if (res.url.host !== this.#host) {
      // Credentials for the registry never go to another host (a Location or redirect target).
      const err = httpError(res.status, res.method, res.url, bodyText);
      throw new RegistryError('UAI_REGISTRY_UNAUTHORIZED', `${err.message}; it is not the registry ${this.#host}, so no credentials were sent`, {
        status: res.status,
        method: res.method,
        url: res.url,
        errors: [...err.registryErrors],
      });
    }
    const picked = pickChallenge(parseChallenges(res.headers['www-authenticate']));
    if (picked !== undefined) this.#challenge = picked;
    const challenge = this.#challenge;
    if (challenge?.scheme === 'bearer') {
      this.#tokens.clear();
      return true;
    }
    const creds = await this.credentials(repo, signal);
    const err = httpError(res.status, res.method, res.url, bodyText);
    if (creds === undefined) {
      throw new RegistryError('UAI_REGISTRY_UNAUTHORIZED', `${err.message}; no credentials found for ${this.#host} (give --creds or log in)`, {
        status: res.status,
        method: res.method,
        url: res.url,
        errors: [...err.registryErrors],
      });
    }
    if (sentAuthorization || challenge === null || challenge === undefined) {
      throw new RegistryError('UAI_REGISTRY_UNAUTHORIZED', `${err.message}; the credentials for ${this.#host} were rejected`, {
        status: res.status,
        method: res.method,
        url: res.url,
        errors: [...err.registryErrors],
      });
    }
    return true;
  }

  #cachedToken(repo: string | undefined, actions: readonly Action[]): string | undefined {
    const now = Date.now();
    const keys = repo === undefined ? [''] : [scopeFor(repo, actions)];
    if (repo !== undefined && !actions.includes('push')) keys.push(scopeFor(repo, ['pull', 'push']));
    for (const key of keys) {
      const hit = this.#tokens.get(key);
      if (hit !== undefined && hit.expiresAt > now) return hit.token;
    }
    return undefined;
  }

  async #fetchToken(challenge: Challenge, scopes: string[], repo: string | undefined, signal?: AbortSignal): Promise<string> {
    const realm = challenge.params['realm'];
    let url: URL;
    try {
      url = new URL(realm ?? '');
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw new RegistryError('UAI_REGISTRY_PROTOCOL', `the registry ${this.#host} sent a Bearer challenge without a usable realm URL (${JSON.stringify(realm ?? null)})`, {
        details: { host: this.#host },
      });
    }
    const service = challenge.params['service'];
    if (service !== undefined) url.searchParams.set('service', service);
    const wanted = [...scopes];
    const challengeScope = challenge.params['scope'];
    if (challengeScope !== undefined && !wanted.includes(challengeScope)) wanted.push(challengeScope);
    for (const scope of wanted) url.searchParams.append('scope', scope);

    const creds = await this.credentials(repo, signal);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds !== undefined) headers['authorization'] = basicHeader(creds);

    // Tried once: the registry request that needs the token is what gets retried.
    const res = await send(this.#agent, { method: 'GET', url, headers, ...(signal === undefined ? {} : { signal }) });
    if (res.status !== 200) {
      const text = await readText(res);
      const err = httpError(res.status, 'GET', url, text, { what: `token request for ${scopes.join(' ') || 'registry'}` });
      if (res.status === 401 || res.status === 403) {
        const why = creds === undefined ? 'no credentials were found' : 'the credentials were rejected';
        throw new RegistryError(res.status === 401 ? 'UAI_REGISTRY_UNAUTHORIZED' : 'UAI_REGISTRY_DENIED', `${err.message}; ${why}`, {
          status: res.status,
          method: 'GET',
          url,
          errors: [...err.registryErrors],
        });
      }
      throw err;
    }
    const body = await readBytes(res, 1 << 20);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(body).toString('utf8')) as typeof parsed;
    } catch {
      throw new RegistryError('UAI_REGISTRY_PROTOCOL', `token server ${redactUrl(url)} answered with something other than JSON`, { url });
    }
    const token = typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError('UAI_REGISTRY_PROTOCOL', `token server ${redactUrl(url)} answered without "token" or "access_token"`, { url });
    }
    const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    // Refresh a little early so a token does not expire between the check and the use.
    const expiresAt = Date.now() + Math.max(1, expiresIn - Math.min(10, expiresIn / 4)) * 1000;
    this.#tokens.set(scopes[0] ?? '', { token, expiresAt });
    return token;
  }
}

export function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
}
