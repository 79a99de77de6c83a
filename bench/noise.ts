// How busy the machine was with other work while a phase ran. On a shared machine a benchmark's absolute
// figures mean little without this: it reads the whole machine's busy CPU time (/proc/stat) and this
// process's own, children included (/proc/self/stat), and reports the difference as a share of all cores.
// Off Linux it reports only the load average.

import { readFileSync } from 'node:fs';
import os from 'node:os';

interface CpuSample {
  readonly atMs: number;
  /** Busy jiffies of the whole machine, all cores. */
  readonly machineBusyTicks: number | null;
  /** Jiffies used by this process and its waited-for children. */
  readonly ownTicks: number | null;
}

export interface NoiseReading {
  /** Share of all cores used by other processes during the phase, 0-100; null where unknown. */
  readonly otherCpuPercent: number | null;
  /** One-minute load average at the end of the phase. */
  readonly loadAverage: number;
}

/** Linux reports CPU times in USER_HZ ticks, 100 per second on every mainstream kernel. */
const ticksPerSecond = 100;

function machineBusyTicks(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return total - (fields[3] ?? 0) - (fields[4] ?? 0);
  } catch {
    return null;
  }
}

function ownTicks(): number | null {
  try {
    const text = readFileSync('/proc/self/stat', 'utf8');
    // The command name may hold spaces; fields after its closing parenthesis are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of the whole line: 12-15 after the name.
    return [11, 12, 13, 14].reduce((sum, at) => sum + Number(fields[at] ?? 0), 0);
  } catch {
    return null;
  }
}

function sample(): CpuSample {
  return { atMs: performance.now(), machineBusyTicks: machineBusyTicks(), ownTicks: ownTicks() };
}

export class NoiseMonitor {
  #start: CpuSample = sample();

  restart(): void {
    this.#start = sample();
  }

  read(): NoiseReading {
    const end = sample();
    const loadAverage = os.loadavg()[0] ?? 0;
    const start = this.#start;
    if (
      start.machineBusyTicks === null ||
      end.machineBusyTicks === null ||
      start.ownTicks === null ||
      end.ownTicks === null
    ) {
      return { otherCpuPercent: null, loadAverage };
    }
    const availableTicks = ((end.atMs - start.atMs) / 1000) * ticksPerSecond * os.cpus().length;
    if (availableTicks <= 0) return { otherCpuPercent: null, loadAverage };
    const otherTicks = end.machineBusyTicks - start.machineBusyTicks - (end.ownTicks - start.ownTicks);
    const percent = (100 * Math.max(0, otherTicks)) / availableTicks;
    return { otherCpuPercent: Math.min(100, Math.round(percent)), loadAverage };
  }
}

export function describeNoise(reading: NoiseReading): string {
  const other = reading.otherCpuPercent === null ? 'unknown' : `${reading.otherCpuPercent}%`;
  return `other processes used ${other} of the CPUs, load ${reading.loadAverage.toFixed(1)}`;
}
