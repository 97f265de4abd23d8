/**
 * One error type for everything the registry client throws on purpose: the HTTP status,
 * the method, the URL (without credentials or upload state), and the registry's own
 * `errors[].code` list from the distribution spec's JSON error body.
 */
import { UaiError } from '../../errors.ts';

export type RegistryErrorCode =
  | 'UAI_REGISTRY_UNAUTHORIZED'
  | 'UAI_REGISTRY_DENIED'
  | 'UAI_REGISTRY_MANIFEST_INVALID'
  | 'UAI_REGISTRY_MANIFEST_UNKNOWN'
  | 'UAI_REGISTRY_MANIFEST_BLOB_UNKNOWN'
  | 'UAI_REGISTRY_BLOB_UNKNOWN'
  | 'UAI_REGISTRY_BLOB_UPLOAD_INVALID'
  | 'UAI_REGISTRY_BLOB_UPLOAD_UNKNOWN'
  | 'UAI_REGISTRY_DIGEST_INVALID'
  | 'UAI_REGISTRY_SIZE_INVALID'
  | 'UAI_REGISTRY_NAME_INVALID'
  | 'UAI_REGISTRY_NAME_UNKNOWN'
  | 'UAI_REGISTRY_TAG_INVALID'
  | 'UAI_REGISTRY_UNSUPPORTED'
  | 'UAI_REGISTRY_TOO_MANY_REQUESTS'
  | 'UAI_REGISTRY_TOO_LARGE'
  | 'UAI_REGISTRY_NOT_FOUND'
  | 'UAI_REGISTRY_SERVER'
  | 'UAI_REGISTRY_HTTP'
  | 'UAI_REGISTRY_PROTOCOL'
  | 'UAI_REGISTRY_NETWORK'
  | 'UAI_REGISTRY_TLS'
  | 'UAI_REGISTRY_CONFIG'
  | 'UAI_REGISTRY_CREDENTIALS';

/** One entry of the spec's `{"errors":[{code,message,detail}]}` body. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export interface RegistryErrorInit {
  cause?: unknown;
  status?: number;
  method?: string;
  url?: string | URL;
  errors?: RegistryErrorEntry[];
  /** Worth another try (network error, 408, 429, 5xx, ...). */
  retryable?: boolean;
  /** From a 429/503 `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

export class RegistryError extends UaiError {
  declare readonly code: RegistryErrorCode;
  readonly status: number | undefined;
  readonly method: string | undefined;
  /** The request URL with user info removed and query values (upload state) elided. */
  readonly url: string | undefined;
  readonly registryErrors: readonly RegistryErrorEntry[];
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: RegistryErrorCode, message: string, init: RegistryErrorInit = {}) {
    const url = init.url === undefined ? undefined : redactUrl(init.url);
    const errors = init.errors ?? [];
    super(code, message, {
      cause: init.cause,
      details: {
        ...(init.status === undefined ? {} : { status: init.status }),
        ...(init.method === undefined ? {} : { method: init.method }),
        ...(url === undefined ? {} : { url }),
        ...(errors.length === 0 ? {} : { registryErrors: errors.map((e) => e.code) }),
        ...init.details,
      },
    });
    this.status = init.status;
    this.method = init.method;
    this.url = url;
    this.registryErrors = errors;
    this.retryable = init.retryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True when the registry's body named this spec code (e.g. `BLOB_UPLOAD_INVALID`). */
  hasRegistryCode(code: string): boolean {
    return this.registryErrors.some((e) => e.code === code);
  }
}

/** Removes user info and replaces query values except `digest` (which names the blob). */
export function redactUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return '<invalid url>';
  }
  url.username = '';
  url.password = '';
  const params = [...url.searchParams.entries()];
  if (params.length === 0) return url.toString();
  const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${k === 'digest' ? v : '…'}`).join('&');
  url.search = '';
  return `${url.toString()}?${query}`;
}

const BY_REGISTRY_CODE: Record<string, RegistryErrorCode> = {
  UNAUTHORIZED: 'UAI_REGISTRY_UNAUTHORIZED',
  DENIED: 'UAI_REGISTRY_DENIED',
  MANIFEST_INVALID: 'UAI_REGISTRY_MANIFEST_INVALID',
  MANIFEST_UNVERIFIED: 'UAI_REGISTRY_MANIFEST_INVALID',
  MANIFEST_UNKNOWN: 'UAI_REGISTRY_MANIFEST_UNKNOWN',
  MANIFEST_BLOB_UNKNOWN: 'UAI_REGISTRY_MANIFEST_BLOB_UNKNOWN',
  BLOB_UNKNOWN: 'UAI_REGISTRY_BLOB_UNKNOWN',
  BLOB_UPLOAD_INVALID: 'UAI_REGISTRY_BLOB_UPLOAD_INVALID',
  BLOB_UPLOAD_UNKNOWN: 'UAI_REGISTRY_BLOB_UPLOAD_UNKNOWN',
  DIGEST_INVALID: 'UAI_REGISTRY_DIGEST_INVALID',
  SIZE_INVALID: 'UAI_REGISTRY_SIZE_INVALID',
  NAME_INVALID: 'UAI_REGISTRY_NAME_INVALID',
  NAME_UNKNOWN: 'UAI_REGISTRY_NAME_UNKNOWN',
  TAG_INVALID: 'UAI_REGISTRY_TAG_INVALID',
  UNSUPPORTED: 'UAI_REGISTRY_UNSUPPORTED',
  TOOMANYREQUESTS: 'UAI_REGISTRY_TOO_MANY_REQUESTS',
};

/** The error code for an HTTP failure: the registry's own code first, then the status. */
export function codeFor(status: number, errors: readonly RegistryErrorEntry[]): RegistryErrorCode {
  for (const e of errors) {
    const mapped = BY_REGISTRY_CODE[e.code.toUpperCase()];
    if (mapped !== undefined) return mapped;
  }
  if (status === 401) return 'UAI_REGISTRY_UNAUTHORIZED';
  if (status === 403) return 'UAI_REGISTRY_DENIED';
  if (status === 404) return 'UAI_REGISTRY_NOT_FOUND';
  if (status === 413) return 'UAI_REGISTRY_TOO_LARGE';
  if (status === 429) return 'UAI_REGISTRY_TOO_MANY_REQUESTS';
  if (status >= 500) return 'UAI_REGISTRY_SERVER';
  return 'UAI_REGISTRY_HTTP';
}

/**
 * Parses an error body defensively: the spec's JSON, Nexus's HTML-escaped JSON, or
 * anything else (HTML from a proxy), of which a short plain-text excerpt is kept.
 */
export function parseErrorBody(text: string): { errors: RegistryErrorEntry[]; excerpt?: string } {
  const candidates = [text, text.replaceAll('&quot;', '"').replaceAll('&#34;', '"').replaceAll('&amp;', '&')];
  for (const candidate of candidates) {
    const start = candidate.indexOf('{');
    if (start < 0) continue;
    try {
      const parsed = JSON.parse(candidate.slice(start)) as { errors?: unknown };
      if (Array.isArray(parsed.errors)) {
        const errors = parsed.errors
          .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
          .map((e) => ({ code: String(e['code']), message: typeof e['message'] === 'string' ? e['message'] : undefined, detail: e['detail'] }));
        return { errors };
      }
    } catch {
      // not JSON: fall through
    }
  }
  const excerpt = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return excerpt === '' ? { errors: [] } : { errors: [], excerpt };
}

/** Statuses worth another try: request timeout, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Builds the error for a failed response: "PUT https://h/v2/r/manifests/t: 400 MANIFEST_INVALID (manifest invalid)". */
export function httpError(
  status: number,
  method: string,
  url: URL,
  bodyText: string,
  extra: { what?: string; retryAfterMs?: number } = {},
): RegistryError {
  const { errors, excerpt } = parseErrorBody(bodyText);
  const code = codeFor(status, errors);
  const spec = errors.map((e) => (e.message ? `${e.code} (${e.message})` : e.code)).join(', ');
  const reason = spec !== '' ? spec : excerpt !== undefined ? excerpt : 'no error body';
  const what = extra.what === undefined ? '' : `${extra.what}: `;
  const retryable =
    isRetryableStatus(status) || errors.some((e) => e.code === 'TOOMANYREQUESTS' || e.code === 'UNAVAILABLE');
  return new RegistryError(code, `${what}${method} ${redactUrl(url)} answered HTTP ${status}: ${reason}`, {
    status,
    method,
    url,
    errors,
    retryable,
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
  });
}
