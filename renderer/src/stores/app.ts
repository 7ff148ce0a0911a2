// App-wide state: host facts, notices (errors and confirmations), help panel, connection.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { AppInfo, HostCommand } from '../../../electron/common';
import { useBridge } from '../bridge';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export const useAppStore = defineStore('app', () => {
  const bridge = useBridge();
  const info = ref<AppInfo | null>(null);
  const notices = ref<Notice[]>([]);
  const helpOpen = ref(false);
  /** The Models panel (its content: stores/models.ts). */
  const modelsOpen = ref(false);
  /** A panel over the page: the page's own keys wait. */
  const panelOpen = computed(() => helpOpen.value || modelsOpen.value);
  const disconnected = ref(false);
  let nextNotice = 1;

  /** The last menu command, for the view that owns its dialog (cleared by that view). */
  const command = ref<HostCommand | null>(null);

  bridge.onDidDisconnect(() => (disconnected.value = true));
  bridge.host.onDidRequestCommand((c) => {
    if (c === 'help') helpOpen.value = true;
    else command.value = c;
  });

  async function load() {
    info.value = await bridge.host.getAppInfo();
  }

  function notify(kind: Notice['kind'], text: string, ms = kind === 'error' ? 8000 : 3500) {
    const id = nextNotice++;
    notices.value.push({ id, kind, text });
    setTimeout(() => dismiss(id), ms);
  }

  function dismiss(id: number) {
    notices.value = notices.value.filter((n) => n.id !== id);
  }

  /** Runs `fn`, turning a failure into an error notice (the message names the file/line when the service does). */
  async function guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      notify('error', (e as Error).message);
      return undefined;
    }
  }

  return { info, notices, helpOpen, modelsOpen, panelOpen, disconnected, command, mode: bridge.mode, load, notify, dismiss, guard, blobUrl: bridge.blobUrl };
});
