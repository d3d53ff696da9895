import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PgBackupError } from '../core/errors';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<T extends Options> = {
  [K in keyof T]?: T[K] extends { type: 'boolean' } ? boolean : T[K] extends { multiple: true } ? string[] : string;
} & { json?: boolean; help?: boolean };

/** parseArgs with strict checking, turning its errors into usage errors (exit 2). */
export function parse<T extends Options>(
  args: string[],
  options: T,
  positionals: { min: number; max: number; usage: string },
): { values: Values<T>; positionals: string[] } {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new PgBackupError('usage', `${(e as Error).message.replace(/\. To specify.*$/s, '')}\nusage: ${positionals.usage}`);
  }
  if (!parsed.values.help && (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max)) {
    throw new PgBackupError('usage', `usage: ${positionals.usage}`);
  }
  return parsed as { values: Values<T>; positionals: string[] };
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new PgBackupError('usage', `${name} must be one of ${allowed.join(', ')} (got ${value})`);
  return value as T;
}

export function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new PgBackupError('usage', `${name} must be a whole number (got ${value})`);
  return Number(value);
}
