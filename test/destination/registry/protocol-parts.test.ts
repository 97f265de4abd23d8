/**
 * The pure pieces of the protocol: challenge parsing, Retry-After, Range, Location
 * handling, error bodies, URL redaction, backoff, host parsing, chunking.
 */
import { describe, expect, it } from 'vitest';
import { parseChallenges, pickChallenge } from '../../../src/destination/registry/challenge.ts';
import { codeFor, httpError, parseErrorBody, redactUrl } from '../../../src/destination/registry/errors.ts';
import { parseHost } from '../../../src/destination/registry/client.ts';
import { backoffDelay, parseRetryAfter, withRetries } from '../../../src/destination/registry/retry.ts';
import { RegistryError } from '../../../src/destination/registry/errors.ts';
import { parseRange, rechunk, withDigest } from '../../../src/destination/registry/upload.ts';
import { hostnameOf, isLoopback, isTlsProtocolError, isCertificateError } from '../../../src/destination/registry/tls.ts';
import { collect } from './helpers.ts';

describe('WWW-Authenticate', () => {
  it('parses a Bearer challenge with quoted parameters', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ]);
  });

  it("reads Nexus's upper-case BASIC and several challenges in one header or many", () => {
    const nexus = parseChallenges('BASIC realm="Sonatype Nexus Repository Manager"');
    expect(nexus).toEqual([{ scheme: 'basic', params: { realm: 'Sonatype Nexus Repository Manager' } }]);
    const both = parseChallenges(['Basic realm="x"', 'Bearer realm="https://t/token", Service=reg']);
    expect(both.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(both[1]!.params['service']).toBe('reg');
    expect(pickChallenge(both)?.scheme).toBe('bearer');
    expect(pickChallenge(parseChallenges('Negotiate, Basic realm=r'))?.scheme).toBe('basic');
    expect(parseChallenges('Bearer realm="a\\"b"')[0]!.params['realm']).toBe('a"b');
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('Retry-After and backoff', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('doubles with up to 25 % jitter, capped, and honours Retry-After first', () => {
    const policy = { retries: 5, delayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, policy, undefined, () => 0)).toBe(100);
    expect(backoffDelay(2, policy, undefined, () => 1)).toBe(500);
    expect(backoffDelay(9, policy, undefined, () => 0.5)).toBe(1000);
    expect(backoffDelay(0, policy, 700)).toBe(700);
    expect(backoffDelay(0, policy, 60_000)).toBe(1000);
  });

  it('retries only retryable errors, a bounded number of times', async () => {
    let calls = 0;
    const flaky = new RegistryError('UAI_REGISTRY_NETWORK', 'reset', { retryable: true });
    await expect(withRetries(async () => {
      calls++;
      throw flaky;
    }, { retries: 3, delayMs: 1 })).rejects.toBe(flaky);
    expect(calls).toBe(4);
    calls = 0;
    const fatal = new RegistryError('UAI_REGISTRY_DENIED', 'no');
    await expect(withRetries(async () => {
      calls++;
      throw fatal;
    }, { retries: 3, delayMs: 1 })).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });
});

describe('upload locations', () => {
  it('parses Range with and without bytes=', () => {
    expect(parseRange('0-1023')).toBe(1024);
    expect(parseRange('bytes=0-99')).toBe(100);
    expect(parseRange('junk')).toBeUndefined();
    expect(parseRange(undefined)).toBeUndefined();
  });

  it('appends digest= and leaves the existing query untouched', () => {
    const loc = new URL('https://r.example/v2/a/blobs/uploads/u1?_state=ab%2Bc%3D%3D&x=1');
    expect(withDigest(loc, 'sha256:00').toString()).toBe('https://r.example/v2/a/blobs/uploads/u1?_state=ab%2Bc%3D%3D&x=1&digest=sha256%3A00');
    expect(withDigest(new URL('https://r.example/up/1'), 'sha256:00').search).toBe('?digest=sha256%3A00');
  });

  it('regroups a stream into fixed chunks', async () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([5, 6, 7, 8, 9])];
    const chunks: number[][] = [];
    for await (const c of rechunk((async function* () { yield* parts; })(), 4)) chunks.push([...c]);
    expect(chunks).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    expect(await collect(rechunk((async function* () {})(), 4))).toHaveLength(0);
  });
});

describe('errors', () => {
  it("maps the registry's code first, then the status", () => {
    expect(codeFor(404, [{ code: 'BLOB_UPLOAD_INVALID' }])).toBe('UAI_REGISTRY_BLOB_UPLOAD_INVALID');
    expect(codeFor(400, [{ code: 'UNAUTHORIZED' }])).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect(codeFor(403, [])).toBe('UAI_REGISTRY_DENIED');
    expect(codeFor(413, [])).toBe('UAI_REGISTRY_TOO_LARGE');
    expect(codeFor(502, [])).toBe('UAI_REGISTRY_SERVER');
  });

  it("reads spec JSON, Nexus's HTML-escaped JSON, and HTML pages", () => {
    expect(parseErrorBody('{"errors":[{"code":"DENIED","message":"no","detail":{"a":1}}]}').errors).toEqual([{ code: 'DENIED', message: 'no', detail: { a: 1 } }]);
    const nexus = '{&quot;errors&quot;:[{&quot;code&quot;:&quot;UNAUTHORIZED&quot;,&quot;message&quot;:&quot;[ERROR-400] DOCKER Either Authorization header is missing&quot;}]}';
    expect(parseErrorBody(nexus).errors[0]?.code).toBe('UNAUTHORIZED');
    const html = parseErrorBody('<html><body><h1>413 Request Entity Too Large</h1></body></html>');
    expect(html).toEqual({ errors: [], excerpt: '413 Request Entity Too Large' });
  });

  it('builds messages that name method, URL, status and codes, without secrets', () => {
    const err = httpError(400, 'PUT', new URL('https://user:pw@r.example/v2/a/blobs/uploads/u?_state=SECRETSTATE&digest=sha256:ab'), '{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}');
    expect(err.code).toBe('UAI_REGISTRY_DIGEST_INVALID');
    expect(err.message).toBe('PUT https://r.example/v2/a/blobs/uploads/u?_state=…&digest=sha256:ab answered HTTP 400: DIGEST_INVALID (digest did not match)');
    expect(err.details).toMatchObject({ status: 400, method: 'PUT', registryErrors: ['DIGEST_INVALID'] });
    expect(JSON.stringify(err.details)).not.toMatch(/pw|SECRETSTATE/);
    expect(redactUrl('http://a:b@h/x')).toBe('http://h/x');
    expect(httpError(503, 'GET', new URL('http://h/v2/'), '').retryable).toBe(true);
    expect(httpError(404, 'GET', new URL('http://h/v2/'), '').retryable).toBe(false);
  });
});

describe('hosts and TLS errors', () => {
  it('parses host[:port] with an optional scheme', () => {
    expect(parseHost('Registry.Local')).toEqual({ host: 'registry.local' });
    expect(parseHost('127.0.0.1:5000')).toEqual({ host: '127.0.0.1:5000' });
    expect(parseHost('http://[::1]:5000/')).toEqual({ host: '[::1]:5000', scheme: 'http' });
    for (const bad of ['', 'a b', 'host/path', 'user@host']) expect(() => parseHost(bad)).toThrow(RegistryError);
  });

  it('knows loopback hosts', () => {
    expect(hostnameOf('[::1]:5000')).toBe('::1');
    expect(hostnameOf('localhost:80')).toBe('localhost');
    expect(isLoopback('127.0.0.1:5000')).toBe(true);
    expect(isLoopback('[::1]:5000')).toBe(true);
    expect(isLoopback('registry.local')).toBe(false);
  });

  it('tells a certificate error from a server that does not speak TLS', () => {
    const cert = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const proto = Object.assign(new Error('SSL routines:ssl3_get_record:wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    expect(isCertificateError(cert)).toBe(true);
    expect(isTlsProtocolError(cert)).toBe(false);
    expect(isTlsProtocolError(proto)).toBe(true);
    expect(isCertificateError(new Error('wrapped', { cause: cert }))).toBe(true);
  });
});
