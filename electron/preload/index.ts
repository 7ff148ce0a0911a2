// Preload (sandboxed, context-isolated): exposes `window.optStudio` with one function per contract
// method and one subscribe function per event, generated from the channel list. No raw ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import { createPreloadApi } from './api';

contextBridge.exposeInMainWorld('optStudio', createPreloadApi(ipcRenderer));
