import * as vscode from 'vscode';
import { redactingLogger, type Logger } from '../core/logger';

/** The one LogOutputChannel, as core's Logger; known secrets are redacted before anything is written. */
export function outputChannelLogger(channel: vscode.LogOutputChannel, secrets: () => readonly (string | undefined)[]): Logger {
  return redactingLogger(
    {
      trace: (m) => channel.trace(m),
      debug: (m) => channel.debug(m),
      info: (m) => channel.info(m),
      warn: (m) => channel.warn(m),
      error: (m) => channel.error(m),
    },
    secrets,
  );
}
