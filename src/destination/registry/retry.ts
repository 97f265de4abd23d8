/**
 * Bounded retries with exponential backoff and jitter, honouring `Retry-After`.
 * What is retryable is decided by the caller (`RegistryError.retryable` by default):
 * network errors, 408, 429 and 5xx.
 */
import { throwIfAborted, type Warning } from '../../errors.ts';
import { RegistryError } from './errors.ts';

export interface RetryPolicy {
  /** Further attempts after the first (default 5). */
  retries: number;
  /** First backoff delay in ms (default 500); doubled each time, with up to 25 % jitter. */
  delayMs: number;
  /** Upper bound of one wait, also for Retry-After (default 30 s). */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, delayMs: 500, maxDelayMs: 30_000 };

/** `Retry-After: <seconds>` or `Retry-After: <HTTP date>`, in ms from `now`; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before attempt `attempt + 1` (attempt counts from 0). */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random = Math.random): number {
  const max = policy.maxDelayMs ?? 30_000;
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, max);
  const base = policy.delayMs * 2 ** attempt;
  return Math.min(max, Math.round(base * (1 + 0.25 * random())));
}

/** Resolves after `ms`, or rejects as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function isRetryable(err: unknown): boolean {
  return err instanceof RegistryError && err.retryable;
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** Decides whether `err` is worth another attempt (default: `isRetryable`). */
  shouldRetry?: (err: unknown) => boolean;
  /** Called before each wait (logging, progress reset). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn(attempt)` until it succeeds, a non-retryable error occurs, or the retries are used up. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.retries || !shouldRetry(err) || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, policy, err instanceof RegistryError ? err.retryAfterMs : undefined);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

const NETWORK_WORDS: Readonly<Record<string, string>> = {
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the body stalled',
  UND_ERR_CLOSED: 'connection closed',
};

/** A few words on why an attempt failed: `connection reset`, `HTTP 503 UNAVAILABLE`. */
export function failureReason(err: unknown): string {
  if (err instanceof RegistryError) {
    if (err.status !== undefined) {
      const codes = err.registryErrors.map((e) => e.code).join(', ');
      return `HTTP ${err.status}${codes === '' ? '' : ` ${codes}`}`;
    }
    let cur: unknown = err.cause;
    for (let depth = 0; depth < 4 && cur instanceof Error; depth++) {
      const code = (cur as { code?: unknown }).code;
      if (typeof code === 'string' && NETWORK_WORDS[code] !== undefined) return NETWORK_WORDS[code];
      cur = (cur as { cause?: unknown }).cause;
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}

/**
 * The warning for one retry: `registry 127.0.0.1:5000: PATCH /v2/r/blobs/uploads/… failed
 * (connection reset); retrying in 1.2 s (2/5)`. `what` names the request.
 */
export function retryWarning(host: string, what: string, err: unknown, attempt: number, delayMs: number, policy: RetryPolicy, verb = 'retrying'): Warning {
  // Name the request that failed when it is another one (the ping, the token server).
  if (err instanceof RegistryError && err.url !== undefined && err.method !== undefined) {
    try {
      const url = new URL(err.url);
      const failed = `${err.method} ${url.host === host ? '' : url.host}${url.pathname}`;
      if (!what.startsWith(failed)) what = `${what} (${failed})`;
    } catch {
      // no usable URL: keep `what`
    }
  }
  const seconds = delayMs >= 10_000 ? Math.round(delayMs / 1000).toString() : (delayMs / 1000).toFixed(1);
  return {
    code: 'UAI_REGISTRY_RETRY',
    message: `registry ${host}: ${what} failed (${failureReason(err)}); ${verb} in ${seconds} s (${attempt + 1}/${policy.retries})`,
    details: {
      host,
      attempt: attempt + 1,
      retries: policy.retries,
      delayMs,
      ...(err instanceof RegistryError ? { code: err.code, ...(err.status === undefined ? {} : { status: err.status }) } : {}),
    },
  };
}
