/**
 * Version pitfalls of a restore, found before anything changes: a dump from a newer pg_dump (pg_dump 17
 * sets transaction_timeout, which older servers do not know; older pg_restore cannot read newer archives),
 * `\restrict` lines that the target's psql does not know, extensions the dump needs that the target's
 * image lacks. Pure: facts in, refusals and warnings out, each one sentence with the way out.
 */

export interface Version {
  major: number;
  minor: number;
}

/** `17.6`, `17.6 (Debian 17.6-1.pgdg120+1)`, `15.14` → { major, minor }; 9.6-style versions keep their minor. */
export function parseVersion(text: string | undefined): Version | undefined {
  const m = /^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text ?? '');
  if (!m) return undefined;
  const major = Number(m[1]);
  if (major < 10) return { major: Number(`${m[1]}.${m[2] ?? 0}`), minor: Number(m[3] ?? 0) };
  return { major, minor: Number(m[2] ?? 0) };
}

/**
 * The first minor of each major whose pg_dump writes `\restrict` (and whose psql knows it): the August 2025
 * releases (CVE-2025-8714). From 18 on every release has it; majors before 13 never got it.
 */
export const RESTRICT_SINCE: Readonly<Record<number, number>> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

export function hasRestrict(v: Version): boolean {
  if (v.major >= 18) return true;
  const since = RESTRICT_SINCE[v.major];
  return since !== undefined && v.minor >= since;
}

/** Extensions every server has (nothing to check). */
const BUILT_IN_EXTENSIONS = new Set(['plpgsql']);

export interface PitfallFacts {
  fileName: string;
  format: 'sql' | 'custom' | 'directory';
  /** pg_dump's version as the dump or its manifest says. */
  pgDumpVersion?: string;
  /** The target server's version (its image's psql and pg_restore are the same). */
  targetVersion: string;
  targetContainer: string;
  targetImage?: string;
  /** A plain dump's head shows `\restrict` (seen while its first bytes were read). */
  restrictSeen?: boolean;
  /** The extensions the dump creates; undefined when they could not be read (see `extensionsUnknown`). */
  neededExtensions?: readonly string[];
  /** Why the needed extensions are not known. */
  extensionsUnknown?: string;
  /** `pg_available_extensions` of the target; undefined when not asked. */
  availableExtensions?: readonly string[];
}

export interface Pitfalls {
  refusals: string[];
  warnings: string[];
}

export function versionPitfalls(f: PitfallFacts): Pitfalls {
  const refusals: string[] = [];
  const warnings: string[] = [];
  const dump = parseVersion(f.pgDumpVersion);
  const target = parseVersion(f.targetVersion);
  const where = `${f.targetContainer} (PostgreSQL ${f.targetVersion.split(' ')[0]})`;
  if (dump && target && dump.major > target.major) {
    const why =
      f.format === 'sql'
        ? dump.major >= 17 && target.major < 17
          ? `its SQL sets transaction_timeout (pg_dump 17 and later write it), which PostgreSQL ${target.major} does not know, so the restore would stop at that line`
          : `its SQL uses features of PostgreSQL ${dump.major} that PostgreSQL ${target.major} may not have`
        : `pg_restore ${target.major} in the container cannot read an archive written by pg_dump ${dump.major}`;
    refusals.push(
      `${f.fileName} was made by pg_dump ${f.pgDumpVersion}, newer than PostgreSQL ${target.major} in ${f.targetContainer}: a dump from a newer pg_dump cannot be restored into an older server (${why}). ` +
        `Restore it into a PostgreSQL ${dump.major} (or newer) container instead.`,
    );
  } else if (f.format === 'sql' && target && !hasRestrict(target) && (f.restrictSeen || (dump && hasRestrict(dump)))) {
    const since = target.major >= 13 && target.major < 18 ? `${target.major}.${RESTRICT_SINCE[target.major]}` : '18';
    refusals.push(
      `${f.fileName} was made by pg_dump ${f.pgDumpVersion ?? '(a recent release)'}, which writes \\restrict lines that psql ${f.targetVersion.split(' ')[0]} in ${f.targetContainer} does not know, so the restore would stop at its first line. ` +
        `Update ${f.targetContainer}'s image to PostgreSQL ${since} or later (a minor update keeps the data), or back it up again in custom format (which has no \\restrict lines).`,
    );
  }
  if (f.neededExtensions && f.availableExtensions) {
    const available = new Set(f.availableExtensions);
    const missing = [...new Set(f.neededExtensions)].filter((e) => !BUILT_IN_EXTENSIONS.has(e) && !available.has(e)).sort();
    if (missing.length) {
      const them = missing.length > 1 ? 'them' : 'it';
      refusals.push(
        `${f.fileName} needs the extension${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ${f.targetContainer}${f.targetImage ? ` (image ${f.targetImage})` : ''} does not have: ` +
          `restore it into a container whose image has ${them}${missing.includes('postgis') ? ' (e.g. postgis/postgis)' : ''}, or install ${them} in this one.`,
      );
    }
  } else if (f.extensionsUnknown) {
    warnings.push(`The extensions ${f.fileName} needs were not checked (${f.extensionsUnknown}); a missing one stops the restore before the swap, with nothing changed.`);
  }
  return { refusals, warnings };
}
