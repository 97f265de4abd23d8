/**
 * Credential lookup: auth files in podman/docker order, key forms, credential helpers
 * (a real script on PATH), and then a push with what was found to the real registry.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, RegistryError, authFilePaths, findCredentials } from '../../../src/destination/registry/index.ts';
import { startRegistry, type TestRegistry } from '../../support/registry.ts';
import { blobOf, randomBlob, sha256 } from './helpers.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'uai-creds-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeJson(path: string, value: unknown): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** A fake `docker-credential-<name>` that logs its stdin and answers for one server. */
function fakeHelper(name: string, server: string, username: string, secret: string): { bin: string; log: string } {
  const bin = join(root, `bin-${name}`);
  mkdirSync(bin, { recursive: true });
  const log = join(bin, 'stdin.log');
  const script = join(bin, `docker-credential-${name}`);
  writeFileSync(
    script,
    `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server || true
printf '%s\\n' "$server" >> '${log}'
if [ "$server" = '${server}' ]; then
  printf '{"ServerURL":"%s","Username":"${username}","Secret":"${secret}"}' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi
`,
  );
  chmodSync(script, 0o755);
  return { bin, log };
}

describe('findCredentials', () => {
  it('looks in REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, ~/.config and DOCKER_CONFIG, in that order', () => {
    const env = { HOME: '/h', REGISTRY_AUTH_FILE: '/r/auth.json', XDG_RUNTIME_DIR: '/run/u', DOCKER_CONFIG: '/d' };
    expect(authFilePaths({ env })).toEqual(['/r/auth.json', '/run/u/containers/auth.json', '/h/.config/containers/auth.json', '/d/config.json']);
    expect(authFilePaths({ env: { HOME: '/h' } })).toEqual(['/h/.config/containers/auth.json', '/h/.docker/config.json']);
    expect(authFilePaths({ env, authfile: '/only.json' })).toEqual(['/only.json']);
  });

  it('prefers the most specific auths key and accepts keys with a scheme', async () => {
    const file = writeJson(join(root, 'specific', 'auth.json'), {
      auths: {
        'https://reg.example:5000/v1/': { auth: b64('hostuser:hostpass') },
        'reg.example:5000/team': { username: 'teamuser', password: 'teampass' },
      },
    });
    const env = { HOME: join(root, 'nohome') };
    expect(await findCredentials('reg.example:5000', 'team/app', { authfile: file, env })).toEqual({ username: 'teamuser', password: 'teampass' });
    expect(await findCredentials('reg.example:5000', 'other/app', { authfile: file, env })).toEqual({ username: 'hostuser', password: 'hostpass' });
    expect(await findCredentials('elsewhere:5000', 'other/app', { authfile: file, env })).toBeUndefined();
  });

  it('lets creds win, and reads XDG_RUNTIME_DIR before docker config', async () => {
    const home = join(root, 'home-order');
    const xdg = join(root, 'xdg-order');
    writeJson(join(xdg, 'containers', 'auth.json'), { auths: { 'h:1': { auth: b64('podman:p1') } } });
    writeJson(join(home, '.docker', 'config.json'), { auths: { 'h:1': { auth: b64('docker:p2') } } });
    const env = { HOME: home, XDG_RUNTIME_DIR: xdg };
    expect(await findCredentials('h:1', undefined, { env })).toEqual({ username: 'podman', password: 'p1' });
    expect(await findCredentials('h:1', undefined, { env: { HOME: home } })).toEqual({ username: 'docker', password: 'p2' });
    expect(await findCredentials('h:1', undefined, { env, creds: { username: 'c', password: 'd' } })).toEqual({ username: 'c', password: 'd' });
  });

  it('reports a broken auth file without quoting it', async () => {
    const file = join(root, 'broken.json');
    writeFileSync(file, '{"auths": {"h:1": {"auth": "c2VjcmV0LXZhbHVl"');
    const err = await findCredentials('h:1', undefined, { authfile: file }).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_CREDENTIALS');
    expect((err as RegistryError).message).toContain(file);
    expect((err as RegistryError).message).not.toContain('c2VjcmV0');
  });

  it('runs credHelpers and credsStore helpers with the host on stdin', async () => {
    const helper = fakeHelper('unit', 'h:2', 'helperuser', 'helperpass');
    const home = join(root, 'home-helper');
    writeJson(join(home, '.docker', 'config.json'), { credHelpers: { 'h:2': 'unit' } });
    const env = { HOME: home, PATH: `${helper.bin}:/usr/bin:/bin` };
    expect(await findCredentials('h:2', 'a/b', { env })).toEqual({ username: 'helperuser', password: 'helperpass' });
    expect(readFileSync(helper.log, 'utf8')).toBe('h:2\n');

    const storeHome = join(root, 'home-store');
    writeJson(join(storeHome, '.docker', 'config.json'), { auths: { 'h:3': {} }, credsStore: 'unit' });
    expect(await findCredentials('h:3', undefined, { env: { HOME: storeHome, PATH: env.PATH } })).toBeUndefined();
    expect(readFileSync(helper.log, 'utf8')).toBe('h:2\nh:3\n');
  });

  it('fails clearly when a configured helper is missing', async () => {
    const home = join(root, 'home-missing');
    writeJson(join(home, '.docker', 'config.json'), { credsStore: 'nosuchhelper' });
    const err = await findCredentials('h:4', undefined, { env: { HOME: home, PATH: '/nonexistent' } }).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_CREDENTIALS');
    expect((err as RegistryError).message).toContain('docker-credential-nosuchhelper');
  });
});

describe('credentials from files and helpers, used against the real registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ mode: 'tls-basic' });
  });
  afterAll(async () => reg?.stop());

  async function pushWith(options: ConstructorParameters<typeof RegistryClient>[1]): Promise<string> {
    const client = new RegistryClient(reg.host, { caFile: reg.caFile!, retryDelayMs: 1, ...options });
    try {
      const bytes = randomBlob(3000);
      const pushed = await client.pushBlob('uai/creds', blobOf(bytes));
      expect(pushed.digest).toBe(sha256(bytes));
      return pushed.digest;
    } finally {
      await client.close();
    }
  }

  it('--authfile with a base64 auth entry', async () => {
    const { username, password } = reg.creds!;
    const file = writeJson(join(root, 'real', 'authfile.json'), { auths: { [reg.host]: { auth: b64(`${username}:${password}`) } } });
    await pushWith({ authfile: file, env: { HOME: join(root, 'nohome') } });
  });

  it('REGISTRY_AUTH_FILE with a scheme-prefixed key', async () => {
    const { username, password } = reg.creds!;
    const file = writeJson(join(root, 'real', 'registry-auth.json'), { auths: { [`https://${reg.host}`]: { username, password } } });
    await pushWith({ env: { HOME: join(root, 'nohome'), REGISTRY_AUTH_FILE: file } });
  });

  it('DOCKER_CONFIG with a credential helper script on PATH', async () => {
    const { username, password } = reg.creds!;
    const helper = fakeHelper('test', reg.host, username, password);
    const dockerConfig = join(root, 'real-docker');
    writeJson(join(dockerConfig, 'config.json'), { credHelpers: { [reg.host]: 'test' } });
    await pushWith({ env: { HOME: join(root, 'nohome'), DOCKER_CONFIG: dockerConfig, PATH: `${helper.bin}:${process.env['PATH'] ?? ''}` } });
    expect(readFileSync(helper.log, 'utf8').trim().split('\n')).toContain(reg.host);
  });

  it('a wrong password from an auth file is UAI_REGISTRY_UNAUTHORIZED', async () => {
    const file = writeJson(join(root, 'real', 'wrong.json'), { auths: { [reg.host]: { auth: b64('tester:nope-nope') } } });
    const client = new RegistryClient(reg.host, { caFile: reg.caFile!, authfile: file, retryDelayMs: 1 });
    const err = await client.checkAccess('uai/creds', ['push']).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('UAI_REGISTRY_UNAUTHORIZED');
    expect((err as RegistryError).message).not.toContain('nope-nope');
    await client.close();
  });
});
