/**
 * Runs once before the suite: checks that every tool the tests use is installed, so a
 * missing install step fails loudly instead of skipping tests.
 */
import { execFileSync } from 'node:child_process';

// Every external program a test runs; each comes from a package in .ci/apt-packages.txt.
const REQUIRED_TOOLS = [
  'mksquashfs', 'unsquashfs', 'sqfs2tar', 'gensquashfs',
  'getfattr', 'setfattr', 'getcap', 'setcap',
  'docker-registry', 'skopeo', 'umoci', 'openssl', 'htpasswd',
  'tar', 'gzip', 'zstd', 'python3', 'podman', '/usr/bin/time',
];

export default function setup(): void {
  const missing = REQUIRED_TOOLS.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`missing tools for the test suite: ${missing.join(', ')} (run ./dev setup)`);
  }
}
