import { PgBackupError, errorMessage } from '../errors';

/** What a decoder's errors call the data it reads ("The backup", "chinook_2024….sql.zst"). */
export interface DecodeContext {
  /** Names the input in messages; default "The backup". */
  subject?: string;
}

export function subjectOf(context: DecodeContext | undefined): string {
  return context?.subject ?? 'The backup';
}

/** The one error a damaged or cut-off encoded stream gives: `<subject> is damaged: its <codec> data <what>`. */
export function damagedError(context: DecodeContext | undefined, codec: string, what: string, cause?: unknown): PgBackupError {
  return new PgBackupError('failed', `${subjectOf(context)} is damaged: its ${codec} data ${what}.`, {
    cause,
    detail: cause === undefined ? undefined : errorMessage(cause),
  });
}
