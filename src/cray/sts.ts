/**
 * STS: temporary S3 credentials for the caller's token (`PUT /apis/sts/token` → 201
 * `{Credentials: {AccessKeyId, SecretAccessKey, SessionToken, EndpointURL, Expiration}}`).
 * They live about an hour; the provider asks again `refreshMarginMs` before `Expiration`,
 * so a long read or download keeps working.
 */
import { CrayError } from './errors.ts';
import { httpError, type GatewayHttp } from './gateway-http.ts';

export interface StsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The S3 endpoint to use, verbatim (e.g. `http://rgw.local:8080`). */
  endpointUrl: string;
  expiration?: Date;
}

export const STS_TOKEN_PATH = '/apis/sts/token';

export async function requestStsCredentials(http: GatewayHttp, options: { signal?: AbortSignal } = {}): Promise<StsCredentials> {
  const req = { service: 'STS', method: 'PUT' as const, path: STS_TOKEN_PATH };
  const res = await http.send({ ...req, ...(options.signal ? { signal: options.signal } : {}) });
  if (res.status !== 201 && res.status !== 200) {
    throw httpError(res.status === 403 ? 'UAI_CRAY_AUTH' : 'UAI_CRAY_STS', req, res, 'no S3 credentials');
  }
  const c = (res.body as { Credentials?: Record<string, unknown> } | undefined)?.Credentials;
  const str = (k: string): string | undefined => (typeof c?.[k] === 'string' && (c[k] as string).length > 0 ? (c[k] as string) : undefined);
  const accessKeyId = str('AccessKeyId');
  const secretAccessKey = str('SecretAccessKey');
  const endpointUrl = str('EndpointURL');
  if (!accessKeyId || !secretAccessKey || !endpointUrl) {
    const missing = ['AccessKeyId', 'SecretAccessKey', 'EndpointURL'].filter((k) => !str(k));
    throw new CrayError('UAI_CRAY_STS', `STS: PUT ${STS_TOKEN_PATH} → ${res.status} without Credentials.${missing.join(', Credentials.')}`, {
      details: { service: 'STS', path: STS_TOKEN_PATH, status: res.status, missing },
    });
  }
  const creds: StsCredentials = { accessKeyId, secretAccessKey, endpointUrl };
  const sessionToken = str('SessionToken');
  if (sessionToken) creds.sessionToken = sessionToken;
  const exp = str('Expiration');
  if (exp) {
    const d = new Date(exp);
    if (!Number.isNaN(d.getTime())) creds.expiration = d;
  }
  return creds;
}

export interface StsProviderOptions {
  /** Ask again this long before Expiration (default 5 min). */
  refreshMarginMs?: number;
  /** Assumed lifetime when STS gives no usable Expiration (default 1 h, as CSM's STS does). */
  defaultLifetimeMs?: number;
  now?: () => number;
}

/** Caches STS credentials and renews them before they expire; concurrent callers share a request. */
export class StsCredentialsProvider {
  /** How many times STS was asked (tests and progress output). */
  requests = 0;
  readonly #http: GatewayHttp;
  readonly #margin: number;
  readonly #lifetime: number;
  readonly #now: () => number;
  #current: { creds: StsCredentials; expiresAt: number } | undefined;
  #pending: Promise<StsCredentials> | undefined;

  constructor(http: GatewayHttp, options: StsProviderOptions = {}) {
    this.#http = http;
    this.#margin = options.refreshMarginMs ?? 5 * 60_000;
    this.#lifetime = options.defaultLifetimeMs ?? 60 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  async get(options: { signal?: AbortSignal } = {}): Promise<StsCredentials> {
    const cur = this.#current;
    if (cur && cur.expiresAt - this.#margin > this.#now()) return cur.creds;
    this.#pending ??= (async () => {
      this.requests++;
      const requestedAt = this.#now();
      const creds = await requestStsCredentials(this.#http, options);
      this.#current = { creds, expiresAt: creds.expiration?.getTime() ?? requestedAt + this.#lifetime };
      return creds;
    })().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** The expiry of the current credentials (ms), if any are cached. */
  get expiresAt(): number | undefined {
    return this.#current?.expiresAt;
  }

  /**
   * S3 said the credentials expired before their Expiration (clock skew, revocation):
   * forget them so the next request asks STS. While a renewal is under way this is a
   * no-op (the failure came from a request signed with the old ones).
   */
  invalidate(): void {
    if (this.#pending) return;
    this.#current = undefined;
  }
}
