/**
 * Whether a process with this id exists on this machine: `kill(pid, 0)` succeeds, or fails with
 * EPERM (it exists but belongs to another user). False for ESRCH and for ids that cannot be a
 * process (not a positive safe integer). Used to tell the leftovers of killed runs (temporary
 * files, gallery locks) from those of runs still going.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
