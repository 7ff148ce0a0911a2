// Microphone capture, Localized-Narratives style: raw PCM through an AudioWorklet (what the service
// turns into 16 kHz mono WAV), the MediaRecorder original kept beside it, and the mouse trace over
// the image timed on the same clock.
import { onBeforeUnmount, ref, shallowRef } from 'vue';
import type { SpokenRecording, TracePoint } from '../../../electron/common';

export type RecorderState = 'idle' | 'starting' | 'recording' | 'stopping';

/** Explains a getUserMedia failure to the user. */
export function microphoneErrorMessage(e: unknown): string {
  const name = (e as { name?: string })?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'Microphone access was denied. Allow the microphone for this page (or in the system settings) and try again.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No microphone was found. Connect one and try again.';
  if (name === 'NotReadableError') return 'The microphone is in use by another application or could not be opened.';
  return `Could not start recording: ${(e as Error)?.message ?? String(e)}`;
}

export function useRecorder() {
  const state = ref<RecorderState>('idle');
  const error = ref<string | null>(null);
  const elapsed = ref(0);
  const level = ref(0);
  /** Trace segments so far (live, for drawing while recording). */
  const trace = shallowRef<TracePoint[][]>([]);

  let stream: MediaStream | null = null;
  let ctx: AudioContext | null = null;
  let node: AudioWorkletNode | null = null;
  let media: MediaRecorder | null = null;
  let chunks: Float32Array[] = [];
  let mediaChunks: Blob[] = [];
  let t0 = 0;
  let segment: TracePoint[] | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;

  async function start(): Promise<boolean> {
    if (state.value !== 'idle') return false;
    error.value = null;
    if (!navigator.mediaDevices?.getUserMedia) {
      error.value = 'Recording is not available here: no microphone API (a secure context with a microphone is needed).';
      return false;
    }
    state.value = 'starting';
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      if (stream.getAudioTracks().length === 0) throw Object.assign(new Error('no audio track'), { name: 'NotFoundError' });
      ctx = new AudioContext();
      await ctx.audioWorklet.addModule(new URL('pcm-capture-worklet.js', document.baseURI).href);
      const source = ctx.createMediaStreamSource(stream);
      node = new AudioWorkletNode(ctx, 'pcm-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
      chunks = [];
      mediaChunks = [];
      node.port.onmessage = (e: MessageEvent) => {
        if (e.data instanceof Float32Array) {
          chunks.push(e.data);
          let peak = 0;
          for (let i = 0; i < e.data.length; i += 16) peak = Math.max(peak, Math.abs(e.data[i]));
          level.value = peak;
        }
      };
      source.connect(node);
      node.connect(ctx.destination); // outputs silence; keeps the node pulled by the graph
      if (typeof MediaRecorder !== 'undefined') {
        const mime = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm'].find((m) => MediaRecorder.isTypeSupported(m));
        media = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
        media.ondataavailable = (e) => e.data.size > 0 && mediaChunks.push(e.data);
        media.start(250);
      }
      await ctx.resume();
      t0 = performance.now();
      trace.value = [];
      segment = null;
      elapsed.value = 0;
      timer = setInterval(() => (elapsed.value = (performance.now() - t0) / 1000), 100);
      state.value = 'recording';
      return true;
    } catch (e) {
      error.value = microphoneErrorMessage(e);
      await teardown();
      state.value = 'idle';
      return false;
    }
  }

  /** Records a pointer sample (x, y normalised to the image). */
  function addPoint(x: number, y: number) {
    if (state.value !== 'recording') return;
    if (!segment) {
      segment = [];
      trace.value = [...trace.value, segment];
    }
    segment.push({ x: Math.min(1, Math.max(0, x)), y: Math.min(1, Math.max(0, y)), t: (performance.now() - t0) / 1000 });
    trace.value = [...trace.value];
  }

  /** The pointer left the image: the next sample starts a new segment. */
  function endSegment() {
    segment = null;
  }

  async function stop(): Promise<SpokenRecording | null> {
    if (state.value !== 'recording' || !ctx || !node) return null;
    state.value = 'stopping';
    clearInterval(timer);
    const sampleRate = ctx.sampleRate;
    // Drain the worklet's partial batch before tearing down.
    await new Promise<void>((resolve) => {
      const done = (e: MessageEvent) => {
        if (e.data === 'flushed') {
          node?.port.removeEventListener('message', done);
          resolve();
        }
      };
      node!.port.addEventListener('message', done);
      node!.port.postMessage('flush');
      setTimeout(resolve, 500);
    });
    let original: Uint8Array | undefined;
    let originalMime: string | undefined;
    if (media && media.state !== 'inactive') {
      const recorder = media;
      await new Promise<void>((resolve) => {
        recorder.onstop = () => resolve();
        recorder.stop();
      });
      if (mediaChunks.length) {
        const blob = new Blob(mediaChunks, { type: recorder.mimeType });
        original = new Uint8Array(await blob.arrayBuffer());
        originalMime = recorder.mimeType.split(';')[0];
      }
    }
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const pcm = new Float32Array(length);
    let at = 0;
    for (const c of chunks) {
      pcm.set(c, at);
      at += c.length;
    }
    const result: SpokenRecording = {
      pcm, sampleRate, trace: trace.value.filter((s) => s.length > 0),
      ...(original ? { original, originalMime } : {}),
    };
    await teardown();
    state.value = 'idle';
    if (length === 0) {
      error.value = 'The microphone delivered no audio.';
      return null;
    }
    return result;
  }

  async function cancel() {
    clearInterval(timer);
    await teardown();
    state.value = 'idle';
  }

  async function teardown() {
    try {
      if (media && media.state !== 'inactive') media.stop();
    } catch { /* already stopped */ }
    media = null;
    node?.disconnect();
    node = null;
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    if (ctx && ctx.state !== 'closed') await ctx.close().catch(() => {});
    ctx = null;
    level.value = 0;
  }

  onBeforeUnmount(() => void cancel());

  return { state, error, elapsed, level, trace, start, stop, cancel, addPoint, endSegment };
}
