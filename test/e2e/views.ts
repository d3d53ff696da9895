/**
 * Tree views of the sidebar, found by their title and driven by paths of row labels (from the top
 * level down): rows of any view, expanding, right-click menus, modal dialogs and input boxes. Every
 * gesture is retried until its outcome is seen, since trees re-render while a test runs.
 */
import type { Locator, Page } from 'playwright-core';
import { waitUntil } from './harness';

export function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A view (pane) of the sidebar by its title. */
export function viewPane(page: Page, title: string): Locator {
  return page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header .title', { hasText: new RegExp(`^\\s*${esc(title)}\\s*$`, 'i') }) });
}

export interface Row {
  index: number;
  level: number;
  label: string;
  /** labels from the top level down to this row */
  path: string[];
  /** label and description, whitespace collapsed */
  text: string;
  expanded?: boolean;
  focused: boolean;
}

export const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
export const show = (p: string[]) => p.join(' › ');

/** The rendered rows of a view, in order, each with its path of labels. */
export async function rows(view: Locator): Promise<Row[]> {
  return view.evaluate((el) => {
    const found = [...el.querySelectorAll('.monaco-list-row')].map((r) => ({
      index: Number(r.getAttribute('data-index')),
      level: Number(r.getAttribute('aria-level')),
      label: (r.querySelector('.label-name')?.textContent ?? '').trim(),
      text: ((r as unknown as { innerText?: string }).innerText ?? '').replace(/\s+/g, ' ').trim(),
      expanded: r.hasAttribute('aria-expanded') ? r.getAttribute('aria-expanded') === 'true' : undefined,
      focused: r.classList.contains('focused'),
      path: [] as string[],
    })).sort((a, b) => a.index - b.index);
    const stack: string[] = [];
    for (const r of found) {
      stack.length = Math.max(0, r.level - 1);
      stack.push(r.label);
      r.path = [...stack];
    }
    return found;
  });
}

function rowLocator(view: Locator, r: Row): Locator {
  return view.locator(`.monaco-list-row[data-index="${r.index}"][aria-level="${r.level}"]`).filter({ hasText: r.label });
}

/** The row at `rowPath`, or undefined; a collapsed ancestor on the way is expanded, so the next try may find it. */
export async function findRow(view: Locator, rowPath: string[]): Promise<Row | undefined> {
  const all = await rows(view);
  const found = all.find((r) => samePath(r.path, rowPath));
  if (!found) {
    for (let n = rowPath.length - 1; n > 0; n--) {
      const ancestor = all.find((r) => samePath(r.path, rowPath.slice(0, n)));
      if (!ancestor) continue;
      if (ancestor.expanded === false) await rowLocator(view, ancestor).locator('.monaco-tl-twistie').click({ timeout: 1000 }).catch(() => undefined);
      break;
    }
  }
  return found;
}

/** Waits until the row at `rowPath` is there (expanding its ancestors) and its text matches. */
export async function waitRow(view: Locator, rowPath: string[], text: RegExp = /./, timeoutMs = 30_000): Promise<Row> {
  return waitUntil(`row ${show(rowPath)} matching ${text}`, async () => {
    const r = await findRow(view, rowPath);
    return r && text.test(r.text) ? r : false;
  }, timeoutMs, 200);
}

/** Expands the row at `rowPath` (its ancestors first); waits until it is. */
export async function expand(view: Locator, rowPath: string[], timeoutMs = 20_000): Promise<void> {
  await waitUntil(`row ${show(rowPath)} to be expanded`, async () => {
    const r = await findRow(view, rowPath);
    if (!r || r.expanded === undefined) return false;
    if (r.expanded) return true;
    await rowLocator(view, r).locator('.monaco-tl-twistie').click({ timeout: 1000 }).catch(() => undefined);
    return false;
  }, timeoutMs, 250);
}

/** Waits until no row is at `rowPath` any more. */
export async function waitNoRow(view: Locator, rowPath: string[], timeoutMs = 30_000): Promise<void> {
  await waitUntil(`row ${show(rowPath)} to go`, async () => !(await rows(view)).some((r) => samePath(r.path, rowPath)), timeoutMs, 200);
}

/** Expands or collapses a view pane by its title. */
export async function setPane(page: Page, title: string, expanded: boolean): Promise<void> {
  const header = page.locator('.part.sidebar .pane-header').filter({ has: page.locator('.title', { hasText: new RegExp(`^\\s*${esc(title)}\\s*$`, 'i') }) });
  await waitUntil(`the ${title} view to be ${expanded ? 'expanded' : 'collapsed'}`, async () => {
    if ((await header.getAttribute('aria-expanded', { timeout: 2000 })) === String(expanded)) return true;
    await header.locator('.title').click({ timeout: 2000 });
    return false;
  }, 10_000, 250);
}

/** Right-clicks the row at `rowPath` of `view` and picks `item` from its context menu, once the menu is the row's. */
export async function contextMenu(page: Page, view: Locator, rowPath: string[], item: string, timeoutMs = 20_000): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const menuItem = menu.locator('.action-menu-item').filter({ has: page.locator('.action-label', { hasText: new RegExp(`^\\s*${esc(item)}\\s*$`) }) });
  await waitUntil(`context menu of ${show(rowPath)} with "${item}"`, async () => {
    if (await menu.isVisible()) await page.keyboard.press('Escape');
    const r = await findRow(view, rowPath);
    if (!r) return false;
    await rowLocator(view, r).click({ button: 'right', timeout: 2000 });
    await menuItem.waitFor({ state: 'visible', timeout: 3000 });
    const focused = (await rows(view)).filter((x) => x.focused);
    if (focused.length !== 1 || !samePath(focused[0].path, rowPath)) return false;
    // a menu item takes clicks only from 100 ms after the menu appeared: click until the menu closes
    await waitUntil(`"${item}" to take the click`, async () => {
      if (!(await menu.isVisible())) return true;
      await menuItem.click({ timeout: 1000 });
      return false;
    }, 5000, 150);
    return true;
  }, timeoutMs, 300);
}

/** The open modal dialog's text; `answer` clicks one of its buttons. */
export async function modal(page: Page, timeoutMs = 20_000): Promise<{ text: string; answer: (button: string) => Promise<void> }> {
  const dialog = page.locator('.monaco-dialog-box').first();
  await dialog.waitFor({ state: 'visible', timeout: timeoutMs });
  const text = (await dialog.innerText()).replace(/[ \t]+/g, ' ').trim();
  return {
    text,
    answer: async (button) => {
      await dialog.locator('.dialog-buttons .monaco-button', { hasText: new RegExp(`^\\s*${esc(button)}\\s*$`) }).first().click({ timeout: 5000 });
      await dialog.waitFor({ state: 'hidden', timeout: timeoutMs });
    },
  };
}

/** Waits for the input box whose title contains `title`, types `text` and submits it. */
export async function inputBox(page: Page, title: string, text: string, timeoutMs = 20_000): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: timeoutMs });
  const input = widget.locator('.quick-input-box input');
  await input.fill(text);
  await input.press('Enter');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'hidden', timeout: timeoutMs });
}

export async function notificationText(item: Locator): Promise<string> {
  return (await item.locator('.notification-list-item-message').innerText()).replace(/\s+/g, ' ').trim();
}
