/**
 * A fresh local registry (Debian's docker-registry, plain HTTP on 127.0.0.1, a port the OS
 * picks) for each timed push, so no run finds blobs that an earlier run uploaded: the
 * tests' `startRegistry()` (test/support/registry.ts). Its storage goes to /dev/shm when
 * that is a writable tmpfs, so the numbers measure the pushing tools and the registry's
 * own work (it hashes every byte with Go 1.19's sha256, no SHA-NI), not this VM's ext4
 * page cache; every pipeline pushes to the same kind of registry.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { startRegistry } from '../test/support/registry.ts';
import type { Variant } from './measure.ts';

export interface BenchRegistry {
  /** `127.0.0.1:PORT`, for `docker://HOST/REPO:TAG`. */
  host: string;
  /** What serves it, for the report. */
  kind: string;
  /** CPU time (user + system) the registry process has used so far, ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** utime + stime of a process from /proc/PID/stat, ms (clock ticks of 10 ms, Linux's USER_HZ). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** /dev/shm when it exists and is writable, else undefined (the OS temp dir). */
export function registryStorageBase(): string | undefined {
  try {
    if (!existsSync('/dev/shm')) return undefined;
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
}

/** Starts a plain-HTTP docker-registry for one measured run. */
export async function startBenchRegistry(): Promise<BenchRegistry> {
  const baseDir = registryStorageBase();
  const r = await startRegistry({ mode: 'plain', ...(baseDir === undefined ? {} : { baseDir }) });
  return {
    host: r.host,
    kind: `docker-registry, storage in ${baseDir ?? 'the OS temp dir'} (test/support/registry.ts)`,
    cpuMs: () => processCpuMs(r.pid),
    stop: () => r.stop(),
  };
}

/**
 * Wraps a variant so each run pushes to a registry started just for it (in the untimed
 * `before`) and stopped with its storage afterwards: no run benefits from blobs an
 * earlier run left behind, and the disk does not fill up with gigabytes of layers.
 */
export function withFreshRegistry(make: (host: () => string) => Variant): Variant {
  let registry: BenchRegistry | undefined;
  const variant = make(() => {
    if (!registry) throw new Error('no registry is running');
    return registry.host;
  });
  return {
    ...variant,
    // The registry's own CPU for the run, beside the tool's (it shares the two cores).
    async run(rep) {
      const before = registry?.cpuMs();
      const sample = await variant.run(rep);
      const after = registry?.cpuMs();
      if (before === undefined || after === undefined) return sample;
      return { ...sample, extra: { ...sample.extra, registryCpuMs: after - before } };
    },
    async before(rep) {
      registry = await startBenchRegistry();
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
