/**
 * What the kernel says about a process: CPU time and resident memory from /proc, so the benchmarks can report the
 * cost of a server per request as well as its rate (a rate drops when a shared machine is busy; CPU per request barely does).
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every Linux this runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) is in parentheses and may hold spaces; the numbered fields follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 after the name and state.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
