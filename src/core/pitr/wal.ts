/**
 * WAL positions and file names, and what Postgres' own tools print about them (pure: unit-tested).
 * A WAL segment file is named TTTTTTTT + the high and low parts of the segment number, in hex.
 */

/** `0/2000028` → 0x2000028. */
export function parseLsn(text: string): bigint {
  const m = /^\s*([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})\s*$/.exec(text);
  if (!m) throw new Error(`not a WAL position: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export const WAL_SEGMENT_NAME = /^[0-9A-F]{24}$/;

const hex8 = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');

/** The segment file holding `lsn` on `timeline` (as pg_walfile_name, without its end-of-segment rule). */
export function walFileName(timeline: number, lsn: bigint, segmentBytes: number): string {
  const seg = lsn / BigInt(segmentBytes);
  const perId = 0x100000000n / BigInt(segmentBytes);
  return `${hex8(timeline)}${hex8(seg / perId)}${hex8(seg % perId)}`;
}

/** The segment number of a segment file name. */
export function segmentNumber(name: string, segmentBytes: number): bigint {
  const perId = 0x100000000n / BigInt(segmentBytes);
  return BigInt(`0x${name.slice(8, 16)}`) * perId + BigInt(`0x${name.slice(16, 24)}`);
}

/** Every segment file from the one holding `start` to the one holding `end`, inclusive. */
export function walFilesBetween(timeline: number, start: bigint, end: bigint, segmentBytes: number): string[] {
  const out: string[] = [];
  const seg = BigInt(segmentBytes);
  for (let s = start / seg; s <= end / seg; s++) out.push(walFileName(timeline, s * seg, segmentBytes));
  return out;
}

/** The timeline of a segment file name. */
export function timelineOf(name: string): number {
  return Number.parseInt(name.slice(0, 8), 16);
}

/**
 * Segments missing between the first and the last of `names` on one timeline (the archive must hold an
 * unbroken run for recovery to pass through it).
 */
export function missingSegments(names: readonly string[], timeline: number, segmentBytes: number, from?: string): string[] {
  const nums = names.filter((n) => WAL_SEGMENT_NAME.test(n) && timelineOf(n) === timeline).map((n) => segmentNumber(n, segmentBytes));
  if (!nums.length) return [];
  const have = new Set(nums.map(String));
  const first = from ? segmentNumber(from, segmentBytes) : nums.reduce((a, b) => (b < a ? b : a));
  const last = nums.reduce((a, b) => (b > a ? b : a));
  const missing: string[] = [];
  const seg = BigInt(segmentBytes);
  for (let s = first; s <= last && missing.length < 100; s++) if (!have.has(String(s))) missing.push(walFileName(timeline, s * seg, segmentBytes));
  return missing;
}

/** `pg_basebackup -v` stderr: the backup's WAL start (with timeline) and end. */
export function parseBaseBackupLog(stderr: string): { startLsn: string; timeline: number; endLsn: string } | undefined {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(stderr);
  const end = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i.exec(stderr);
  if (!start || !end) return undefined;
  return { startLsn: start[1], timeline: Number(start[2]), endLsn: end[1] };
}

/** A record line of pg_waldump: `rmgr: Transaction … lsn: 0/04000028, prev …, desc: COMMIT 2026-11-25 21:30:37.568180 UTC`. */
export interface WalRecord {
  lsn: string;
  desc: string;
}

export function parseWaldumpLine(line: string): WalRecord | undefined {
  const m = /\blsn: ([0-9A-F]+\/[0-9A-F]+), prev [0-9A-F]+\/[0-9A-F]+, desc: (.*)$/i.exec(line);
  return m ? { lsn: m[1], desc: m[2].trim() } : undefined;
}

/** The time of a COMMIT/ABORT record printed by pg_waldump run with TZ=UTC. */
export function commitTime(desc: string): Date | undefined {
  const m = /^(?:COMMIT|ABORT)(?:_PREPARED)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC\b/.exec(desc);
  if (!m) return undefined;
  const [date, time] = m[1].split(' ');
  const [hms, frac = ''] = time.split('.');
  const d = new Date(`${date}T${hms}.${(frac + '000').slice(0, 3)}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Named restore points (`RESTORE_POINT name`) in pg_waldump output, in WAL order. */
export function restorePoints(output: string): { name: string; lsn: string }[] {
  const out: { name: string; lsn: string }[] = [];
  for (const line of output.split('\n')) {
    const r = parseWaldumpLine(line);
    const m = r && /^RESTORE_POINT (.*)$/.exec(r.desc);
    if (r && m) out.push({ name: m[1], lsn: r.lsn });
  }
  return out;
}
