/**
 * One retry layer, failing fast on what will not heal: an unreachable port, a plain-HTTP
 * registry reached with TLS (and the reverse), an untrusted certificate, rejected
 * credentials. Trouble that does heal (5xx, resets) is retried, and every retry is
 * reported through onWarning — also by the `build` command, which prints it.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warning } from '../../../src/errors.ts';
import { RegistryClient, RegistryError } from '../../../src/destination/registry/index.ts';
import { startFaultProxy } from '../../support/fault-proxy.ts';
import { freePort, skopeo, spawnTied, startRegistry, type TestRegistry } from '../../support/registry.ts';
import { blobOf, randomBlob, sha256 } from './helpers.ts';

/** Generous guard against a hang (the old nested retries took ~132 s); not a speed target. */
const HANG_GUARD_MS = 30_000;

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  return err as RegistryError;
}

function retries(warnings: Warning[]): Warning[] {
  return warnings.filter((w) => w.code === 'UAI_REGISTRY_RETRY');
}

/** A TCP listener that counts connections and cuts each one at once (a reset, retryable). */
async function cuttingListener(): Promise<{ host: string; count(): number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    socket.resetAndDestroy();
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    count: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('failing fast', () => {
  it('gives up on a refused port at once, with the default policy, naming host and port', async () => {
    const port = await freePort();
    const warnings: Warning[] = [];
    const client = new RegistryClient(`127.0.0.1:${port}`, { onWarning: (w) => warnings.push(w) });
    const started = Date.now();
    const err = await failure(client.checkAccess('cray/x', ['pull', 'push']));
    expect(Date.now() - started).toBeLessThan(HANG_GUARD_MS);
    expect(err.code).toBe('UAI_REGISTRY_NETWORK');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('connection refused');
    expect(err.details['errno']).toBe('ECONNREFUSED');
    expect(retries(warnings)).toEqual([]);
    // The same for the other entry points (no retry layer of their own).
    expect((await failure(client.baseUrl())).code).toBe('UAI_REGISTRY_NETWORK');
    expect((await failure(client.pushBlob('cray/x', blobOf(randomBlob(10))))).code).toBe('UAI_REGISTRY_NETWORK');
    expect(retries(warnings)).toEqual([]);
    await client.close();
  });

  it('gives up on an unknown host name at once', async () => {
    const warnings: Warning[] = [];
    const client = new RegistryClient('registry.invalid:5000', { onWarning: (w) => warnings.push(w) });
    const err = await failure(client.checkAccess('cray/x', ['pull']));
    expect(err.code).toBe('UAI_REGISTRY_NETWORK');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('registry.invalid:5000');
    expect(retries(warnings)).toEqual([]);
    await client.close();
  });

  it('makes one connection per attempt: the ping inside a retried request is not retried on its own', async () => {
    const listener = await cuttingListener();
    const warnings: Warning[] = [];
    const client = new RegistryClient(listener.host, { retries: 3, retryDelayMs: 5, onWarning: (w) => warnings.push(w) });
    try {
      const err = await failure(client.checkAccess('cray/x', ['pull']));
      expect(err.code).toBe('UAI_REGISTRY_NETWORK');
      // 1 + 3 retries; nested retries made this (1 + 3) * (1 + 3) = 16.
      expect(listener.count()).toBe(4);
      expect(err.message).toContain('(gave up after 4 attempts)');
      const said = retries(warnings).map((w) => w.message);
      expect(said).toHaveLength(3);
      said.forEach((message, i) => {
        expect(message).toMatch(new RegExp(`^registry ${listener.host.replace(/\./g, '\\.')}: GET /v2/ failed \\(.+\\); retrying in \\d+\\.\\d s \\(${i + 1}/3\\)$`));
      });
    } finally {
      await client.close();
      await listener.close();
    }
  });
});

describe('TLS and credentials failures are not retried', () => {
  let plain: TestRegistry;
  let tls: TestRegistry;
  let token: TestRegistry;

  beforeAll(async () => {
    [plain, tls, token] = await Promise.all([startRegistry({ mode: 'plain' }), startRegistry({ mode: 'tls-basic' }), startRegistry({ mode: 'token' })]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), tls?.stop(), token?.stop()]);
  });

  it('says what to do when https:// meets a plain-HTTP registry', async () => {
    const warnings: Warning[] = [];
    const client = new RegistryClient(`https://${plain.host}`, { onWarning: (w) => warnings.push(w) });
    const err = await failure(client.checkAccess('cray/x', ['pull']));
    expect(err.code).toBe('UAI_REGISTRY_TLS');
    expect(err.message).toContain('the server answered plain HTTP to a TLS handshake: use --tls-verify=false for a plain-HTTP registry');
    expect(err.message).toContain(plain.host);
    expect(retries(warnings)).toEqual([]);
    await client.close();
  });

  it('says what to do when http:// meets a TLS registry', async () => {
    const warnings: Warning[] = [];
    const client = new RegistryClient(`http://${tls.host}`, { creds: tls.creds!, onWarning: (w) => warnings.push(w) });
    const err = await failure(client.checkAccess('cray/x', ['pull']));
    expect(err.code).toBe('UAI_REGISTRY_TLS');
    expect(err.message).toContain('speaks HTTPS');
    expect(retries(warnings)).toEqual([]);
    await client.close();
  });

  it('does not retry an untrusted certificate', async () => {
    const warnings: Warning[] = [];
    const client = new RegistryClient(tls.host, { creds: tls.creds!, onWarning: (w) => warnings.push(w) });
    const err = await failure(client.checkAccess('cray/x', ['pull']));
    expect(err.code).toBe('UAI_REGISTRY_TLS');
    expect(retries(warnings)).toEqual([]);
    await client.close();
  });

  it('asks the token server once when it refuses the credentials', async () => {
    const warnings: Warning[] = [];
    const before = token.tokenServer!.requests.length;
    const client = new RegistryClient(token.host, { creds: { username: 'tester', password: 'wrong' }, onWarning: (w) => warnings.push(w) });
    const err = await failure(client.checkAccess('cray/x', ['pull', 'push']));
    expect(err.code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect(token.tokenServer!.requests.length - before).toBe(1);
    expect(retries(warnings)).toEqual([]);
    await client.close();
  });

  it('recovers from a flaky server, saying why it waits', async () => {
    const proxy = await startFaultProxy(plain.url);
    const warnings: Warning[] = [];
    const client = new RegistryClient(`http://${proxy.host}`, { retryDelayMs: 5, onWarning: (w) => warnings.push(w) });
    try {
      proxy.fault({ method: 'GET', path: /^\/v2\/$/, times: 2, action: { type: 'respond', status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}' } });
      proxy.fault({ method: 'PATCH', action: { type: 'reset', afterBytes: 20_000 } });
      await client.checkAccess('cray/flaky', ['pull', 'push']);
      const bytes = randomBlob(200_000);
      const pushed = await client.pushBlob('cray/flaky', blobOf(bytes));
      expect(pushed.digest).toBe(sha256(bytes));
      expect(proxy.pending()).toEqual([]);
      // Two 503s on the ping, then the ping and checkAccess's own GET /v2/.
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.path === '/v2/').map((r) => r.status)).toEqual([503, 503, 200, 200]);
      const said = retries(warnings).map((w) => w.message);
      expect(said[0]).toMatch(new RegExp(`^registry ${proxy.host.replace(/\./g, '\\.')}: GET /v2/ failed \\(HTTP 503 UNAVAILABLE\\); retrying in \\d+\\.\\d s \\(1/5\\)$`));
      expect(said[1]).toMatch(/GET \/v2\/ failed \(HTTP 503 UNAVAILABLE\); retrying in .* \(2\/5\)$/);
      expect(said[2]).toMatch(/: upload of layer to cray\/flaky \(PATCH \/v2\/cray\/flaky\/blobs\/uploads\/[^)]*\) failed \(.+\); starting the upload over in \d+\.\d s \(1\/5\)$/);
      expect(said).toHaveLength(3);
    } finally {
      await client.close();
      await proxy.stop();
    }
  });
});

interface Run {
  code: number | null;
  stderr: string;
}

function build(args: string[]): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const env = { ...process.env };
    delete env['SOURCE_DATE_EPOCH'];
    const child = spawnTied(process.execPath, [resolve('src/cli/main.ts'), 'build', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS * 2);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolveRun({ code, stderr });
    });
  });
}

describe('uai-assemble build', () => {
  const image = resolve('fixtures/images/uai-rootfs-gzip.sqfs');

  it('fails fast on an unreachable registry, naming host and port', async () => {
    const port = await freePort();
    const started = Date.now();
    const run = await build([image, `docker://127.0.0.1:${port}/cray/x:1`]);
    expect(Date.now() - started).toBeLessThan(HANG_GUARD_MS);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`127.0.0.1:${port}`);
    expect(run.stderr).toContain('UAI_REGISTRY_NETWORK');
    expect(run.stderr).not.toContain('retrying');
  });

  it('prints the retry warnings of a flaky registry and still publishes', async () => {
    const reg = await startRegistry({ mode: 'plain' });
    const proxy = await startFaultProxy(reg.url);
    try {
      proxy.fault({ method: 'GET', path: /^\/v2\/$/, action: { type: 'respond', status: 503, body: 'busy' } });
      const run = await build([image, `docker://${proxy.host}/cray/flaky:1`]);
      expect(run.stderr).toMatch(new RegExp(`registry ${proxy.host.replace(/\./g, '\\.')}: GET /v2/ failed \\(HTTP 503\\); retrying in \\d+\\.\\d s \\(1/5\\)`));
      expect(run.code).toBe(0);
      expect(proxy.pending()).toEqual([]);
      const inspected = JSON.parse(await skopeo(['inspect', ...reg.skopeoArgs, `docker://${reg.host}/cray/flaky:1`])) as { Layers: string[] };
      expect(inspected.Layers.length).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
      await reg.stop();
    }
  });
});

describe('uai-assemble build against a registry that keeps failing uploads', () => {
  it('gives up after the client’s own retries, without a second round from the build', async () => {
    const reg = await startRegistry({ mode: 'plain' });
    const proxy = await startFaultProxy(reg.url);
    try {
      proxy.fault({ method: 'PATCH', times: 100, action: { type: 'respond', status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"disk"}]}' } });
      const run = await build([resolve('fixtures/images/uai-rootfs-gzip.sqfs'), `docker://${proxy.host}/cray/broken:1`]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('UAI_REGISTRY_');
      expect(run.stderr).not.toContain('retrying it alone from the rootfs');
      // The client makes 1 + 5 attempts (default retries); a second layer of retries would double that.
      expect(proxy.requests.filter((r) => r.method === 'PATCH').length).toBe(6);
      const tags = await fetch(`${reg.url}/v2/cray/broken/tags/list`);
      expect(tags.status).toBe(404);
      await tags.body?.cancel();
    } finally {
      await proxy.stop();
      await reg.stop();
    }
  });
});
