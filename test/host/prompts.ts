import * as vscode from 'vscode';

type Answer = (message: string, ...rest: unknown[]) => unknown;
/** Replaces a vscode.window prompt for one test, recording what the user would have seen. */
export class Prompts {
  private originals = new Map<string, unknown>();
  seen: { fn: string; message: string; detail?: string; items: string[] }[] = [];
  answer(fn: 'showQuickPick' | 'showWarningMessage' | 'showInformationMessage' | 'showInputBox' | 'showErrorMessage', reply: Answer): void {
    const w = vscode.window as unknown as Record<string, unknown>;
    if (!this.originals.has(fn)) this.originals.set(fn, w[fn]);
    w[fn] = async (first: unknown, ...rest: unknown[]) => {
      const opts = rest[0] as { detail?: string } | undefined;
      const items = rest.filter((r) => typeof r === 'string') as string[];
      const message = typeof first === 'string' ? first : Array.isArray(first) ? '(quick pick)' : JSON.stringify(first ?? {});
      this.seen.push({ fn, message, detail: opts && typeof opts === 'object' ? opts.detail : undefined, items });
      return reply(first as string, ...rest);
    };
  }
  restore(): void {
    const w = vscode.window as unknown as Record<string, unknown>;
    for (const [fn, f] of this.originals) w[fn] = f;
    this.originals.clear();
    this.seen = [];
  }
}
