// HostService for web mode: app facts; no native dialogs (the browser uploads or types a host path).
import type { AppInfo, Event, HostCommand, HostService, PickPathOptions } from '../common';

/** Web mode's host service. */
export class WebHostService implements HostService {
  /** Web mode has no menus. */
  readonly onDidRequestCommand: Event<HostCommand> = () => ({ dispose() {} });

  constructor(private readonly info: { version: string; libraryRoot: string }) {}

  async getAppInfo(): Promise<AppInfo> {
    return { mode: 'web', version: this.info.version, libraryRoot: this.info.libraryRoot, canPickPaths: false, canUpload: true };
  }

  async pickPath(_options: PickPathOptions): Promise<string | null> {
    throw new Error('Native file dialogs are not available in web mode: type a path on the server or upload files.');
  }
}
