// A small tmpfs of its own for tests that need a full disk or a read-only file system. Mounting needs
// root (CAP_SYS_ADMIN); `canMount()` says whether this run can, and the tests skip with a message if not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let probed: boolean | undefined;

/** True when this process can mount a tmpfs (root with the capability); probed once with a real mount. */
export function canMount(): boolean {
  if (probed !== undefined) return probed;
  if (process.getuid?.() !== 0) return (probed = false);
  try {
    const mounted = mountTmpfs(64 * 1024);
    mounted.unmount();
    probed = true;
  } catch {
    probed = false;
  }
  return probed;
}

export interface MountedTmpfs {
  path: string;
  /** Remounts read-only (or back to read-write), keeping the files. */
  remount(readOnly: boolean): void;
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` (rounded up to pages) on a fresh temp folder; `readOnly` mounts it ro. */
export function mountTmpfs(bytes: number, { readOnly = false } = {}): MountedTmpfs {
  const path = mkdtempSync(join(tmpdir(), 'canary-judge-tmpfs-'));
  const options = `size=${bytes}${readOnly ? ',ro' : ''}`;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    throw error;
  }
  return {
    path,
    remount(ro: boolean) {
      execFileSync('mount', ['-o', `remount,${ro ? 'ro' : 'rw'}`, path], { stdio: 'pipe' });
    },
    unmount() {
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      rmSync(path, { recursive: true, force: true });
    },
  };
}
