/**
 * What build() decides from the rootfs before anything is published: the platform
 * (ELF of /bin/sh, an explicit --arch, or the source's declared arch when there is no
 * shell) and, for the UAI profile, that /usr/bin/uai-ssh.sh will be in the image.
 * Also the progress wrapper that counts a layer's bytes as they stream.
 */
import type { WarningHandler } from '../errors.ts';
import { detectPlatform, parseArch, type Platform } from '../image/elf-arch.ts';
import { ImageError } from '../image/errors.ts';
import { lookupOrUndefined, type RootfsReader } from '../image/rootfs.ts';
import type { Injection } from '../layer/inject.ts';
import type { Layer } from '../layer/layer.ts';
import { UAI_SSH_PATH } from './uai-ssh-from.ts';

export interface PlatformChoice {
  /** Where the rootfs came from, for messages. */
  origin: string;
  /** `--arch`: wins over everything. */
  override?: Platform;
  /** The architecture the BOS boot set / IMS record declares. */
  declaredArch?: string;
  signal?: AbortSignal;
  onWarning?: WarningHandler;
}

function archName(value: string): string {
  try {
    return parseArch(value).architecture;
  } catch {
    return value;
  }
}

/**
 * --arch, else /bin/sh's ELF header, else (no shell) the source's declared arch.
 * When the source declares an arch and /bin/sh is another, `UAI_IMAGE_ARCH_MISMATCH`
 * (a BOS boot set or IMS record that names the wrong image would otherwise publish an
 * image UAS runs on the wrong nodes); an explicit --arch overrides it, with a warning.
 */
export async function decidePlatform(rootfs: RootfsReader, choice: PlatformChoice): Promise<Platform> {
  const { declaredArch, origin } = choice;
  if (choice.override) {
    if (declaredArch) {
      const detected = await detectPlatform(rootfs, choice.signal ? { signal: choice.signal } : {}).catch(() => undefined);
      if (detected && archName(declaredArch) !== detected.architecture) {
        choice.onWarning?.({
          code: 'UAI_IMAGE_ARCH_MISMATCH',
          message: `${origin} declares architecture ${declaredArch}, but /bin/sh is ${detected.architecture}; using ${choice.override.architecture} as --arch says`,
          details: { declared: declaredArch, detected: detected.architecture, used: choice.override.architecture },
        });
      }
    }
    return choice.override;
  }
  let platform: Platform;
  try {
    platform = await detectPlatform(rootfs, choice.signal ? { signal: choice.signal } : {});
  } catch (err) {
    // No shell to read, but the source's metadata names an architecture.
    if (!(err instanceof ImageError && err.code === 'UAI_IMAGE_NO_SHELL' && declaredArch)) throw err;
    platform = parseArch(declaredArch);
    choice.onWarning?.({
      code: 'UAI_IMAGE_ARCH_FROM_SOURCE',
      message: `${err.message.replace(/; pass --arch$/, '')}; using ${platform.architecture}, which ${origin} declares`,
      details: { declared: declaredArch },
    });
    return platform;
  }
  if (declaredArch && archName(declaredArch) !== platform.architecture) {
    throw new ImageError(
      'UAI_IMAGE_ARCH_MISMATCH',
      `${origin} declares architecture ${declaredArch} (${archName(declaredArch)}), but /bin/sh in the image is ${platform.architecture}: ` +
        `check the boot set or image record, or pass --arch to publish it as that architecture anyway`,
      { details: { declared: declaredArch, detected: platform.architecture, source: origin } },
    );
  }
  return platform;
}

function isUaiSshDest(dest: string): boolean {
  return dest.replace(/^\.?\/+/, '').replace(/\/+/g, '/') === UAI_SSH_PATH;
}

/**
 * The UAI profile's entrypoint must be runnable: an added `/usr/bin/uai-ssh.sh` without an
 * explicit mode is a root-owned 0755 regular file, whatever the local file's mode (a
 * 0644 script would leave the UAI unable to start). An explicit mode is kept.
 */
export function uaiSshDefaults(add: readonly Injection[]): Injection[] {
  return add.map((a) => (isUaiSshDest(a.dest) && a.mode === undefined ? { ...a, mode: 0o755, uid: 0, gid: 0 } : a));
}

/**
 * The UAI profile's rule: /usr/bin/uai-ssh.sh is in the image (a final symlink followed)
 * or among the files added (which one is returned); else `UAI_IMAGE_NO_UAI_SSH`, naming both fixes.
 */
export async function requireUaiSsh(
  rootfs: RootfsReader,
  options: { add: readonly Injection[]; origin: string; signal?: AbortSignal; onWarning?: WarningHandler },
): Promise<'image' | 'add'> {
  if (options.add.some((a) => isUaiSshDest(a.dest))) return 'add';
  const entry = await lookupOrUndefined(rootfs, `/${UAI_SSH_PATH}`, options.signal);
  if (!entry || entry.type !== 'file') {
    throw new ImageError(
      'UAI_IMAGE_NO_UAI_SSH',
      `${options.origin}: /${UAI_SSH_PATH} is not in the image (the UAI entrypoint that starts sshd). ` +
        `Add it with --add FILE:/${UAI_SSH_PATH}, or take it from a stock UAI image with --uai-ssh-from docker://REGISTRY/REPO:TAG ` +
        `(or use --profile plain for a non-UAI image)`,
      { details: { path: `/${UAI_SSH_PATH}`, source: options.origin } },
    );
  }
  if ((entry.mode & 0o111) === 0) {
    options.onWarning?.({
      code: 'UAI_IMAGE_UAI_SSH_NOT_EXECUTABLE',
      message: `/${UAI_SSH_PATH} in ${options.origin} has mode ${entry.mode.toString(8)}: UAS cannot run it as the entrypoint`,
    });
  }
  return 'image';
}

/** The same layer, reporting the bytes of each stream as they pass (at most once per MiB). */
export function countingLayer(inner: Layer, onBytes: (bytes: number) => void): Layer {
  return {
    mediaType: inner.mediaType,
    digest: () => inner.digest(),
    diffId: () => inner.diffId(),
    size: () => inner.size(),
    async *open(options) {
      let n = 0;
      let last = 0;
      for await (const chunk of inner.open(options)) {
        n += chunk.length;
        if (n - last >= 1 << 20) {
          last = n;
          onBytes(n);
        }
        yield chunk;
      }
      onBytes(n);
    },
  };
}
