import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrayContext, listUaiImages, tokenFileName, DEFAULT_API_GATEWAY } from '../../src/cray/index.ts';
import { parseSimpleToml } from '../../src/cray/cray-config.ts';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';

let gw: FakeGateway;
let dir: string;

beforeAll(async () => {
  gw = await startFakeGateway();
  dir = mkdtempSync(join(tmpdir(), 'uai-auth-'));
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('the cray CLI configuration', () => {
  it('parses the TOML subset and names token files like craycli', () => {
    const toml = parseSimpleToml('# cray config\n[core]\nhostname = "https://api-gw-service-nmn.local"\ntenant = \'\'\n\n[auth.login]\nusername = "vers"\n');
    expect(toml).toEqual({ core: { hostname: 'https://api-gw-service-nmn.local', tenant: '' }, 'auth.login': { username: 'vers' } });
    expect(tokenFileName('https://api-gw-service-nmn.local', 'vers')).toBe('api_gw_service_nmn_local.vers');
    expect(tokenFileName('https://api.nmnlb.my-system.example:8443', 'first.last')).toBe('api_nmnlb_my_system_example:8443.first_last');
  });

  it('takes gateway, tenant and token from the active configuration', async () => {
    const home = join(dir, 'crayhome');
    const cray = join(home, '.config', 'cray');
    mkdirSync(join(cray, 'configurations'), { recursive: true });
    mkdirSync(join(cray, 'tokens'), { recursive: true });
    writeFileSync(join(cray, 'active_config'), 'lab\n');
    writeFileSync(join(cray, 'configurations', 'lab'), `[core]\nhostname = "${gw.url}"\ntenant = "vcluster-a"\n\n[auth.login]\nusername = "vers.x"\n`);
    const tokenPath = join(cray, 'tokens', tokenFileName(gw.url, 'vers.x'));
    writeFileSync(tokenPath, JSON.stringify(gw.tokenJson(3600)));
    const ctx = await createCrayContext({ env: { CRAY_CONFIG_DIR: home } });
    try {
      expect(ctx.gateway.origin).toBe(gw.url);
      expect(ctx.tenant).toBe('vcluster-a');
      expect(ctx.tokenSource).toBe(`token file ${tokenPath}`);
      const before = gw.requests.length;
      expect(await listUaiImages(ctx)).toEqual([]);
      expect(gw.requests.slice(before)).toMatchObject([{ path: '/apis/uas-mgr/v1/admin/config/images', tenant: 'vcluster-a', authorized: true }]);
    } finally {
      await ctx.close();
    }
    // Options win over the configuration; CRAY_CREDENTIALS wins over its token file.
    const creds = writeJson('creds.json', gw.tokenJson(3600));
    const ctx2 = await createCrayContext({ env: { CRAY_CONFIG_DIR: home, CRAY_CREDENTIALS: creds }, tenant: '', apiGateway: '127.0.0.1:9' });
    expect(ctx2.gateway.href).toBe('https://127.0.0.1:9/');
    expect(ctx2.tenant).toBeUndefined();
    expect(ctx2.tokenSource).toBe(`token file ${creds}`);
    await ctx2.close();
  });

  it('falls back to the NMN gateway with no configuration at all', async () => {
    const ctx = await createCrayContext({ env: { HOME: join(dir, 'empty-home') } });
    expect(ctx.gateway.origin).toBe(DEFAULT_API_GATEWAY);
    expect(ctx.tokenSource).toBeUndefined();
    await ctx.close();
  });
});

describe('token renewal', () => {
  it('refreshes a file token that is about to expire before using it', async () => {
    const file = writeJson('short.json', gw.tokenJson(5));
    const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile: file, env: { HOME: dir } });
    const before = gw.count('POST', '/keycloak/');
    const seen = gw.requests.length;
    await listUaiImages(ctx);
    expect(gw.count('POST', '/keycloak/')).toBe(before + 1);
    expect(gw.requests.slice(seen).filter((r) => r.path.startsWith('/apis/')).every((r) => r.authorized)).toBe(true);
    await ctx.close();
  });

  it('saves a renewed token back to its file as the cray CLI does, so a realm that revokes used refresh tokens keeps working', async () => {
    gw.revokeRefreshTokens = true;
    try {
      const original = gw.tokenJson(5);
      const file = writeJson('saved.json', original);
      const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile: file, env: { HOME: dir } });
      const t0 = Date.now() / 1000;
      await listUaiImages(ctx);
      await ctx.close();
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(saved.access_token).not.toBe(original.access_token);
      expect(saved.refresh_token).not.toBe(original.refresh_token);
      expect(saved).toMatchObject({ client_id: 'shasta', token_type: 'bearer', expires_in: gw.tokenLifetime });
      expect(saved.expires_at as number).toBeGreaterThanOrEqual(t0 + gw.tokenLifetime - 1);
      expect(saved.expires_at as number).toBeLessThanOrEqual(Date.now() / 1000 + gw.tokenLifetime + 1);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      // The next run reads the saved file; its access token is refused, and the saved
      // refresh token (the original one was revoked when used) still renews it.
      gw.revokeTokens();
      const ctx2 = await createCrayContext({ apiGateway: gw.url, tokenFile: file, env: { HOME: dir } });
      const seen = gw.requests.length;
      await listUaiImages(ctx2);
      await ctx2.close();
      expect(gw.requests.slice(seen).filter((r) => r.path.startsWith('/apis/')).at(-1)).toMatchObject({ authorized: true });
    } finally {
      gw.revokeRefreshTokens = false;
    }
  });

  it('leaves the token file alone when another process renewed it meanwhile', async () => {
    const file = writeJson('raced.json', gw.tokenJson(5));
    const theirs = JSON.stringify(gw.tokenJson(3600));
    gw.onKeycloakGrant = () => writeFileSync(file, theirs);
    try {
      const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile: file, env: { HOME: dir } });
      await listUaiImages(ctx);
      await ctx.close();
    } finally {
      gw.onKeycloakGrant = undefined;
    }
    expect(readFileSync(file, 'utf8')).toBe(theirs);
  });

  it('says to log in again when an expiring token cannot be refreshed', async () => {
    const file = writeJson('stale.json', { access_token: gw.issueToken(1), expires_in: 1, refresh_token: 'refresh-unknown', client_id: 'shasta' });
    const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile: file, env: { HOME: dir } });
    const err = await listUaiImages(ctx).catch((e: unknown) => e);
    await ctx.close();
    expect(err).toMatchObject({ code: 'UAI_CRAY_AUTH', details: { service: 'Keycloak', status: 400 } });
    expect((err as Error).message).toContain("cray auth login");
    expect((err as Error).message).not.toContain('refresh-unknown');
  });

  it('re-reads a token file without refresh_token after a 401 (another process renewed it)', async () => {
    const file = writeJson('plain.json', { access_token: gw.issueToken(3600) });
    const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile: file, env: { HOME: dir } });
    await listUaiImages(ctx);
    gw.revokeTokens();
    writeJson('plain.json', { access_token: gw.issueToken(3600) });
    const seen = gw.requests.length;
    await listUaiImages(ctx);
    // One refused request with the old token, one accepted with the re-read one.
    expect(gw.requests.slice(seen).map((r) => r.authorized)).toEqual([false, true]);
    await ctx.close();
  });

  it('caches client-credentials tokens, renews them near expiry, and once on a 401', async () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'admin-secret\n');
    const ctx = await createCrayContext({ apiGateway: gw.url, clientId: 'admin-client', clientSecretFile: secret, env: { HOME: dir } });
    const k0 = gw.count('POST', '/keycloak/');
    await listUaiImages(ctx);
    await listUaiImages(ctx);
    await listUaiImages(ctx);
    expect(gw.count('POST', '/keycloak/')).toBe(k0 + 1);
    gw.revokeTokens();
    await listUaiImages(ctx);
    expect(gw.count('POST', '/keycloak/')).toBe(k0 + 2);
    await ctx.close();

    gw.tokenLifetime = 10;
    try {
      const shortLived = await createCrayContext({ apiGateway: gw.url, clientId: 'admin-client', clientSecretFile: secret, env: { HOME: dir } });
      const k1 = gw.count('POST', '/keycloak/');
      await listUaiImages(shortLived);
      await listUaiImages(shortLived);
      // 10 s tokens are inside the 30 s margin: each use renews.
      expect(gw.count('POST', '/keycloak/')).toBe(k1 + 2);
      await shortLived.close();
    } finally {
      gw.tokenLifetime = 300;
    }
  });

  it('refuses both --token and client credentials, and a missing secret file', async () => {
    await expect(createCrayContext({ tokenFile: 'a', clientId: 'b', env: { HOME: dir } })).rejects.toMatchObject({ code: 'UAI_CRAY_CONFIG' });
    await expect(createCrayContext({ clientId: 'admin-client', env: { HOME: dir } })).rejects.toMatchObject({ code: 'UAI_CRAY_CONFIG' });
    await expect(createCrayContext({ clientId: 'admin-client', clientSecretFile: join(dir, 'nope'), env: { HOME: dir } })).rejects.toMatchObject({
      code: 'UAI_CRAY_CONFIG',
      message: expect.stringContaining(join(dir, 'nope')),
    });
  });
});

describe('TLS to the gateway', () => {
  it('verifies certificates; --ca-file makes a private CA trusted', async () => {
    const key = join(dir, 'gw.key');
    const cert = join(dir, 'gw.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
      '-subj', '/CN=api-gw-service-nmn.local', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const tls = await startFakeGateway({ tls: { key: readFileSync(key), cert: readFileSync(cert) } });
    try {
      expect(tls.url.startsWith('https://127.0.0.1:')).toBe(true);
      const token = writeJson('tls-token.json', tls.tokenJson(3600));
      const untrusted = await createCrayContext({ apiGateway: tls.url, tokenFile: token, env: { HOME: dir } });
      const err = await listUaiImages(untrusted).catch((e: unknown) => e);
      await untrusted.close();
      expect(err).toMatchObject({ code: 'UAI_CRAY_CONNECT' });
      expect((err as Error).message).toContain('--ca-file');
      const trusted = await createCrayContext({ apiGateway: tls.url, tokenFile: token, caFile: cert, env: { HOME: dir } });
      expect(await listUaiImages(trusted)).toEqual([]);
      await trusted.close();
    } finally {
      await tls.stop();
    }
  });
});
