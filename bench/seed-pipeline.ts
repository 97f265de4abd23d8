/**
 * The seed procedure admins use today, without a loop mount: `unsquashfs -d DIR` (as root)
 * stands in for `mount -o loop`, then GNU tar, `podman import` and `podman push`. Each
 * step is timed; the sample's wall time is their sum and its peak RSS their maximum.
 * Podman is installed with apt-get when missing (root only), and runs with its own
 * storage under the scratch dir (scenario-build.ts) so it never touches the machine's
 * containers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFailed, runMeasured, type Sample, type Variant } from './measure.ts';
import { toolVersion } from './uai-cli.ts';

export interface Podman {
  /** `podman version 4.3.1`. */
  version: string;
  /** The storage driver that works here: overlay, else vfs. */
  driver: string;
  /** Global flags for every podman call. */
  flags: string[];
  /** What we learned setting it up, for the report. */
  notes: string[];
}

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds (or installs, when `install` and root) podman, and a storage driver that works in
 * this sandbox: overlay first, vfs as the fallback. Returns a reason string when it cannot.
 */
export function preparePodman(workDir: string, options: { install: boolean; log?: (l: string) => void }): Podman | string {
  const notes: string[] = [];
  if (!which('podman')) {
    if (!options.install) return 'podman is not installed (smoke mode does not install it)';
    if (process.getuid?.() !== 0) return 'podman is not installed and installing it needs root';
    options.log?.('installing podman with apt-get');
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'podman'], { stdio: 'ignore', env });
      notes.push('podman was installed by the harness (`apt-get install --no-install-recommends podman`)');
    } catch (err) {
      return `apt-get install podman failed: ${String(err)}`;
    }
  }
  const version = toolVersion('podman');
  const base = join(workDir, 'podman');
  const probe = join(base, 'probe');
  mkdirSync(join(probe, 'rootfs', 'etc'), { recursive: true });
  writeFileSync(join(probe, 'rootfs', 'etc', 'probe'), 'probe\n');
  execFileSync('tar', ['-cf', join(probe, 'probe.tar'), '-C', join(probe, 'rootfs'), '.']);
  for (const driver of ['overlay', 'vfs']) {
    const flags = ['--root', join(base, `root-${driver}`), '--runroot', join(base, `run-${driver}`), '--storage-driver', driver];
    try {
      execFileSync('podman', [...flags, 'import', join(probe, 'probe.tar'), 'localhost/uai-bench-probe:1'], { stdio: 'ignore', timeout: 120_000 });
      execFileSync('podman', [...flags, 'rmi', 'localhost/uai-bench-probe:1'], { stdio: 'ignore', timeout: 120_000 });
      notes.push(`podman runs here as root with \`--storage-driver ${driver}\` and its own --root/--runroot`);
      rmSync(probe, { recursive: true, force: true });
      return { version, driver, flags, notes };
    } catch {
      notes.push(`podman import failed with --storage-driver ${driver}`);
    }
  }
  rmSync(probe, { recursive: true, force: true });
  return `podman does not work here: ${notes.join('; ')}`;
}

async function step(phases: Record<string, number>, peak: { kib: number; cpuMs: number }, name: string, cmd: string, args: string[], stdout?: string): Promise<void> {
  const r = await runMeasured(cmd, args, { stdout });
  if (r.exitCode !== 0) throw new RunFailed(`seed pipeline step ${name} (${cmd})`, r);
  phases[name] = r.wallMs;
  peak.kib = Math.max(peak.kib, r.peakRssKiB);
  peak.cpuMs += r.cpuMs;
}

/** The seed procedure on one image, pushing to a registry that `host()` names at run time. */
export function seedPipelineVariant(id: string, image: string, workDir: string, podman: Podman, host: () => string): Variant {
  const dir = join(workDir, 'seed');
  const root = join(dir, 'rootfs');
  const tarball = join(dir, 'rootfs.tar');
  const ref = 'localhost/uai-bench-seed:latest';
  return {
    id,
    label: 'unsquashfs -d + tar --xattrs -cf + podman import + podman push',
    async before() {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    },
    async run(rep): Promise<Sample> {
      const phases: Record<string, number> = {};
      const peak = { kib: 0, cpuMs: 0 };
      await step(phases, peak, 'extract (unsquashfs, stands in for the loop mount)', 'unsquashfs', ['-q', '-n', '-d', root, image]);
      await step(phases, peak, 'tar --xattrs -cf', 'tar', ['--xattrs', "--xattrs-include=*", '--exclude=99-slingshot-network.conf', '-cf', tarball, '-C', root, '.']);
      await step(phases, peak, 'podman import', 'podman', [...podman.flags, 'import', '--change', 'ENTRYPOINT /usr/bin/uai-ssh.sh', tarball, ref]);
      await step(phases, peak, 'podman push', 'podman', [...podman.flags, 'push', '--tls-verify=false', ref, `docker://${host()}/bench/seed:${rep}`]);
      const wallMs = Object.values(phases).reduce((a, b) => a + b, 0);
      return { wallMs, peakRssKiB: peak.kib, cpuMs: peak.cpuMs, phases };
    },
    async after() {
      rmSync(dir, { recursive: true, force: true });
      if (existsSync(join(workDir, 'podman'))) {
        await runMeasured('podman', [...podman.flags, 'rmi', '--force', ref]);
      }
    },
  };
}
