/**
 * `GET /v2/`: finds the scheme (https, or http where allowed and the server does not
 * speak TLS) and the challenge the registry wants answered.
 */
import type { Dispatcher } from 'undici';
import { pickChallenge, parseChallenges, type Challenge } from './challenge.ts';
import { RegistryError, httpError, redactUrl } from './errors.ts';
import { discard, readText, send } from './http.ts';
import { isTlsProtocolError } from './tls.ts';

export interface PingResult {
  /** `https://host:port` or `http://host:port`. */
  base: URL;
  /** null when `/v2/` answered 200 without asking for credentials. */
  challenge: Challenge | null;
}

export interface PingOptions {
  /** http:// may be tried when https finds no TLS server. */
  allowPlainHttp: boolean;
  /** Forces the scheme (`host` given as `http://…` or `https://…`). */
  scheme?: 'http' | 'https';
  signal?: AbortSignal;
}

/** Pings `host` (`host[:port]`). Throws RegistryError for anything but 200 or 401. */
export async function ping(agent: Dispatcher, host: string, options: PingOptions): Promise<PingResult> {
  const schemes: Array<'http' | 'https'> = options.scheme !== undefined ? [options.scheme] : options.allowPlainHttp ? ['https', 'http'] : ['https'];
  let lastError: unknown;
  for (const scheme of schemes) {
    const base = new URL(`${scheme}://${host}`);
    const url = new URL('/v2/', base);
    try {
      const res = await send(agent, {
        method: 'GET',
        url,
        headers: { 'docker-distribution-api-version': 'registry/2.0' },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (res.status === 200) {
        await discard(res);
        return { base, challenge: null };
      }
      const text = await readText(res);
      if (res.status === 401) {
        const challenge = pickChallenge(parseChallenges(res.headers['www-authenticate']));
        if (challenge === undefined) {
          throw new RegistryError('UAI_REGISTRY_PROTOCOL', `GET ${redactUrl(url)} answered 401 without a Basic or Bearer challenge`, {
            status: 401,
            method: 'GET',
            url,
          });
        }
        return { base, challenge };
      }
      // Fell back to http, but the server does speak TLS ("Client sent an HTTP request to
      // an HTTPS server"): the https failure is the one to report.
      if (scheme === 'http' && res.status === 400 && /https/i.test(text) && lastError !== undefined) throw lastError;
      if (scheme === 'http' && res.status === 400 && /https/i.test(text)) {
        throw new RegistryError('UAI_REGISTRY_TLS', `GET ${redactUrl(url)}: the server speaks HTTPS (it answered plain HTTP with 400): use https:// or no scheme for ${host}`, {
          status: 400,
          method: 'GET',
          url,
          details: { host },
        });
      }
      throw httpError(res.status, 'GET', url, text, { what: 'ping' });
    } catch (err) {
      lastError = err;
      const cause = err instanceof RegistryError ? err.cause : err;
      if (scheme === 'https' && schemes.length > 1 && isTlsProtocolError(cause)) continue;
      throw err;
    }
  }
  throw lastError;
}
