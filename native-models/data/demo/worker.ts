// Worker thread of the demo generator: makes items on request and sends their bytes back.
// Protocol: {init: DemoConfig} -> 'ready' | {fatal}; {index} -> {item} | {fatal}.

import { parentPort } from 'node:worker_threads';
import { generateItem, makePlan, Workshop, type DemoConfig, type Plan } from './generate';
import { Speaker } from './speech';

const port = parentPort;
if (!port) throw new Error('demo worker must run in a worker thread');

let plan: Plan | undefined;
let ws: Workshop | undefined;

port.on('message', async (msg: { init?: DemoConfig; index?: number }) => {
  try {
    if (msg.init) {
      plan = makePlan(msg.init);
      ws = new Workshop(msg.init.speech ? await Speaker.create(msg.init.voices) : undefined);
      port.postMessage({ ready: true });
      return;
    }
    if (msg.index !== undefined) {
      if (!plan || !ws) throw new Error('worker not initialised');
      const item = await generateItem(plan, msg.index, ws);
      const transfer = [item.png.buffer, item.png64.buffer, ...(item.spoken ? [item.spoken.wav.buffer] : [])] as ArrayBuffer[];
      port.postMessage({ item }, transfer);
    }
  } catch (e) {
    port.postMessage({ fatal: (e as Error).message, index: msg.index });
  }
});
