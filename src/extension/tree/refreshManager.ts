import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import type { BackupModel } from '../model';
import type { Services } from '../services';

/**
 * Refreshes the model on Docker container events and on file changes in the backup folder, debounced;
 * the watchers run only while a view of ours is visible.
 */
export class RefreshManager implements vscode.Disposable {
  private timer?: NodeJS.Timeout;
  private events?: AbortController;
  private watcher?: vscode.FileSystemWatcher;
  private visible = new Set<string>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly model: BackupModel,
    private readonly services: Services,
    views: vscode.TreeView<unknown>[],
    private readonly debounceMs = 400,
  ) {
    for (const v of views) {
      const id = String(views.indexOf(v));
      if (v.visible) this.visible.add(id);
      this.subs.push(
        v.onDidChangeVisibility((e) => {
          if (e.visible) this.visible.add(id);
          else this.visible.delete(id);
          this.update();
        }),
      );
    }
    this.subs.push(services.onDidChangeSettings(() => {
      this.stopWatching();
      this.update();
      this.schedule();
    }));
    this.update();
  }

  /** A refresh soon, coalescing bursts (compose starts five containers at once). */
  schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.model.refresh(), this.debounceMs);
  }

  private update(): void {
    if (this.visible.size > 0) this.startWatching();
    else this.stopWatching();
  }

  private startWatching(): void {
    if (!this.events) {
      const controller = new AbortController();
      this.events = controller;
      const watch = async () => {
        while (!controller.signal.aborted) {
          try {
            await this.services.docker.watchEvents(() => this.schedule(), controller.signal);
          } catch (e) {
            this.services.logger.debug(`docker events: ${errorMessage(e)}`);
          }
          if (controller.signal.aborted) return;
          await new Promise((r) => setTimeout(r, 5000)); // Docker down: try again later
        }
      };
      void watch();
    }
    if (!this.watcher) {
      const dir = vscode.Uri.file(this.services.settings.backupDirectory);
      this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(dir, '**/*'));
      this.watcher.onDidCreate(() => this.schedule());
      this.watcher.onDidDelete(() => this.schedule());
      this.watcher.onDidChange(() => this.schedule());
    }
  }

  private stopWatching(): void {
    this.events?.abort();
    this.events = undefined;
    this.watcher?.dispose();
    this.watcher = undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.stopWatching();
    for (const s of this.subs) s.dispose();
  }
}
