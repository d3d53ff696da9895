/** One line of the after-restore checklist. */
export interface CheckResult {
  /** app: running/healthy · health: a health URL · rows: row counts vs the backup · write: a rolled-back write · login: the app's password login. */
  check: 'app' | 'health' | 'rows' | 'write' | 'login';
  /** What was checked: the app, the URL, the database. */
  subject: string;
  status: 'passed' | 'failed' | 'notChecked';
  /** One sentence: what was seen, or why it was not checked. */
  detail: string;
}

export const CHECK_TITLES: Record<CheckResult['check'], string> = {
  app: 'app running',
  health: 'health URL',
  rows: 'row counts',
  write: 'writable',
  login: 'app login',
};
