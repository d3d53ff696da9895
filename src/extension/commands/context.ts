import type * as vscode from 'vscode';
import type { BackupModel } from '../model';
import type { RemoteModel } from '../remoteModel';
import type { Services } from '../services';
import type { Node } from '../tree/nodes';

/** What every command gets. */
export interface CommandContext {
  extension: vscode.ExtensionContext;
  services: Services;
  model: BackupModel;
  remotes: RemoteModel;
}

/** A command as the tree and the palette call it: (clicked node?, selected nodes?). */
export type CommandHandler = (ctx: CommandContext, node?: Node, nodes?: Node[]) => Promise<unknown>;
