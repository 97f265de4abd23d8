/**
 * The request pipeline every protocol step uses: ping once (scheme and challenge),
 * add the Authorization header (registry host only), re-authenticate once on 401,
 * retry replayable requests on network errors, 408, 429 and 5xx (the only retry layer:
 * ping and token requests inside a request are tried once per attempt), and turn unexpected
 * statuses into RegistryError (the body read for the registry's error codes).
 */
import type { Dispatcher } from 'undici';
import type { Warning } from '../../errors.ts';
import { Authenticator, type Action, type AuthOptions } from './auth.ts';
import { RegistryError, httpError } from './errors.ts';
import { header, readText, send, type HttpResponse, type RequestBody } from './http.ts';
import { ping } from './ping.ts';
import { parseRetryAfter, retryWarning, withRetries, type RetryPolicy } from './retry.ts';

export interface SessionRequest {
  method: string;
  /** Absolute, or a path resolved against the registry's base URL. */
  url: URL | string;
  headers?: Record<string, string>;
  /** A Uint8Array can be sent again; a stream cannot (no retry, no re-auth resend). */
  body?: RequestBody;
  /** The repository (for the token scope and credential keys). */
  repo?: string;
  actions?: readonly Action[];
  /** Statuses returned to the caller; others become RegistryError. Default [200]. */
  ok?: readonly number[];
  /** Short context for messages: `upload of layer sha256:…`. */
  what?: string;
  /** Send once, even with a replayable body (the caller has its own recovery). */
  once?: boolean;
  signal?: AbortSignal;
}

export interface SessionOptions {
  host: string;
  scheme?: 'http' | 'https';
  allowPlainHttp: boolean;
  retry: RetryPolicy;
  auth: AuthOptions;
}

export class Session {
  readonly agent: Dispatcher;
  readonly auth: Authenticator;
  readonly retry: RetryPolicy;
  readonly #options: SessionOptions;
  #base: Promise<URL> | undefined;

  constructor(agent: Dispatcher, options: SessionOptions) {
    this.agent = agent;
    this.#options = options;
    this.retry = options.retry;
    this.auth = new Authenticator(options.host, agent, options.auth);
  }

  get host(): string {
    return this.#options.host;
  }

  /**
   * The registry's base URL (after one ping; a failed ping is tried again next time).
   * The ping is shared by concurrent callers, so it runs without any one caller's
   * signal; each caller stops waiting when its own signal fires. It is tried once: the
   * request that needs it is what is retried (one retry layer, never retries of retries).
   */
  base(signal?: AbortSignal): Promise<URL> {
    if (this.#base === undefined) {
      const pinging = ping(this.agent, this.#options.host, {
        allowPlainHttp: this.#options.allowPlainHttp,
        ...(this.#options.scheme === undefined ? {} : { scheme: this.#options.scheme }),
      }).then((result) => {
        this.auth.setChallenge(result.challenge);
        return result.base;
      });
      this.#base = pinging;
      pinging.catch(() => {
        if (this.#base === pinging) this.#base = undefined;
      });
    }
    return untilAborted(this.#base, signal);
  }

  /** The base URL, the ping retried like a request (for callers outside `request`). */
  baseWithRetries(signal?: AbortSignal): Promise<URL> {
    return this.retrying(() => this.base(signal), 'GET /v2/', signal);
  }

  async resolve(url: URL | string, signal?: AbortSignal): Promise<URL> {
    if (url instanceof URL) return url;
    return new URL(url, await this.base(signal));
  }

  /** Sends `req`, with retries when its body is replayable. */
  async request(req: SessionRequest): Promise<HttpResponse> {
    const replayable = req.body === undefined || req.body === null || req.body instanceof Uint8Array;
    const once = (): Promise<HttpResponse> => this.#requestOnce(req, replayable);
    if (!replayable || req.once === true) return once();
    const path = req.url instanceof URL ? req.url.pathname : req.url.split('?')[0]!;
    return this.retrying(once, `${req.method} ${path}`, req.signal);
  }

  /**
   * The one retry layer: `fn` again on retryable errors (network trouble mid-transfer,
   * 408, 429, 5xx) with backoff, each retry reported through onWarning.
   */
  async retrying<T>(fn: () => Promise<T>, what: string, signal?: AbortSignal): Promise<T> {
    let retried = 0;
    try {
      return await withRetries(fn, this.retry, {
        ...(signal === undefined ? {} : { signal }),
        onRetry: (err, attempt, delayMs) => {
          retried = attempt + 1;
          this.warn(retryWarning(this.host, what, err, attempt, delayMs, this.retry));
        },
      });
    } catch (err) {
      // Say that the waiting is over: the last error, after how many attempts.
      if (retried > 0 && err instanceof RegistryError) err.message = `${err.message} (gave up after ${retried + 1} attempts)`;
      throw err;
    }
  }

  /** Passes a warning to the client's onWarning, if any. */
  warn(warning: Warning): void {
    this.#options.auth.onWarning?.(warning);
  }

  /** `Warning: 299 - "text"` headers are shown to the user, never acted on (spec). */
  #reportWarnings(res: HttpResponse): void {
    const onWarning = this.#options.auth.onWarning;
    const raw = res.headers['warning'];
    if (onWarning === undefined || raw === undefined) return;
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      const m = /^\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(value);
      if (m === null || this.#warned.has(m[1]!)) continue;
      this.#warned.add(m[1]!);
      onWarning({ code: 'UAI_REGISTRY_WARNING', message: `registry ${this.host} says: ${m[1]!}`, details: { host: this.host } });
    }
  }

  readonly #warned = new Set<string>();

  async #requestOnce(req: SessionRequest, replayable: boolean): Promise<HttpResponse> {
    const url = await this.resolve(req.url, req.signal);
    const actions = req.actions ?? ['pull'];
    const ok = req.ok ?? [200];
    let reauthed = false;
    for (;;) {
      const headers: Record<string, string> = { ...req.headers };
      const authorization = await this.auth.headerFor(url, req.repo, actions, req.signal);
      if (authorization !== undefined) headers['authorization'] = authorization;
      const res = await send(this.agent, {
        method: req.method,
        url,
        headers,
        ...(req.body === undefined ? {} : { body: req.body }),
        ...(req.signal === undefined ? {} : { signal: req.signal }),
      });
      this.#reportWarnings(res);
      if (ok.includes(res.status)) return res;
      const text = await readText(res);
      // Nexus has answered 400 with an UNAUTHORIZED body where others say 401.
      const unauthorized = res.status === 401 || (res.status === 400 && /"code"\s*:\s*"UNAUTHORIZED"/.test(text.replaceAll('&quot;', '"')));
      if (unauthorized && !reauthed) {
        reauthed = true;
        await this.auth.onUnauthorized(res, text, req.repo, authorization !== undefined, req.signal);
        if (replayable) continue;
        // A consumed stream cannot be sent again: the caller restarts the whole upload.
        throw new RegistryError('UAI_REGISTRY_UNAUTHORIZED', `${req.method} ${url.pathname}: authorization expired during a streamed request`, {
          status: 401,
          method: req.method,
          url,
          retryable: true,
        });
      }
      const retryAfter = parseRetryAfter(header(res, 'retry-after'));
      throw httpError(res.status, req.method, url, text, {
        ...(req.what === undefined ? {} : { what: req.what }),
        ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      });
    }
  }
}

/** `promise`, or the signal's reason as soon as it fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
