import * as vscode from 'vscode';
import { isPgBackupError } from '../../core/errors';
import type { PgContainer } from '../../core/postgres/discovery';
import { exactPattern } from '../../core/postgres/sql';
import { executeCopy, planCopy, sourceTables, type CopyPlan } from '../../core/restore/copy';
import type { Services } from '../services';
import { confirmTyped, pickContainer, pickDatabase, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { notifyWithChecks } from './runChecks';

/** What to copy: the whole database, or tables picked from the source (patterns matching exactly them). */
type Scope = { tables?: string[]; schemas?: string[] };

async function chooseScope(services: Services, source: PgContainer, database: string): Promise<Scope | undefined> {
  const whole = { label: '$(database) Whole Database', detail: 'Copied into a new scratch database, then swapped in (apps stopped only for the swap); the current one is kept for undo' };
  const some = { label: '$(table) Some Tables…', detail: 'Their rows replaced in the existing target database in ONE transaction; every other table untouched' };
  const what = await vscode.window.showQuickPick([whole, some], { title: `Copy "${database}"`, placeHolder: 'What to copy?', ignoreFocusOut: true });
  if (!what) return undefined;
  if (what === whole) return {};
  const tables = await sourceTables(services.docker, source.name, database, { logger: services.logger, discovery: services.discovery() });
  type Item = vscode.QuickPickItem & { schema?: string; table?: string };
  const items: Item[] = [];
  for (const t of tables) {
    if (items.every((i) => i.schema !== t.schema || i.table !== undefined)) {
      items.push({ label: t.schema, kind: vscode.QuickPickItemKind.Separator }, { label: `$(symbol-namespace) ${t.schema}.*`, description: 'every table of this schema', schema: t.schema });
    }
    items.push({ label: `$(table) ${t.name}`, schema: t.schema, table: t.name });
  }
  const picked = await vscode.window.showQuickPick(items, { title: `Tables of "${database}" in ${source.name}`, canPickMany: true, ignoreFocusOut: true });
  if (!picked?.length) return undefined;
  return {
    tables: picked.filter((i) => i.table !== undefined).map((i) => exactPattern(i.schema!, i.table!)),
    schemas: picked.filter((i) => i.table === undefined && i.schema).map((i) => exactPattern(i.schema!)),
  };
}

/** The modal: the plan's steps; the button says what happens. */
async function confirmPlan(plan: CopyPlan): Promise<boolean> {
  const from = `"${plan.source.database}" from ${plan.source.container.name}`;
  const to = `"${plan.target.database}" in ${plan.target.container.name}`;
  const button = plan.mode === 'tables' ? 'Replace Tables' : plan.whole?.liveExists ? 'Replace Database' : 'Copy';
  const message = plan.mode === 'tables' ? `Replace ${plan.selection!.tables.join(', ')} in ${to} with the rows of ${from}?` : `Copy ${from} into ${to}?`;
  const detail = plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n');
  if ((await vscode.window.showWarningMessage(message, { modal: true, detail }, button)) !== button) return false;
  return !plan.target.container.protected || confirmTyped(plan.target.container.name, plan.target.database, 'replace it');
}

/**
 * Copy to Container…: a database (right-clicked, or picked) into another container of this engine, whole or
 * some of its tables; the plan in a modal, progress with cancel, then the checks (with Undo after a whole copy).
 */
export const copyToContainerCommand: CommandHandler = async ({ services, model }, node) => {
  const source = node?.kind === 'database' || node?.kind === 'container' ? node.container : await pickContainer(model, 'Copy a database of which container?');
  if (!source) return;
  const database = node?.kind === 'database' ? node.database.name : await pickDatabase(source, `Copy which database of ${source.name}?`);
  if (!database) return;
  const target = await pickContainer(model, `Copy "${database}" into which container?`);
  if (!target) return;
  const toDatabase = await vscode.window.showInputBox({
    title: `Copy "${database}" into ${target.name}`,
    prompt: 'Name of the database in the target container (an existing one is replaced; kept for undo)',
    value: database,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'A database name is needed'),
  });
  if (!toDatabase) return;
  try {
    const scope = await chooseScope(services, source, database);
    if (!scope) return;
    const engines = { source: services.docker, target: services.docker };
    const planWith = (noOwner: boolean) => planCopy(engines, { from: source.name, to: target.name, database, toDatabase, ...scope, noOwner, logger: services.logger, discovery: services.discovery() });
    const plan = await planWith(false).catch(async (e: unknown) => {
      // The target lacks roles the source's objects are owned by: offer the target's user owning everything.
      if (!isPgBackupError(e, 'refused') || !/which .* lacks: create/.test(e.message)) throw e;
      const own = 'Copy Without Owners';
      const detail = `${e.message}\n\n${own}: pg_restore --no-owner --no-privileges; the target's user owns everything and the grants are left out.`;
      if ((await vscode.window.showWarningMessage('The target lacks roles the database refers to.', { modal: true, detail }, own)) !== own) return undefined;
      return planWith(true);
    });
    if (!plan) return;
    if (!(await confirmPlan(plan))) return;
    const r = await runWithProgress(`Copying ${database} into ${target.name}`, (signal, onProgress) =>
      executeCopy(engines, plan, { signal, onProgress, logger: services.logger, discovery: services.discovery(signal) }),
    );
    await model.refresh();
    for (const w of r.warnings) void vscode.window.showWarningMessage(w);
    const done =
      plan.mode === 'tables'
        ? `Replaced ${plan.selection!.tables.join(', ')} in "${plan.target.database}" in ${plan.target.container.name}; every other table is untouched.`
        : `Copied "${database}" into "${plan.target.database}" in ${plan.target.container.name}.${r.keptPrevious ? ` The previous one is kept as "${r.keptPrevious}".` : ''}`;
    const undoTarget = { kind: 'undoTarget', container: plan.target.container.name, database: plan.target.database };
    const undo = r.keptPrevious ? { label: 'Undo', run: () => vscode.commands.executeCommand('pgDockerBackup.undoRestore', undoTarget) } : undefined;
    await notifyWithChecks(services, done, { container: plan.target.container.name, database: plan.target.database, manifest: r.sourceRows }, undo);
  } catch (e) {
    await model.refresh();
    await showError(services, e, target.name);
  }
};
