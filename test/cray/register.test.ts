import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCrayContext, registerUaiImage } from '../../src/cray/index.ts';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let gw: FakeGateway;
let dir: string;
let tokenFile: string;

beforeAll(async () => {
  gw = await startFakeGateway();
  dir = mkdtempSync(join(tmpdir(), 'uai-register-'));
  tokenFile = join(dir, 'token.json');
  writeFileSync(tokenFile, JSON.stringify(gw.tokenJson(3600)));
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  gw.clearFailures();
  gw.uasInstalled = true;
});

/** Runs the real CLI (`node src/cli/main.ts register …`) against the fake gateway. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['src/cli/main.ts', 'register', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: dir, ...env } },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('registerUaiImage', () => {
  it('creates, then reports an existing image, then makes it default with GET + PATCH', async () => {
    const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile, env: { HOME: dir } });
    try {
      const ref = 'registry.local/cray/custom-uai:1.0';
      const created = await registerUaiImage(ctx, ref);
      expect(created.status).toBe('created');
      expect(gw.uasImages.find((i) => i.imagename === ref)).toMatchObject({ image_id: created.imageId, default: false });
      const post = gw.requests.filter((r) => r.method === 'POST' && r.path === '/apis/uas-mgr/v1/admin/config/images').at(-1);
      expect(post?.query).toEqual({ imagename: ref, default: 'false' });

      expect(await registerUaiImage(ctx, ref)).toEqual({ status: 'exists', imageId: created.imageId });
      const patchesBefore = gw.count('PATCH', '/apis/uas-mgr/');
      expect(await registerUaiImage(ctx, ref, { default: true })).toEqual({ status: 'updated', imageId: created.imageId });
      expect(gw.count('PATCH', '/apis/uas-mgr/')).toBe(patchesBefore + 1);
      expect(gw.uasImages.find((i) => i.imagename === ref)?.default).toBe(true);
      // Already the default: nothing to change.
      expect(await registerUaiImage(ctx, ref, { default: true })).toEqual({ status: 'exists', imageId: created.imageId });
      expect(gw.count('PATCH', '/apis/uas-mgr/')).toBe(patchesBefore + 1);
    } finally {
      await ctx.close();
    }
  });

  it('fails on a 500 naming UAS, the path and the status', async () => {
    gw.fail('POST', '/apis/uas-mgr/v1/admin/config/images', 500);
    const ctx = await createCrayContext({ apiGateway: gw.url, tokenFile, env: { HOME: dir } });
    const err = await registerUaiImage(ctx, 'x:1').catch((e: unknown) => e);
    await ctx.close();
    expect(err).toMatchObject({ code: 'UAI_CRAY_HTTP', details: { service: 'UAS', status: 500 } });
    expect((err as Error).message).toContain('UAS: POST /apis/uas-mgr/v1/admin/config/images → 500');
  });
});

describe('uai-assemble register (the CLI)', () => {
  const gateway = () => ['--api-gateway', gw.url, '--token', tokenFile];

  it('201: registered, exit 0; 409: already registered, exit 0; --default on 409 patches', async () => {
    const first = await cli(['registry.local/uai/cli:1', ...gateway()]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^registered registry\.local\/uai\/cli:1 with UAS \(image_id [0-9a-f-]{36}\)/);
    const again = await cli(['registry.local/uai/cli:1', ...gateway()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already registered');
    const json = await cli(['registry.local/uai/cli:1', '--default', '--json', ...gateway()]);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as { status: string; imageId: string };
    expect(out.status).toBe('updated');
    expect(gw.uasImages.find((i) => i.image_id === out.imageId)).toMatchObject({ imagename: 'registry.local/uai/cli:1', default: true });
  });

  it('500 → exit 1 with one line naming UAS and the status', async () => {
    gw.fail('POST', '/apis/uas-mgr/', 500);
    const r = await cli(['registry.local/uai/fail:1', ...gateway()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^uai-assemble register: error: UAS: POST \/apis\/uas-mgr\/v1\/admin\/config\/images → 500.*\[UAI_CRAY_HTTP\]\n$/);
  });

  it('UAS absent (CSM 1.6) → exit 1 saying so', async () => {
    gw.uasInstalled = false;
    const r = await cli(['registry.local/uai/x:1', ...gateway()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('removed in CSM 1.6');
  });

  it('no token anywhere → exit 1 with UAI_CRAY_AUTH and where to get one', async () => {
    const r = await cli(['registry.local/uai/x:1', '--api-gateway', gw.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UAI_CRAY_AUTH');
    expect(r.stderr).toContain('CRAY_CREDENTIALS');
  });

  it('a token the gateway refuses → exit 1 with the 401, never the token', async () => {
    const bad = join(dir, 'bad-token.json');
    writeFileSync(bad, JSON.stringify({ access_token: 'not-a-token-the-gateway-issued' }));
    const r = await cli(['registry.local/uai/x:1', '--api-gateway', gw.url], { CRAY_CREDENTIALS: bad });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('401');
    expect(r.stderr).toContain(bad);
    expect(r.stderr).not.toContain('not-a-token-the-gateway-issued');
  });

  it('uses Keycloak client credentials, and never prints the secret when Keycloak refuses it', async () => {
    const good = join(dir, 'secret');
    writeFileSync(good, 'admin-secret\n');
    const ok = await cli(['registry.local/uai/cc:1', '--api-gateway', gw.url, '--client-id', 'admin-client', '--client-secret-file', good]);
    expect(ok.code).toBe(0);
    const wrong = join(dir, 'wrong-secret');
    writeFileSync(wrong, 'hunter2-wrong');
    const r = await cli(['registry.local/uai/cc:2', '--api-gateway', gw.url, '--client-id', 'admin-client', '--client-secret-file', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Keycloak');
    expect(r.stderr).toContain('401');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('usage errors exit 2; --dry-run sends nothing', async () => {
    expect((await cli([])).code).toBe(2);
    const before = gw.requests.length;
    const r = await cli(['registry.local/uai/dry:1', '--dry-run', '--default', ...gateway()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('POST');
    expect(r.stdout).toContain('default=true');
    expect(gw.requests.length).toBe(before);
  });
});
