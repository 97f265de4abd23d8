/**
 * Authentication and TLS against the real docker-registry: rejected and missing
 * credentials, untrusted certificates, --tls-verify=false, cert dirs, CA files,
 * NODE_EXTRA_CA_CERTS, Bearer tokens (`access_token`, expiry), and no secret in errors.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsSettings } from '../../../src/destination/registry/tls.ts';
import { makePki } from '../../support/pki.ts';
import { RegistryClient, RegistryError } from '../../../src/destination/registry/index.ts';
import { skopeo, startRegistry, type TestRegistry } from '../../support/registry.ts';
import { blobOf, collect, randomBlob, sha256 } from './helpers.ts';

function secretsIn(err: unknown, secret: string): string[] {
  const b64 = Buffer.from(`tester:${secret}`).toString('base64');
  const places: string[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    const texts = [cur.message, String(cur.stack), JSON.stringify((cur as { details?: unknown }).details ?? {}), JSON.stringify(cur)];
    for (const t of texts) if (t.includes(secret) || t.includes(b64)) places.push(t);
    cur = cur.cause;
  }
  return places;
}

describe('TLS + htpasswd registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'tls-basic' });
  });
  afterAll(async () => reg?.stop());

  it('names the 401 for a wrong password, and never shows the password', async () => {
    const password = 'Wr0ng-Secret-xyzzy';
    const client = new RegistryClient(reg.host, { caFile: reg.caFile!, creds: { username: 'tester', password }, retryDelayMs: 1 });
    const err = await client.checkAccess('uai/denied', ['pull', 'push']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect((err as RegistryError).status).toBe(401);
    expect((err as RegistryError).message).toMatch(/401/);
    expect((err as RegistryError).message).toContain('rejected');
    expect(secretsIn(err, password)).toEqual([]);
    const pushErr = await client.pushBlob('uai/denied', blobOf(randomBlob(100))).catch((e: unknown) => e);
    expect((pushErr as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect(secretsIn(pushErr, password)).toEqual([]);
    await client.close();
  });

  it('says so when the registry wants credentials and none are found', async () => {
    const client = new RegistryClient(reg.host, { caFile: reg.caFile!, env: { HOME: reg.dir }, retryDelayMs: 1 });
    const err = await client.checkAccess('uai/anon', ['push']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect((err as RegistryError).message).toContain('no credentials');
    await client.close();
  });

  it('refuses a certificate from an unknown CA with UAI_REGISTRY_TLS (no fallback to http)', async () => {
    const client = new RegistryClient(reg.host, { creds: reg.creds!, env: { HOME: reg.dir }, retryDelayMs: 1 });
    const err = await client.checkAccess('uai/tls', ['pull']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_TLS');
    expect((err as RegistryError).message).toContain(reg.host);
    await client.close();
  });

  it('trusts the CA from caFile, certDir or NODE_EXTRA_CA_CERTS, and pushes', async () => {
    const bytes = randomBlob(4096);
    for (const options of [{ caFile: reg.caFile! }, { certDir: reg.certDir! }, { env: { HOME: reg.dir, NODE_EXTRA_CA_CERTS: reg.caFile! } }]) {
      const client = new RegistryClient(reg.host, { ...options, creds: reg.creds!, retryDelayMs: 1 });
      const pushed = await client.pushBlob('uai/trust', blobOf(bytes));
      expect(pushed.digest).toBe(sha256(bytes));
      expect(await client.baseUrl()).toBe(reg.url);
      await client.close();
    }
  });

  it('skips verification with tlsVerify: false', async () => {
    const client = new RegistryClient(reg.host, { tlsVerify: false, creds: reg.creds!, retryDelayMs: 1 });
    const bytes = randomBlob(2048);
    await client.pushBlob('uai/noverify', blobOf(bytes));
    expect(await collect(client.getBlob('uai/noverify', sha256(bytes)))).toEqual(bytes);
    await client.close();
  });
});

describe('registry that requires a client certificate', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'tls-basic', clientCerts: true });
  });
  afterAll(async () => reg?.stop());

  it('presents the *.cert/*.key pair from certDir; without it the handshake fails with UAI_REGISTRY_TLS', async () => {
    const bare = new RegistryClient(reg.host, { caFile: reg.caFile!, creds: reg.creds!, retryDelayMs: 1 });
    const err = await bare.checkAccess('uai/mtls', ['pull']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_TLS');
    await bare.close();
    const client = new RegistryClient(reg.host, { certDir: reg.clientCertDir!, creds: reg.creds!, retryDelayMs: 1 });
    const bytes = randomBlob(1234);
    expect((await client.pushBlob('uai/mtls', blobOf(bytes))).digest).toBe(sha256(bytes));
    const info = JSON.parse(await skopeo(['inspect', '--raw', ...reg.skopeoArgs, `docker://${reg.host}/uai/mtls:none`]).catch((e: Error) => JSON.stringify({ error: e.message }))) as { error?: string };
    expect(info.error).toMatch(/manifest unknown|not found/i);
    await client.close();
  });
});

describe('self-signed registry certificate', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'tls-basic', selfSigned: true });
  });
  afterAll(async () => reg?.stop());

  it('fails with UAI_REGISTRY_TLS without a CA, works with tlsVerify: false', async () => {
    const strict = new RegistryClient(reg.host, { creds: reg.creds!, retryDelayMs: 1 });
    const err = await strict.checkAccess('uai/self', ['pull']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_TLS');
    await strict.close();
    const lax = new RegistryClient(reg.host, { creds: reg.creds!, tlsVerify: false, retryDelayMs: 1 });
    await expect(lax.checkAccess('uai/self', ['pull', 'push'])).resolves.toBeUndefined();
    await lax.close();
  });
});

describe('token (Bearer) registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'token', token: { field: 'access_token', expiresIn: 1 } });
  });
  afterAll(async () => reg?.stop());

  it('rejects a wrong password at the token server with UAI_REGISTRY_UNAUTHORIZED', async () => {
    const password = 'n0t-the-Token-Pass';
    const client = new RegistryClient(reg.host, { creds: { username: 'tester', password }, retryDelayMs: 1 });
    const err = await client.checkAccess('uai/tok', ['pull', 'push']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect((err as RegistryError).status).toBe(401);
    expect(secretsIn(err, password)).toEqual([]);
    await client.close();
  });

  it('uses access_token, asks for repository:R:pull,push, and fetches a new token after expires_in', async () => {
    const client = new RegistryClient(reg.host, { creds: reg.creds!, retryDelayMs: 1 });
    const before = reg.tokenServer!.requests.length;
    await client.pushBlob('uai/tok', blobOf(randomBlob(1000)));
    await client.pushBlob('uai/tok', blobOf(randomBlob(1000)));
    const afterTwo = reg.tokenServer!.requests.slice(before);
    expect(afterTwo).toHaveLength(1);
    expect(afterTwo[0]).toMatchObject({ scopes: ['repository:uai/tok:pull,push'], service: 'uai-test-registry', authorized: true });
    await new Promise((r) => setTimeout(r, 1100));
    await client.pushBlob('uai/tok', blobOf(randomBlob(1000)));
    expect(reg.tokenServer!.requests.length - before).toBe(2);
    await client.close();
  });
});

describe('token registry that grants pull only', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'token', token: { pullOnly: true } });
  });
  afterAll(async () => reg?.stop());

  it('fails checkAccess for push with UAI_REGISTRY_DENIED, allows pull', async () => {
    const client = new RegistryClient(reg.host, { creds: reg.creds!, retryDelayMs: 1 });
    const err = await client.checkAccess('uai/ro', ['pull', 'push']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_DENIED');
    expect((err as RegistryError).message).toContain('push');
    await expect(client.checkAccess('uai/ro', ['pull'])).resolves.toBeUndefined();
    const pushErr = await client.pushBlob('uai/ro', blobOf(randomBlob(10))).catch((e: unknown) => e);
    expect((pushErr as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    await client.close();
  });
});

describe('default cert dirs (certs.d/HOST:PORT)', () => {
  it('finds CA and client pair under a certs.d root, and reports a .cert without its .key', () => {
    const root = mkdtempSync(join(tmpdir(), 'uai-certsd-'));
    try {
      const pki = makePki(join(root, 'pki'));
      const client = pki.issue('client', 'clientAuth');
      const hostDir = join(root, 'certs.d', 'registry.local:5000');
      mkdirSync(hostDir, { recursive: true });
      copyFileSync(pki.caFile, join(hostDir, 'ca.crt'));
      copyFileSync(client.cert, join(hostDir, 'client.cert'));
      copyFileSync(client.key, join(hostDir, 'client.key'));
      const settings = tlsSettings('registry.local:5000', { certDirRoots: [join(root, 'none'), join(root, 'certs.d')], env: {} });
      expect(settings.sources).toEqual([join(hostDir, 'ca.crt'), join(hostDir, 'client.cert'), join(hostDir, 'client.key')]);
      expect(settings.connect.ca).toContain(readFileSync(pki.caFile, 'utf8'));
      expect(settings.connect.ca!.length).toBeGreaterThan(100);
      expect(settings.connect.cert).toBe(readFileSync(client.cert, 'utf8'));
      expect(settings.allowPlainHttp).toBe(false);
      expect(tlsSettings('other:5000', { certDirRoots: [join(root, 'certs.d')], env: {} }).connect).toEqual({ rejectUnauthorized: true });
      rmSync(join(hostDir, 'client.key'));
      expect(() => tlsSettings('registry.local:5000', { certDirRoots: [join(root, 'certs.d')], env: {} })).toThrow(
        expect.objectContaining({ code: 'UAI_REGISTRY_CONFIG' }),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('plain HTTP policy', () => {
  it('allows http:// only for loopback hosts unless tlsVerify is false', () => {
    expect(() => new RegistryClient('http://registry.example:5000')).toThrow(expect.objectContaining({ code: 'UAI_REGISTRY_CONFIG' }));
    expect(() => new RegistryClient('http://registry.example:5000', { tlsVerify: false })).not.toThrow();
    expect(() => new RegistryClient('http://127.0.0.1:5000')).not.toThrow();
    expect(() => new RegistryClient('bad host/x')).toThrow(expect.objectContaining({ code: 'UAI_REGISTRY_CONFIG' }));
  });
});
