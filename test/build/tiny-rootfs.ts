/**
 * Tiny root filesystems for the build tests, made with the real mksquashfs: a `/bin/sh`
 * that is just a 64-byte ELF64 header (e_machine chosen by the test) reached through a
 * `bin -> usr/bin` symlink, optionally `/usr/bin/uai-ssh.sh`, and a few files with
 * modes and xattrs so that round trips through skopeo/umoci can be checked.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function elfHeader(machine: number, options: { bigEndian?: boolean; class32?: boolean } = {}): Buffer {
  const h = Buffer.alloc(64);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = options.class32 ? 1 : 2;
  h[5] = options.bigEndian ? 2 : 1;
  h[6] = 1;
  if (options.bigEndian) {
    h.writeUInt16BE(2, 16);
    h.writeUInt16BE(machine, 18);
  } else {
    h.writeUInt16LE(2, 16);
    h.writeUInt16LE(machine, 18);
  }
  return h;
}

export const UAI_SSH_SCRIPT = '#!/bin/bash\necho "uai-ssh test script"\nexec /usr/sbin/sshd -D\n';

export interface TinyRootfsOptions {
  /** Include /usr/bin/uai-ssh.sh (default true). */
  uaiSsh?: boolean;
  /** e_machine of /bin/sh (default 62, x86-64). */
  machine?: number;
  /** Make /usr/bin/sh a symlink to this name, which holds the ELF header (default: sh is the file). */
  shTarget?: string;
  /** Extra files: path → content. */
  files?: Record<string, string | Buffer>;
  /** Bytes of incompressible filler in /var/big.bin (for slow pushes). */
  bigFile?: number;
  /** A `user.origin` xattr on /etc/hostname and a file capability (cap_net_raw+ep) on /usr/bin/ping. */
  xattrs?: boolean;
  /** -mkfs-time / -all-time value (default 1700000000). */
  time?: number;
  /** More mksquashfs options (e.g. `-noI` to keep the inode table uncompressed). */
  mksquashfsArgs?: string[];
}

export interface TinyRootfs {
  dir: string;
  image: string;
  cleanup(): void;
}

export function makeTinyRootfs(options: TinyRootfsOptions = {}): TinyRootfs {
  const dir = mkdtempSync(join(tmpdir(), 'uai-build-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'etc/security/limits.d'), { recursive: true });
  mkdirSync(join(root, 'var'), { recursive: true });
  symlinkSync('usr/bin', join(root, 'bin'));
  const shell = options.shTarget ?? 'sh';
  writeFileSync(join(root, 'usr/bin', shell), elfHeader(options.machine ?? 62));
  chmodSync(join(root, 'usr/bin', shell), 0o755);
  if (shell !== 'sh') symlinkSync(shell, join(root, 'usr/bin/sh'));
  writeFileSync(join(root, 'etc/hostname'), 'compute\n');
  writeFileSync(join(root, 'etc/security/limits.d/99-slingshot-network.conf'), '* soft memlock unlimited\n');
  if (options.uaiSsh ?? true) {
    writeFileSync(join(root, 'usr/bin/uai-ssh.sh'), UAI_SSH_SCRIPT);
    chmodSync(join(root, 'usr/bin/uai-ssh.sh'), 0o755);
  }
  for (const [path, content] of Object.entries(options.files ?? {})) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  if (options.xattrs) {
    execFileSync('setfattr', ['-n', 'user.origin', '-v', 'compute-node', join(root, 'etc/hostname')]);
    writeFileSync(join(root, 'usr/bin/ping'), elfHeader(options.machine ?? 62));
    chmodSync(join(root, 'usr/bin/ping'), 0o755);
    execFileSync('setcap', ['cap_net_raw+ep', join(root, 'usr/bin/ping')]);
  }
  if (options.bigFile) {
    // Pseudo-random, incompressible, deterministic.
    const buf = Buffer.alloc(options.bigFile);
    let x = 0x12345678;
    for (let i = 0; i < buf.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf.writeInt32LE(x | 0, i - (i + 4 > buf.length ? i + 4 - buf.length : 0));
    }
    writeFileSync(join(root, 'var/big.bin'), buf);
  }
  const image = join(dir, 'rootfs.sqfs');
  const time = String(options.time ?? 1700000000);
  execFileSync('mksquashfs', [root, image, '-noappend', '-quiet', '-no-progress', '-all-root', '-mkfs-time', time, '-all-time', time, '-comp', 'gzip', ...(options.bigFile ? ['-noD'] : []), ...(options.mksquashfsArgs ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { dir, image, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
