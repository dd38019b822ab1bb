/**
 * Resident memory of a process and everything it started, from /proc (Linux): the figure `npm
 * start` costs a developer's machine. Each process is named by its command line, shortened.
 */
import { readFileSync, readdirSync } from "node:fs";

export interface ProcessMemory {
  pid: number;
  command: string;
  rssMb: number;
}

function children(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the 4th field after the parenthesised command name.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  return byParent;
}

function memoryOf(pid: number): ProcessMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const command = args
      .map((a) => a.replace(/^.*node_modules\//, "").replace(/^\/.*\//, ""))
      .join(" ")
      .slice(0, 80);
    return { pid, command, rssMb: Math.round((rssKb / 1024) * 10) / 10 };
  } catch {
    return null;
  }
}

/** The process and its descendants, largest first, and their total. */
export function processTreeMemory(rootPid: number): { totalMb: number; processes: ProcessMemory[] } {
  const byParent = children();
  const pids: number[] = [];
  const visit = (pid: number) => {
    pids.push(pid);
    for (const child of byParent.get(pid) ?? []) visit(child);
  };
  visit(rootPid);
  const processes = pids
    .map(memoryOf)
    .filter((p): p is ProcessMemory => p !== null)
    .sort((a, b) => b.rssMb - a.rssMb);
  const totalMb = Math.round(processes.reduce((a, p) => a + p.rssMb, 0) * 10) / 10;
  return { totalMb, processes };
}
