// HostService in Electron: app facts and native open dialogs for import/export paths.
import { app, dialog, type BrowserWindow } from 'electron';
import type { AppInfo, Disposable, HostCommand, HostService, PickPathOptions } from '../common';

export class ElectronHostService implements HostService {
  private readonly commandListeners = new Set<(c: HostCommand) => void>();

  readonly onDidRequestCommand = (listener: (c: HostCommand) => void): Disposable => {
    this.commandListeners.add(listener);
    return { dispose: () => void this.commandListeners.delete(listener) };
  };

  /** Called by the menu. */
  requestCommand(command: HostCommand): void {
    for (const l of [...this.commandListeners]) l(command);
  }

  constructor(private readonly window: () => BrowserWindow | null, private readonly libraryRoot: string) {}

  async getAppInfo(): Promise<AppInfo> {
    return { mode: 'electron', version: app.getVersion(), libraryRoot: this.libraryRoot, canPickPaths: true, canUpload: false };
  }

  async pickPath(options: PickPathOptions): Promise<string | null> {
    const properties: ('openFile' | 'openDirectory' | 'createDirectory')[] =
      options.kind === 'file' ? ['openFile'] : options.kind === 'folder' ? ['openDirectory'] : ['openDirectory', 'createDirectory'];
    const win = this.window();
    const dialogOptions = {
      title: options.title, properties,
      ...(options.extensions ? { filters: [{ name: options.extensions.join(', '), extensions: options.extensions }] } : {}),
    };
    const result = win ? await dialog.showOpenDialog(win, dialogOptions) : await dialog.showOpenDialog(dialogOptions);
    return result.canceled || result.filePaths.length === 0 ? null : result.filePaths[0];
  }
}
