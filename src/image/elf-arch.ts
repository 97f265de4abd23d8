/**
 * The image's architecture, from the ELF header of `/bin/sh` in the rootfs (what will
 * run the entrypoint), or from an explicit `arch` option. Names follow GOARCH, as
 * image configs require: x86_64 → amd64, aarch64 → arm64 + variant v8.
 */
import { ImageError } from './errors.ts';
import { lookupOrUndefined, readHead, type RootfsReader } from './rootfs.ts';

export interface Platform {
  architecture: string;
  variant?: string;
}

const EM: Record<number, { name: string; arch64?: Platform; arch32?: Platform; be64?: Platform }> = {
  3: { name: 'i386', arch32: { architecture: '386' } },
  8: { name: 'MIPS', arch64: { architecture: 'mips64le' }, be64: { architecture: 'mips64' }, arch32: { architecture: 'mipsle' } },
  20: { name: 'PowerPC', arch32: { architecture: 'ppc' } },
  21: { name: 'PowerPC64', arch64: { architecture: 'ppc64le' }, be64: { architecture: 'ppc64' } },
  22: { name: 'S/390', arch64: { architecture: 's390x' }, be64: { architecture: 's390x' } },
  40: { name: 'ARM', arch32: { architecture: 'arm', variant: 'v7' } },
  62: { name: 'x86-64', arch64: { architecture: 'amd64' } },
  183: { name: 'AArch64', arch64: { architecture: 'arm64', variant: 'v8' } },
  243: { name: 'RISC-V', arch64: { architecture: 'riscv64' } },
  258: { name: 'LoongArch', arch64: { architecture: 'loong64' } },
};

/** The platform an ELF header declares. `where` names the file for messages. */
export function platformFromElf(header: Uint8Array, where: string): Platform {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) {
    throw new ImageError('UAI_IMAGE_ARCH', `${where}: not an ELF file (no \\x7fELF magic at offset 0); pass --arch`, {
      details: { path: where },
    });
  }
  const cls = header[4];
  const data = header[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) {
    throw new ImageError('UAI_IMAGE_ARCH', `${where}: ELF header has class ${cls} / data ${data} at offset 4; pass --arch`, {
      details: { path: where },
    });
  }
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const machine = view.getUint16(18, data === 1);
  const known = EM[machine];
  const platform = !known ? undefined : cls === 1 ? known.arch32 : data === 2 ? (known.be64 ?? undefined) : known.arch64;
  if (!platform) {
    const what = known ? `${known.name} (${cls === 1 ? '32' : '64'}-bit, ${data === 1 ? 'little' : 'big'}-endian)` : 'an unknown machine';
    throw new ImageError('UAI_IMAGE_ARCH', `${where}: ELF e_machine ${machine} is ${what}, which has no container architecture name here; pass --arch`, {
      details: { path: where, eMachine: machine },
    });
  }
  return { ...platform };
}

const ALIASES: Record<string, Platform> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  amd64: { architecture: 'amd64' },
  aarch64: { architecture: 'arm64', variant: 'v8' },
  arm64: { architecture: 'arm64', variant: 'v8' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  '386': { architecture: '386' },
};

/** Parses an `--arch` value: `amd64`, `arm64`, `arm64/v8`, `linux/arm64/v8`, `x86_64`, `aarch64`. */
export function parseArch(value: string): Platform {
  let parts = value.trim().split('/');
  if (parts[0] === 'linux') parts = parts.slice(1);
  const [arch, variant, ...rest] = parts;
  if (!arch || rest.length > 0 || !/^[a-z0-9_.-]+$/.test(arch) || (variant !== undefined && !/^[a-z0-9]+$/.test(variant))) {
    throw new ImageError('UAI_IMAGE_INVALID_OPTION', `arch ${JSON.stringify(value)} is not ARCH or ARCH/VARIANT (e.g. amd64, arm64/v8)`, {
      details: { field: 'arch' },
    });
  }
  const alias = ALIASES[arch];
  if (alias) return variant !== undefined ? { architecture: alias.architecture, variant } : { ...alias };
  return variant !== undefined ? { architecture: arch, variant } : { architecture: arch };
}

/** The paths tried, in order, for an ELF binary that tells the architecture. */
export const ARCH_PROBES = ['/bin/sh', '/usr/bin/sh', '/bin/bash', '/usr/bin/bash', '/usr/bin/env'];

/** The rootfs's platform: `/bin/sh`'s ELF header (or the next probe that exists). */
export async function detectPlatform(rootfs: RootfsReader, options: { signal?: AbortSignal } = {}): Promise<Platform> {
  for (const path of ARCH_PROBES) {
    options.signal?.throwIfAborted();
    const entry = await lookupOrUndefined(rootfs, path, options.signal);
    if (!entry || entry.type !== 'file') continue;
    const header = await readHead(rootfs, entry, 64, options.signal);
    return platformFromElf(header, path);
  }
  throw new ImageError(
    'UAI_IMAGE_NO_SHELL',
    `cannot tell the image architecture: none of ${ARCH_PROBES.join(', ')} is a regular file in the rootfs; pass --arch`,
    { details: { probes: ARCH_PROBES } },
  );
}
