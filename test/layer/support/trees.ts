/**
 * Builds the layer tests' own SquashFS images from real trees (as root: devices, owners,
 * capabilities, xattrs), with mksquashfs. Each tree holds the cases the layer must carry
 * faithfully; every image is compared with `sqfs2tar --root-becomes .`.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, mkdirSync, symlinkSync, truncateSync, writeFileSync, utimesSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A tree with every entry type and the encoding edge cases. Returns its root. */
export function buildRichTree(dir: string): string {
  const root = join(dir, 'tree');
  const d = join(root, 'd');
  mkdirSync(join(d, 'sub'), { recursive: true });
  mkdirSync(join(root, 'etc', 'NetworkManager', 'conf.d'), { recursive: true });
  writeFileSync(join(root, 'etc', 'NetworkManager', 'conf.d', '99-slingshot-network.conf'), '[main]\nslingshot\n');
  writeFileSync(join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(root, 'etc', 'motd'), 'compute node\n');
  writeFileSync(join(d, 'a'), 'hello\n');
  chmodSync(join(d, 'a'), 0o4755);
  linkSync(join(d, 'a'), join(d, 'hl'));
  linkSync(join(d, 'a'), join(d, 'sub', 'hl2'));
  symlinkSync('a', join(d, 'sym'));
  symlinkSync(`../${'t'.repeat(180)}`, join(d, 'longsym'));
  sh('mkfifo', [join(d, 'fifo')]);
  sh('mknod', [join(d, 'cdev'), 'c', '4', '64']);
  sh('mknod', [join(d, 'bdev'), 'b', '8', '1']);
  sh('python3', ['-c', `import socket;s=socket.socket(socket.AF_UNIX);s.bind(${JSON.stringify(join(d, 'sock'))})`]);
  writeFileSync(join(d, 'ping'), 'ELF');
  sh('setcap', ['cap_net_raw+ep', join(d, 'ping')]);
  sh('setfattr', ['-n', 'user.nul', '-v', '0x610062', join(d, 'a')]);
  sh('python3', ['-c', `import os;os.setxattr(${JSON.stringify(join(d, 'a'))},'user.big',bytes(range(256))*6)`]);
  sh('setfattr', ['-n', 'user.rootattr', '-v', 'on-the-root', root]);
  writeFileSync(join(d, 'L'.repeat(150)), 'long name\n');
  // > 255 bytes of path: nested directories.
  let deep = d;
  for (let i = 0; i < 3; i++) {
    deep = join(deep, `${String(i).repeat(90)}`);
    mkdirSync(deep);
  }
  writeFileSync(join(deep, 'deep-file'), 'deep\n');
  linkSync(join(deep, 'deep-file'), join(d, 'deep-hl'));
  // Non-UTF-8 name bytes.
  sh('python3', ['-c', `open(${JSON.stringify(d)}.encode() + b'/n\\xe9\\xff.bin', 'wb').write(b'latin')`]);
  writeFileSync(join(d, 'sparse'), '');
  truncateSync(join(d, 'sparse'), 1 << 20);
  writeFileSync(join(d, 'big'), Buffer.alloc(300_000, 7));
  writeFileSync(join(d, 'empty'), '');
  writeFileSync(join(d, 'sub', 'owned'), 'owned');
  chownSync(join(d, 'sub'), 3_000_000, 3_000_001);
  chownSync(join(d, 'sub', 'owned'), 1000, 2_097_152);
  mkdirSync(join(root, 'var', 'cache', 'dnf'), { recursive: true });
  writeFileSync(join(root, 'var', 'cache', 'dnf', 'x.pyc'), 'pyc');
  writeFileSync(join(root, 'var', 'keep.pyc'), 'pyc');
  const t = new Date('2024-01-02T03:04:05Z');
  utimesSync(join(d, 'a'), t, t);
  return root;
}

/** A tree with an entry named `.wh.x`. */
export function buildWhiteoutTree(dir: string): string {
  const root = join(dir, 'wh-tree');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', '.wh.x'), 'x');
  writeFileSync(join(root, 'etc', 'y'), 'y');
  return root;
}
