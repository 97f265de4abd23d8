/**
 * Faults injected between our client and the real registry by test/support/fault-proxy.ts:
 * each must be survived, and the blob that ends up in the registry is checked by digest.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Warning } from '../../../src/errors.ts';
import { RegistryClient, RegistryError, type RegistryClientOptions } from '../../../src/destination/registry/index.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { skopeo, startRegistry, type TestRegistry } from '../../support/registry.ts';
import { OCI_MANIFEST, blobOf, collect, pushImage, randomBlob, sha256 } from './helpers.ts';

const UPLOADS = /\/blobs\/uploads\//;
const errorBody = (code: string, message = code.toLowerCase()): string => JSON.stringify({ errors: [{ code, message, detail: null }] });

describe('faults in front of a plain registry', () => {
  let reg: TestRegistry;
  let direct: RegistryClient;
  let proxy: FaultProxy;
  let client: RegistryClient;
  let warnings: Warning[];

  beforeAll(async () => {
    reg = await startRegistry({ mode: 'plain' });
    direct = new RegistryClient(reg.host);
  });
  afterAll(async () => {
    await direct?.close();
    await reg?.stop();
  });
  afterEach(async () => {
    await client?.close();
    await proxy?.stop();
  });

  async function through(options: RegistryClientOptions = {}): Promise<void> {
    proxy = await startFaultProxy(reg.url);
    warnings = [];
    client = new RegistryClient(proxy.host, { retryDelayMs: 5, onWarning: (w) => warnings.push(w), ...options });
  }

  /** The registry (asked directly, not through the proxy) has exactly these bytes. */
  async function expectStored(repo: string, bytes: Uint8Array): Promise<void> {
    expect(await collect(direct.getBlob(repo, sha256(bytes)))).toEqual(Buffer.from(bytes));
  }

  it('survives a connection reset in the middle of the streamed PATCH by reopening the blob', async () => {
    await through();
    proxy.fault({ method: 'PATCH', action: { type: 'reset', afterBytes: 150_000 } });
    const bytes = randomBlob(600_000);
    const blob = blobOf(bytes);
    const pushed = await client.pushBlob('uai/reset', blob);
    expect(pushed).toEqual({ digest: sha256(bytes), size: bytes.length, existed: false });
    expect(blob.opens).toBe(2);
    expect(proxy.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(warnings.map((w) => w.code)).toContain('UAI_REGISTRY_RETRY');
    expect(proxy.pending()).toEqual([]);
    await expectStored('uai/reset', bytes);
  });

  it('lets go of a shared first stream that failed, and retries from blob.open()', async () => {
    await through();
    proxy.fault({ method: 'PATCH', action: { type: 'reset', afterBytes: 100_000 } });
    const bytes = randomBlob(400_000);
    const blob = blobOf(bytes);
    let returned = 0;
    const inner = blobOf(bytes).open()[Symbol.asyncIterator]();
    const shared: AsyncIterableIterator<Uint8Array> = {
      next: () => inner.next(),
      return: async () => {
        returned++;
        return inner.return?.() ?? { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    const pushed = await client.pushBlob('uai/shared-retry', blob, { stream: shared });
    expect(pushed.digest).toBe(sha256(bytes));
    expect(blob.opens).toBe(1);
    expect(returned).toBeGreaterThanOrEqual(1);
    await expectStored('uai/shared-retry', bytes);
  });

  it('lets go of a shared stream when the blob is already there', async () => {
    await through();
    const bytes = randomBlob(1000);
    await direct.pushBlob('uai/shared-skip', blobOf(bytes));
    let returned = 0;
    let pulled = 0;
    const shared: AsyncIterableIterator<Uint8Array> = {
      next: async () => {
        pulled++;
        return { done: true, value: undefined };
      },
      return: async () => {
        returned++;
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    const pushed = await client.pushBlob('uai/shared-skip', blobOf(bytes, { known: true }), { stream: shared });
    expect(pushed.existed).toBe(true);
    expect(pulled).toBe(0);
    expect(returned).toBe(1);
  });

  it('retries a 500 on POST, a 503 on PATCH and a 502 on PUT', async () => {
    await through();
    proxy.fault({ method: 'POST', action: { type: 'respond', status: 500, body: errorBody('UNKNOWN') } });
    proxy.fault({ method: 'PUT', path: UPLOADS, action: { type: 'respond', status: 502, body: 'bad gateway' } });
    proxy.fault({ method: 'PATCH', action: { type: 'respond', status: 503, body: '<html>busy</html>', headers: { 'content-type': 'text/html' } } });
    const bytes = randomBlob(50_000);
    const pushed = await client.pushBlob('uai/5xx', blobOf(bytes));
    expect(pushed.digest).toBe(sha256(bytes));
    expect(proxy.pending()).toEqual([]);
    expect(proxy.requests.filter((r) => r.status === 500 || r.status === 502 || r.status === 503)).toHaveLength(3);
    await expectStored('uai/5xx', bytes);
  });

  it('waits for Retry-After on a 429', async () => {
    await through();
    proxy.fault({ method: 'HEAD', action: { type: 'respond', status: 429, headers: { 'retry-after': '1' }, body: errorBody('TOOMANYREQUESTS') } });
    const bytes = randomBlob(1000);
    await direct.pushBlob('uai/429', blobOf(bytes));
    const pushed = await client.pushBlob('uai/429', blobOf(bytes, { known: true }));
    expect(pushed.existed).toBe(true);
    const heads = proxy.requests.filter((r) => r.method === 'HEAD');
    expect(heads.map((r) => r.status)).toEqual([429, 200]);
    expect(heads[1]!.at - heads[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('gives up after the configured number of retries with the last status', async () => {
    await through({ retries: 2 });
    proxy.fault({ method: 'POST', times: 10, action: { type: 'respond', status: 503, body: errorBody('UNAVAILABLE') } });
    const err = await client.pushBlob('uai/giveup', blobOf(randomBlob(100))).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_SERVER');
    expect((err as RegistryError).status).toBe(503);
    expect(proxy.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
  });

  it('follows relative Locations, keeping their query (the upload state)', async () => {
    await through();
    proxy.fault({ method: 'POST', path: UPLOADS, action: { type: 'relative-location' } });
    proxy.fault({ method: 'PATCH', action: { type: 'relative-location' } });
    const bytes = randomBlob(20_000);
    const pushed = await client.pushBlob('uai/relative', blobOf(bytes));
    expect(pushed.digest).toBe(sha256(bytes));
    const put = proxy.requests.find((r) => r.method === 'PUT');
    expect(put?.path).toMatch(/_state=.*&digest=sha256%3A[0-9a-f]{64}$/);
    expect(proxy.pending()).toEqual([]);
    await expectStored('uai/relative', bytes);
  });

  it('starts over when a stale Location makes the registry forget the upload (chunked)', async () => {
    await through({ chunkSize: 50_000 });
    // The second PATCH answer carries the first one's Location: its _state is outdated,
    // and the real registry rejects the third chunk with 404 BLOB_UPLOAD_INVALID.
    proxy.fault({ method: 'PATCH', skip: 1, action: { type: 'stale-location' } });
    const bytes = randomBlob(180_000);
    const blob = blobOf(bytes);
    const pushed = await client.pushBlob('uai/stale', blob);
    expect(pushed.digest).toBe(sha256(bytes));
    expect(blob.opens).toBe(2);
    expect(proxy.requests.filter((r) => r.method === 'PATCH' && r.status === 404)).toHaveLength(1);
    await expectStored('uai/stale', bytes);
  });

  it('accepts a blob the registry stored although the commit answered 400 BLOB_UPLOAD_INVALID', async () => {
    await through();
    proxy.fault({
      method: 'PUT',
      path: UPLOADS,
      action: { type: 'forward-then-respond', status: 400, body: errorBody('BLOB_UPLOAD_INVALID', 'Repository does not allow updating assets') },
    });
    const bytes = randomBlob(30_000);
    const pushed = await client.pushBlob('uai/race', blobOf(bytes));
    expect(pushed).toEqual({ digest: sha256(bytes), size: bytes.length, existed: true });
    expect(warnings.map((w) => w.code)).toContain('UAI_REGISTRY_UPLOAD_RACE');
    await expectStored('uai/race', bytes);
  });

  it("treats Nexus's refusal to redeploy the same manifest as success, and explains it for a different one", async () => {
    await through();
    const first = await pushImage(direct, 'uai/redeploy', 'v1', randomBlob(3000));
    const refuse = { type: 'respond', status: 400, body: errorBody('BLOB_UPLOAD_INVALID', 'Repository does not allow updating assets: docker-hosted') } as const;
    proxy.fault({ method: 'PUT', path: /\/manifests\//, times: 2, action: refuse });
    expect(await client.putManifest('uai/redeploy', 'v1', first.manifest, OCI_MANIFEST)).toEqual({ digest: first.digest });
    expect(warnings.map((w) => w.code)).toContain('UAI_REGISTRY_MANIFEST_PRESENT');
    const other = await pushImage(direct, 'uai/redeploy', 'v2', randomBlob(3000));
    const err = await client.putManifest('uai/redeploy', 'v1', other.manifest, OCI_MANIFEST).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_BLOB_UPLOAD_INVALID');
    expect((err as RegistryError).message).toContain('redeploy');
    expect((err as RegistryError).status).toBe(400);
  });

  it('reports BLOB_UPLOAD_INVALID at the commit when the blob is really not there', async () => {
    await through();
    proxy.fault({ method: 'PUT', path: UPLOADS, action: { type: 'respond', status: 400, body: errorBody('BLOB_UPLOAD_INVALID') } });
    const bytes = randomBlob(1000);
    const err = await client.pushBlob('uai/invalid', blobOf(bytes)).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_BLOB_UPLOAD_INVALID');
    expect((err as RegistryError).message).toMatch(/PUT .*400.*BLOB_UPLOAD_INVALID/);
    expect(await direct.blobExists('uai/invalid', sha256(bytes))).toBe(false);
  });

  it('resumes a chunked upload from the registry Range after a reset, without reopening', async () => {
    await through({ chunkSize: 100_000 });
    proxy.fault({ method: 'PATCH', skip: 1, action: { type: 'reset', afterBytes: 40_000 } });
    const bytes = randomBlob(350_000);
    const blob = blobOf(bytes, { piece: 30_000 });
    const pushed = await client.pushBlob('uai/resume', blob);
    expect(pushed.digest).toBe(sha256(bytes));
    expect(blob.opens).toBe(1);
    expect(proxy.requests.some((r) => r.method === 'GET' && UPLOADS.test(r.path))).toBe(true);
    const ranges = proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
    expect(ranges[0]).toBe('0-99999');
    expect(ranges.at(-1)).toBe('300000-349999');
    await expectStored('uai/resume', bytes);
  });

  it('resyncs from the registry Range after a 416 on a chunk', async () => {
    await through({ chunkSize: 30_000 });
    proxy.fault({ method: 'PATCH', skip: 2, action: { type: 'respond', status: 416, body: errorBody('RANGE_INVALID', 'invalid content range') } });
    const bytes = randomBlob(100_000);
    const blob = blobOf(bytes);
    expect((await client.pushBlob('uai/416', blob)).digest).toBe(sha256(bytes));
    expect(blob.opens).toBe(1);
    const patches = proxy.requests.filter((r) => r.method === 'PATCH').map((r) => [r.headers['content-range'], r.status]);
    expect(patches).toEqual([
      ['0-29999', 202],
      ['30000-59999', 202],
      ['60000-89999', 416],
      ['60000-89999', 202],
      ['90000-99999', 202],
    ]);
    await expectStored('uai/416', bytes);
  });

  it('pushes through a registry that sends relative Locations itself (http.relativeurls)', async () => {
    const relative = await startRegistry({ mode: 'plain', relativeUrls: true });
    const c = new RegistryClient(relative.host, { chunkSize: 50_000 });
    try {
      const { digest } = await pushImage(c, 'uai/rel', 'v1', randomBlob(120_000));
      const info = JSON.parse(await skopeo(['inspect', ...relative.skopeoArgs, `docker://${relative.host}/uai/rel:v1`])) as { Digest: string };
      expect(info.Digest).toBe(digest);
    } finally {
      await c.close();
      await relative.stop();
    }
  });

  it("raises the chunk size to the registry's OCI-Chunk-Min-Length", async () => {
    await through({ chunkSize: 10_000 });
    proxy.fault({ method: 'POST', path: UPLOADS, action: { type: 'add-headers', headers: { 'oci-chunk-min-length': '40000' } } });
    const bytes = randomBlob(100_000);
    expect((await client.pushBlob('uai/minchunk', blobOf(bytes))).digest).toBe(sha256(bytes));
    const ranges = proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
    expect(ranges).toEqual(['0-39999', '40000-79999', '80000-99999']);
    await expectStored('uai/minchunk', bytes);
  });

  it('passes Warning: 299 headers to onWarning once', async () => {
    await through();
    proxy.fault({ method: 'GET', path: /^\/v2\/$/, times: 5, action: { type: 'add-headers', headers: { warning: '299 - "this registry is deprecated"' } } });
    proxy.fault({ method: 'HEAD', times: 5, action: { type: 'add-headers', headers: { warning: '299 - "this registry is deprecated"' } } });
    await client.checkAccess('uai/warn', ['pull']);
    await client.blobExists('uai/warn', sha256(randomBlob(4)));
    await client.blobExists('uai/warn', sha256(randomBlob(4)));
    const said = warnings.filter((w) => w.code === 'UAI_REGISTRY_WARNING');
    expect(said.map((w) => w.message)).toEqual([`registry ${proxy.host} says: this registry is deprecated`]);
  });

  it('puts on the wire what the spec and Nexus ask for, and keeps no cookies', async () => {
    await through();
    proxy.fault({ method: 'GET', path: /^\/v2\/$/, action: { type: 'add-headers', headers: { 'set-cookie': 'csrf=abc; Path=/' } } });
    const { manifest } = await pushImage(client, 'uai/wire', 'v1', randomBlob(70_000));
    const patch = proxy.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.headers['content-type']).toBe('application/octet-stream');
    expect(patch.headers['content-length']).toBeUndefined();
    expect(patch.headers['content-range']).toBeUndefined();
    expect(patch.headers['transfer-encoding']).toBe('chunked');
    const configPatch = proxy.requests.filter((r) => r.method === 'PATCH')[1]!;
    expect(Number(configPatch.headers['content-length'])).toBeGreaterThan(0);
    const put = proxy.requests.find((r) => r.method === 'PUT' && r.path.includes('/manifests/'))!;
    expect(put.headers['content-type']).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(Number(put.headers['content-length'])).toBe(manifest.length);
    expect(proxy.requests.every((r) => r.headers.cookie === undefined && r.headers.expect === undefined)).toBe(true);
  });

  it('passes an error of the blob stream itself through unchanged, without retrying', async () => {
    await through();
    const boom = Object.assign(new Error('the SquashFS is corrupt at offset 4096'), { code: 'UAI_SQFS_CORRUPTED' });
    let opens = 0;
    const blob = {
      open: () => {
        opens++;
        return (async function* () {
          yield randomBlob(70_000);
          throw boom;
        })();
      },
    };
    await expect(client.pushBlob('uai/source-error', blob)).rejects.toBe(boom);
    expect(opens).toBe(1);
  });

  it('stops at once when the signal is aborted', async () => {
    await through();
    const controller = new AbortController();
    const reason = new Error('stop now');
    const blob = {
      open: () =>
        (async function* () {
          yield randomBlob(10_000);
          controller.abort(reason);
          yield randomBlob(10_000);
        })(),
    };
    await expect(client.pushBlob('uai/abort', blob, { signal: controller.signal })).rejects.toBe(reason);
  });
});

describe('faults in front of a token registry', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let cdn: { url: string; seen: IncomingHttpHeaders[]; body: Uint8Array; close(): Promise<void> };

  beforeAll(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy(reg.url);
    const seen: IncomingHttpHeaders[] = [];
    const state: { body: Uint8Array } = { body: new Uint8Array(0) };
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-length': String(state.body.length) });
      res.end(state.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cdn = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      get body() {
        return state.body;
      },
      set body(b: Uint8Array) {
        state.body = b;
      },
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  });
  afterAll(async () => {
    await proxy?.stop();
    await cdn?.close();
    await reg?.stop();
  });

  it('re-authenticates once on a 401 with a fresh token', async () => {
    const client = new RegistryClient(proxy.host, { creds: reg.creds!, retryDelayMs: 5 });
    await client.checkAccess('uai/reauth', ['pull', 'push']);
    const tokensBefore = reg.tokenServer!.requests.length;
    proxy.fault({
      method: 'HEAD',
      action: {
        type: 'respond',
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${reg.tokenServer!.url}",service="uai-test-registry",scope="repository:uai/reauth:pull"` },
        body: errorBody('UNAUTHORIZED'),
      },
    });
    const bytes = randomBlob(2000);
    const pushed = await client.pushBlob('uai/reauth', blobOf(bytes, { known: true }));
    expect(pushed.existed).toBe(false);
    expect(reg.tokenServer!.requests.length).toBe(tokensBefore + 1);
    expect(reg.tokenServer!.requests.at(-1)!.scopes).toEqual(['repository:uai/reauth:pull,push', 'repository:uai/reauth:pull']);
    await client.close();
  });

  it("re-authenticates on Nexus's 400 with an HTML-escaped UNAUTHORIZED body", async () => {
    const client = new RegistryClient(proxy.host, { creds: reg.creds!, retryDelayMs: 5 });
    await client.checkAccess('uai/nexus400', ['pull', 'push']);
    const bytes = randomBlob(300);
    await client.pushBlob('uai/nexus400', blobOf(bytes));
    const tokensBefore = reg.tokenServer!.requests.length;
    proxy.fault({
      method: 'GET',
      path: /\/blobs\/sha256:/,
      action: {
        type: 'respond',
        status: 400,
        body: '{&quot;errors&quot;:[{&quot;code&quot;:&quot;UNAUTHORIZED&quot;,&quot;message&quot;:&quot;[ERROR-400] DOCKER Either Authorization header is missing or invalid&quot;}]}',
      },
    });
    expect(await collect(client.getBlob('uai/nexus400', sha256(bytes)))).toEqual(bytes);
    expect(reg.tokenServer!.requests.length).toBe(tokensBefore + 1);
    await client.close();
  });

  it('sends no Authorization to an upload Location on another host', async () => {
    const other = await startFaultProxy(reg.url);
    const client = new RegistryClient(proxy.host, { creds: reg.creds!, retries: 1, retryDelayMs: 5 });
    const postsBefore = proxy.requests.filter((r) => r.method === 'POST').length;
    try {
      // The POST answers send the upload to the other proxy (another host:port).
      proxy.fault({ method: 'POST', path: UPLOADS, action: { type: 'rewrite-location', map: (loc) => loc.replace(proxy.host, other.host) } });
      const err = await client.pushBlob('uai/cross', blobOf(randomBlob(1000))).catch((e: unknown) => e);
      expect((err as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
      expect((err as RegistryError).message).toContain('no credentials were sent');
      const atOther = other.requests.filter((r) => r.method === 'PATCH');
      expect(atOther).toHaveLength(1);
      // A 401 is not retried: one POST, and no rule left over for the next test.
      expect(proxy.requests.filter((r) => r.method === 'POST')).toHaveLength(postsBefore + 1);
      expect(proxy.pending()).toEqual([]);
      expect(atOther.every((r) => r.headers.authorization === undefined)).toBe(true);
      expect(proxy.requests.filter((r) => r.method === 'POST').every((r) => r.headers.authorization?.startsWith('Bearer '))).toBe(true);
    } finally {
      await client.close();
      await other.stop();
    }
  });

  it('follows a blob redirect to another host without the Authorization header, and checks the digest', async () => {
    const client = new RegistryClient(proxy.host, { creds: reg.creds!, retryDelayMs: 5 });
    const bytes = randomBlob(5000);
    await client.pushBlob('uai/redirect', blobOf(bytes));
    cdn.body = bytes;
    proxy.fault({ method: 'GET', path: /\/blobs\/sha256:/, times: 2, action: { type: 'redirect', to: (p) => `${cdn.url}${p}` } });
    expect(await collect(client.getBlob('uai/redirect', sha256(bytes)))).toEqual(bytes);
    const redirected = proxy.requests.filter((r) => r.fault === 'redirect');
    expect(redirected[0]?.headers.authorization).toMatch(/^Bearer /);
    expect(cdn.seen[0]?.authorization).toBeUndefined();

    cdn.body = randomBlob(5000);
    const err = await collect(client.getBlob('uai/redirect', sha256(bytes))).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_DIGEST_INVALID');
    await client.close();
  });
});
