/**
 * `uai-assemble build` as a user runs it (node src/cli/main.ts), against the real
 * docker-registry (plain, and TLS + Basic auth), checked with skopeo and umoci.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { tagsOf } from '../build/registry-images.ts';
import { makeTinyRootfs, type TinyRootfs } from '../build/tiny-rootfs.ts';
import { spawnTied } from '../support/process.ts';

const MAIN = resolve('src/cli/main.ts');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { cwd?: string; onStart?: (child: ChildProcess) => void } = {}): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const env = { ...process.env };
    delete env.SOURCE_DATE_EPOCH;
    const child = spawnTied(process.execPath, [MAIN, 'build', ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun({ code, signal, stdout, stderr }));
    options.onStart?.(child);
  });
}

function skopeo(...args: string[]): any {
  return JSON.parse(execFileSync('skopeo', args, { encoding: 'utf8' }));
}

let reg: TestRegistry;
let fs: TinyRootfs;
let noSsh: TinyRootfs;
let work: string;

beforeAll(async () => {
  reg = await startRegistry({ mode: 'plain' });
  fs = makeTinyRootfs({ xattrs: true });
  noSsh = makeTinyRootfs({ uaiSsh: false });
  work = mkdtempSync(join(tmpdir(), 'uai-cli-build-'));
});
afterAll(async () => {
  await reg?.stop();
  fs?.cleanup();
  noSsh?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('uai-assemble build', () => {
  it('pushes and prints REPO@sha256 on stdout; the config carries the options', async () => {
    const r = await run([
      fs.image,
      `docker://${reg.host}/cray/cli:v1`,
      '--entrypoint', '/usr/bin/uai-ssh.sh',
      '--env', 'A=1', '--env', 'B=two words',
      '--label', 'org.example.site=lab',
      '--workdir', '/root', '--user', 'root',
      '--compression', 'gzip', '--compression-level', '1',
    ]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const [line, ...rest] = r.stdout.trim().split('\n');
    expect(rest).toEqual([]);
    expect(line).toMatch(new RegExp(`^${reg.host.replace(/[.]/g, '\\.')}/cray/cli@sha256:[0-9a-f]{64}$`));
    const inspected = skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/cray/cli:v1`);
    expect(inspected.Digest).toBe(line!.split('@')[1]);
    const config = skopeo('inspect', '--tls-verify=false', '--config', `docker://${reg.host}/cray/cli:v1`);
    expect(config.config).toEqual({
      Entrypoint: ['/bin/sh', '-c', '/usr/bin/uai-ssh.sh'],
      Env: ['A=1', 'B=two words'],
      Labels: { 'org.example.site': 'lab' },
      WorkingDir: '/root',
      User: 'root',
    });
    expect(config.architecture).toBe('amd64');
  });

  it('--json prints one result object; skopeo + umoci read what was pushed', async () => {
    const r = await run([fs.image, `docker://${reg.host}/cray/cli:json`, '--json', '--entrypoint', '["/usr/bin/uai-ssh.sh"]']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      architecture: 'amd64',
      references: [`${reg.host}/cray/cli@${result.manifestDigest}`],
      layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: expect.stringMatching(/^sha256:/), size: expect.any(Number) },
      timings: { totalMs: expect.any(Number) },
    });
    const layout = join(work, 'pulled');
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/cray/cli:json`, `oci:${layout}:t`], { stdio: 'pipe' });
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, join(work, 'bundle')], { stdio: 'pipe' });
    expect(statSync(join(work, 'bundle/rootfs/usr/bin/uai-ssh.sh')).mode & 0o777).toBe(0o755);
    // xattrs survive SquashFS → layer → registry → umoci (the tests run as root, so umoci can set security.*).
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.origin', join(work, 'bundle/rootfs/etc/hostname')], { encoding: 'utf8' })).toBe('compute-node');
    expect(execFileSync('getcap', [join(work, 'bundle/rootfs/usr/bin/ping')], { encoding: 'utf8' })).toContain('cap_net_raw');
    expect(skopeo('inspect', '--config', `oci:${layout}:t`).config.Entrypoint).toEqual(['/usr/bin/uai-ssh.sh']);
  });

  it('no uai-ssh.sh: exit 1, a message that says how to fix it, nothing pushed', async () => {
    const r = await run([noSsh.image, `docker://${reg.host}/cray/broken:v1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UAI_IMAGE_NO_UAI_SSH');
    expect(r.stderr).toContain('--add FILE:/usr/bin/uai-ssh.sh');
    expect(r.stdout).toBe('');
    expect(await tagsOf(reg.url, 'cray/broken')).toEqual([]);
  });

  it('--add SRC:DEST:MODE fixes it (relative SRC from the working directory)', async () => {
    writeFileSync(join(work, 'uai-ssh.sh'), '#!/bin/bash\necho added\n', { mode: 0o600 });
    const r = await run([noSsh.image, `oci:${join(work, 'added')}:t`, '--add', 'uai-ssh.sh:/usr/bin/uai-ssh.sh:0755'], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`oci:${join(work, 'added')}:t`);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${join(work, 'added')}:t`, join(work, 'b-added')], { stdio: 'pipe' });
    expect(readFileSync(join(work, 'b-added/rootfs/usr/bin/uai-ssh.sh'), 'utf8')).toBe('#!/bin/bash\necho added\n');
    expect(statSync(join(work, 'b-added/rootfs/usr/bin/uai-ssh.sh')).mode & 0o777).toBe(0o755);
  });

  it('--add SRC:/usr/bin/uai-ssh.sh without MODE: a 0644 local file goes in root-owned 0755 (registry and layout)', async () => {
    const script = join(work, 'plain-mode.sh');
    writeFileSync(script, '#!/bin/bash\necho 0644\n');
    execFileSync('chmod', ['0644', script]);
    execFileSync('chown', ['1234:1234', script]);
    const layout = join(work, 'mode-default');
    const r = await run([noSsh.image, `docker://${reg.host}/cray/mode:v1`, `oci:${layout}:t`, '--add', `${script}:/usr/bin/uai-ssh.sh`, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7)), 'utf8'));
    const blob = join(layout, 'blobs/sha256', manifest.layers[0].digest.slice(7));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', blob], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* (\.\/)?usr\/bin\/uai-ssh\.sh$/m);
    // The registry got the very same layer.
    expect(skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/cray/mode:v1`).Layers).toEqual([manifest.layers[0].digest]);
    // An explicit MODE still wins.
    const explicit = join(work, 'mode-explicit');
    const e = await run([noSsh.image, `oci:${explicit}:t`, '--add', `${script}:/usr/bin/uai-ssh.sh:0700`, '--quiet']);
    expect(e.code).toBe(0);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${explicit}:t`, join(work, 'b-explicit')], { stdio: 'pipe' });
    expect(statSync(join(work, 'b-explicit/rootfs/usr/bin/uai-ssh.sh')).mode & 0o777).toBe(0o700);
  });

  it('the manifest digest does not depend on how SOURCE is spelled (relative, ./, absolute); --annotation adds provenance on request', async () => {
    const dir = join(fs.image, '..');
    const digests = new Set<string>();
    for (const [spelling, cwd] of [['rootfs.sqfs', dir], ['./rootfs.sqfs', dir], [fs.image, work]] as const) {
      const r = await run([spelling, `docker://${reg.host}/cray/spelling:t`, `oci:${join(work, 'spelling')}:${digests.size}`, '--json'], { cwd });
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(new Set(result.destinations.map((d: { manifestDigest: string }) => d.manifestDigest)).size).toBe(1);
      digests.add(result.manifestDigest);
    }
    expect(digests.size).toBe(1);
    const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/cray/spelling:t`);
    const config = skopeo('inspect', '--config', '--tls-verify=false', `docker://${reg.host}/cray/spelling:t`);
    expect(JSON.stringify(raw)).not.toContain('rootfs.sqfs');
    expect(JSON.stringify(config)).not.toContain('rootfs.sqfs');
    expect(config.history).toEqual([{ created: config.created, created_by: 'uai-assembler build' }]);

    const annotated = await run([fs.image, `docker://${reg.host}/cray/spelling:annotated`, '--annotation', 'org.example.built-from=compute-23.7', '--quiet']);
    expect(annotated.code).toBe(0);
    expect(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/cray/spelling:annotated`).annotations).toMatchObject({
      'org.example.built-from': 'compute-23.7',
    });
  });

  it('--dry-run checks registry access (reachable, credentials accepted) and writes nothing', async () => {
    const ok = await run([fs.image, `docker://${reg.host}/cray/dry:v1`, `oci:${join(work, 'dry-layout')}:t`, '--dry-run', '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const plan = JSON.parse(ok.stdout);
    expect(plan.destinations).toEqual([
      expect.objectContaining({ description: `${reg.host}/cray/dry:v1`, transport: 'docker', format: 'oci', check: 'access-ok' }),
      expect.objectContaining({ transport: 'oci', check: 'local' }),
    ]);
    expect(await tagsOf(reg.url, 'cray/dry')).toEqual([]);
    expect(existsSync(join(work, 'dry-layout'))).toBe(false);

    // Nothing listens on this port any more: unreachable is an error, not a plan.
    const closed = await new Promise<number>((done) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as AddressInfo).port;
        server.close(() => done(port));
      });
    });
    const unreachable = await run([fs.image, `docker://127.0.0.1:${closed}/cray/dry:v1`, '--dry-run', '--tls-verify=false']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('UAI_REGISTRY_');
    expect(unreachable.stdout).toBe('');

    const tls = await startRegistry({ mode: 'tls-basic' });
    try {
      const bad = await run([fs.image, `docker://${tls.host}/secure/dry:v1`, '--creds', 'tester:wrong-dry', '--cert-dir', tls.certDir!, '--dry-run']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('UAI_REGISTRY_UNAUTHORIZED');
      expect(bad.stderr).not.toContain('wrong-dry');
      expect(bad.stdout).toBe('');
      const good = await run([fs.image, `docker://${tls.host}/secure/dry:v1`, '--creds', `${tls.creds!.username}:${tls.creds!.password}`, '--cert-dir', tls.certDir!, '--dry-run']);
      expect(good.code).toBe(0);
      expect(good.stdout).toMatch(/^destination +.*secure\/dry:v1 \(oci manifest, tar layer\): registry reachable, pull\+push access ok$/m);
      // Nothing was tagged: skopeo finds no image there.
      expect(() => execFileSync('skopeo', ['inspect', '--raw', ...tls.skopeoArgs, `docker://${tls.host}/secure/dry:v1`], { stdio: 'pipe' })).toThrow(/manifest unknown|not found|NAME_UNKNOWN/i);
    } finally {
      await tls.stop();
    }
  });

  it('usage mistakes exit 2', async () => {
    for (const args of [
      [fs.image, `docker://${reg.host}/x:y`, '--tls-verify=maybe'],
      [fs.image, 'nowhere:x'],
      [fs.image],
      [fs.image, `docker://${reg.host}/x:y`, '--compression', 'lz4'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage:');
    }
  });

  it('pushes to a TLS registry with Basic auth (--creds, --cert-dir); bad credentials fail with UAI_REGISTRY_UNAUTHORIZED and are never printed', async () => {
    const tls = await startRegistry({ mode: 'tls-basic' });
    try {
      const creds = `${tls.creds!.username}:${tls.creds!.password}`;
      const ok = await run([fs.image, `docker://${tls.host}/secure/uai:v1`, '--creds', creds, '--cert-dir', tls.certDir!, '--format', 'docker', '--quiet']);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      const raw = skopeo('inspect', '--raw', ...tls.skopeoArgs, `docker://${tls.host}/secure/uai:v1`);
      expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      const bad = await run([fs.image, `docker://${tls.host}/secure/uai:v2`, '--creds', 'tester:wrong', '--ca-file', tls.caFile!, '--json']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('UAI_REGISTRY_UNAUTHORIZED');
      expect(bad.stderr).not.toContain('wrong');
    } finally {
      await tls.stop();
    }
  });

  it('SIGINT mid-push: exit 130, no tag, no temporary files', async () => {
    const big = makeTinyRootfs({ bigFile: 64 * 1024 * 1024 });
    const proxy: FaultProxy = await startFaultProxy(reg.url);
    try {
      const layout = join(work, 'sigint-layout');
      const archive = join(work, 'sigint.tar');
      const r = await run(
        [big.image, `docker://${proxy.host}/cray/sigint:v1`, `oci:${layout}:t`, `oci-archive:${archive}`, '--compression', 'gzip', '--compression-level', '9'],
        {
          onStart: (child) => {
            const timer = setInterval(() => {
              if (proxy.requests.some((q) => q.method === 'PATCH' || q.method === 'PUT')) {
                clearInterval(timer);
                child.kill('SIGINT');
              }
            }, 20);
            child.on('close', () => clearInterval(timer));
          },
        },
      );
      expect(r.code).toBe(130);
      expect(r.stderr).toContain('interrupted');
      expect(r.stdout).toBe('');
      expect(await tagsOf(reg.url, 'cray/sigint')).toEqual([]);
      expect(existsSync(layout)).toBe(false);
      expect(existsSync(archive)).toBe(false);
      expect(readdirSync(work).filter((n) => n.includes('uai-tmp'))).toEqual([]);
    } finally {
      await proxy.stop();
      big.cleanup();
    }
  });
});
