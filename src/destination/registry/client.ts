/**
 * RegistryClient: the RegistryClientApi over undici, one Agent (and so one TLS setup)
 * per registry host. Each method is one protocol step from its own file.
 */
import type { Agent } from 'undici';
import type { BlobUpload, FetchedManifest, PushedBlob, RegistryClientApi, RegistryClientOptions } from './client-api.ts';
import { getBlob } from './blob-get.ts';
import { statBlob } from './blob-exists.ts';
import { RegistryError } from './errors.ts';
import { createAgent, discard } from './http.ts';
import { getManifest, putManifest } from './manifest.ts';
import { pushBlob } from './push-blob.ts';
import { checkRepo } from './reference.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
import { Session } from './session.ts';
import { tlsSettings } from './tls.ts';

/** `host[:port]`, optionally with `http://` or `https://` in front (forces the scheme). */
export function parseHost(input: string): { host: string; scheme?: 'http' | 'https' } {
  const m = /^(https?):\/\/(.+?)\/?$/i.exec(input.trim());
  const host = (m === null ? input.trim() : m[2]!).toLowerCase();
  let url: URL;
  try {
    url = new URL(`https://${host}`);
  } catch {
    url = new URL('https://invalid.invalid');
  }
  if (host === '' || url.host !== host || url.pathname !== '/' || host.includes('@')) {
    throw new RegistryError('UAI_REGISTRY_CONFIG', `invalid registry host ${JSON.stringify(input)} (expected host[:port])`, {
      details: { host: input },
    });
  }
  return m === null ? { host } : { host, scheme: m[1]!.toLowerCase() as 'http' | 'https' };
}

function checkOptions(options: RegistryClientOptions): RetryPolicy {
  const retries = options.retries ?? DEFAULT_RETRY.retries;
  const delayMs = options.retryDelayMs ?? DEFAULT_RETRY.delayMs;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RegistryError('UAI_REGISTRY_CONFIG', `retries must be a whole number >= 0, not ${retries}`);
  }
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new RegistryError('UAI_REGISTRY_CONFIG', `retryDelayMs must be >= 0, not ${delayMs}`);
  }
  if (options.chunkSize !== undefined && (!Number.isInteger(options.chunkSize) || options.chunkSize <= 0)) {
    throw new RegistryError('UAI_REGISTRY_CONFIG', `chunkSize must be a whole number of bytes > 0, not ${options.chunkSize}`);
  }
  return { retries, delayMs, maxDelayMs: DEFAULT_RETRY.maxDelayMs ?? 30_000 };
}

export class RegistryClient implements RegistryClientApi {
  /** `host[:port]` as used in URLs and credential lookups. */
  readonly host: string;
  readonly #options: RegistryClientOptions;
  readonly #agent: Agent;
  readonly #session: Session;

  constructor(host: string, options: RegistryClientOptions = {}) {
    const parsed = parseHost(host);
    this.host = parsed.host;
    this.#options = options;
    const retry = checkOptions(options);
    const tls = tlsSettings(parsed.host, {
      ...(options.tlsVerify === undefined ? {} : { tlsVerify: options.tlsVerify }),
      ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
      ...(options.caFile === undefined ? {} : { caFile: options.caFile }),
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    if (parsed.scheme === 'http' && !tls.allowPlainHttp) {
      throw new RegistryError('UAI_REGISTRY_CONFIG', `plain http to ${parsed.host} needs tlsVerify: false (only loopback hosts may use http otherwise)`, {
        details: { host: parsed.host },
      });
    }
    this.#agent = createAgent(tls.connect);
    this.#session = new Session(this.#agent, {
      host: parsed.host,
      ...(parsed.scheme === undefined ? {} : { scheme: parsed.scheme }),
      allowPlainHttp: tls.allowPlainHttp,
      retry,
      auth: {
        ...(options.creds === undefined ? {} : { creds: options.creds }),
        ...(options.authfile === undefined ? {} : { authfile: options.authfile }),
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
      },
    });
  }

  /** The base URL after the first request (`https://host:port` or `http://…`). */
  async baseUrl(signal?: AbortSignal): Promise<string> {
    return (await this.#session.baseWithRetries(signal)).origin;
  }

  async checkAccess(repo: string, actions: ReadonlyArray<'pull' | 'push'>, signal?: AbortSignal): Promise<void> {
    checkRepo(repo);
    const wanted = actions.length === 0 ? (['pull'] as const) : actions;
    const res = await this.#session.request({
      method: 'GET',
      url: '/v2/',
      repo,
      actions: wanted,
      ok: [200],
      what: `access check for ${repo}`,
      ...(signal === undefined ? {} : { signal }),
    });
    await discard(res);
    // A token server grants what it allows without an error: look at the token itself.
    const base = await this.#session.base(signal);
    const authorization = await this.#session.auth.headerFor(new URL('/v2/', base), repo, wanted, signal);
    const granted = this.#session.auth.grantedActions(authorization, repo);
    const missing = granted === undefined ? [] : wanted.filter((a) => !granted.includes(a));
    if (missing.length > 0) {
      throw new RegistryError('UAI_REGISTRY_DENIED', `the token for ${this.host}/${repo} does not grant ${missing.join(', ')} (granted: ${granted?.join(', ') || 'nothing'})`, {
        details: { repo, wanted: [...wanted], granted },
      });
    }
  }

  async blobExists(repo: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    return (await statBlob(this.#session, repo, digest, signal)).exists;
  }

  pushBlob(repo: string, blob: BlobUpload, options: { stream?: AsyncIterable<Uint8Array>; signal?: AbortSignal } = {}): Promise<PushedBlob> {
    return pushBlob(
      this.#session,
      repo,
      blob,
      {
        ...(this.#options.chunkSize === undefined ? {} : { chunkSize: this.#options.chunkSize }),
        ...(this.#options.onProgress === undefined ? {} : { onProgress: this.#options.onProgress }),
        ...(this.#options.onWarning === undefined ? {} : { onWarning: this.#options.onWarning }),
      },
      options,
    );
  }

  putManifest(repo: string, reference: string, body: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<{ digest: string }> {
    return putManifest(this.#session, repo, reference, body, mediaType, signal, this.#options.onWarning);
  }

  getManifest(repo: string, reference: string, accept: ReadonlyArray<string>, signal?: AbortSignal): Promise<FetchedManifest> {
    return getManifest(this.#session, repo, reference, accept, signal);
  }

  getBlob(repo: string, digest: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    return getBlob(this.#session, repo, digest, signal);
  }

  /** Closes the connections; calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#agent.closed || this.#agent.destroyed) return;
    await this.#agent.close();
  }
}
