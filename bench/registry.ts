/**
 * A fresh local registry (plain HTTP on 127.0.0.1, a port the OS picks) for each timed
 * push, so no run finds blobs that an earlier run uploaded. Uses `startRegistry()` from
 * test/support/registry.ts when that helper exists, else runs /usr/bin/docker-registry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Variant } from './measure.ts';

export interface BenchRegistry {
  /** `127.0.0.1:PORT`, for `docker://HOST/REPO:TAG`. */
  host: string;
  /** What serves it, for the report. */
  kind: string;
  stop(): Promise<void>;
}

const SUPPORT = resolve(import.meta.dirname, '..', 'test', 'support', 'registry.ts');

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitReady(host: string, child: ChildProcess, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    signal?.throwIfAborted();
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode} before listening on ${host}`);
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${host} within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startDockerRegistry(workDir: string, signal?: AbortSignal): Promise<BenchRegistry> {
  const port = await freePort();
  const dir = join(workDir, `registry-${port}-${Date.now()}`);
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  try {
    await waitReady(host, child, signal);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    host,
    kind: 'docker-registry (bench/registry.ts)',
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface SupportRegistry {
  host?: string;
  url?: string;
  port?: number;
  stop?: () => Promise<void>;
  close?: () => Promise<void>;
}

/** Starts a registry: the shared test helper when present, else docker-registry. */
export async function startBenchRegistry(workDir: string, options: { signal?: AbortSignal } = {}): Promise<BenchRegistry> {
  if (existsSync(SUPPORT)) {
    const mod = (await import(pathToFileURL(SUPPORT).href)) as { startRegistry?: (o?: object) => Promise<SupportRegistry> };
    if (typeof mod.startRegistry === 'function') {
      const r = await mod.startRegistry({ mode: 'plain' });
      const host = r.host ?? (r.url ? new URL(r.url).host : r.port ? `127.0.0.1:${r.port}` : undefined);
      const stop = r.stop ?? r.close;
      if (host && stop) return { host, kind: 'startRegistry() from test/support/registry.ts', stop: () => stop.call(r) };
    }
  }
  return startDockerRegistry(workDir, options.signal);
}

/**
 * Wraps a variant so each run pushes to a registry started just for it (in the untimed
 * `before`) and stopped with its storage afterwards: no run benefits from blobs an
 * earlier run left behind, and the disk does not fill up with gigabytes of layers.
 */
export function withFreshRegistry(workDir: string, make: (host: () => string) => Variant): Variant {
  let registry: BenchRegistry | undefined;
  const variant = make(() => {
    if (!registry) throw new Error('no registry is running');
    return registry.host;
  });
  return {
    ...variant,
    async before(rep) {
      registry = await startBenchRegistry(workDir);
      await variant.before?.(rep);
    },
    async after(rep) {
      try {
        await variant.after?.(rep);
      } finally {
        await registry?.stop();
        registry = undefined;
      }
    },
  };
}
