// Spoken captions for EmojiScenes, synthesised with eSpeak NG compiled to JavaScript
// (@echogarden/espeak-ng-emscripten, GPL-3.0). GENERATOR ONLY: this module is loaded lazily by the
// demo generator and must never be bundled into the packaged app (see README.md next to it).
//
// Determinism: eSpeak keeps state between calls (a random generator seeded from the clock at
// start-up, filter memories, a pitch-flutter counter), so the same text would not give the same
// samples twice. We start it with the clock pinned to 0, snapshot its whole heap once, and restore
// that snapshot before every utterance: each synthesis then starts from the same state, whatever
// was spoken before it, in whichever worker.

import { resample } from '../audio/resample';
import { durationOf, writeWav } from '../audio/wav';
import type { Rng } from './prng';

/** Longest text spoken in one go (characters). */
export const MAX_TEXT = 4000;

/** The stored speech rate. */
export const SPEECH_RATE = 16000;

/** English eSpeak voices (accents) the generator speaks with. */
export const VOICES: readonly string[] = ['en-us', 'en', 'en-gb-x-rp', 'en-gb-scotland', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'];
/** eSpeak voice variants (timbre), '' being the voice's own. */
export const VARIANTS: readonly string[] = ['', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'f1', 'f2', 'f3', 'f4', 'f5', 'klatt', 'klatt2', 'klatt3'];

export interface VoiceParams {
  /** eSpeak voice name, with +variant ("en-gb-x-rp+f3"). */
  voice: string;
  /** Words per minute. */
  rate: number;
  /** Base pitch and pitch range, 0-100. */
  pitch: number;
  range: number;
}

export interface WordTiming {
  word: string;
  /** Character span in the text. */
  start: number;
  end: number;
  /** Seconds from the start of the audio. */
  startTime: number;
  endTime: number;
}

export interface Utterance {
  /** 16 kHz mono PCM16 WAV. */
  wav: Uint8Array;
  durationS: number;
  words: WordTiming[];
}

/** Why speech failed (eSpeak missing or refusing a voice/text): the generator stops with this message. */
export class SpeechError extends Error {
  override readonly name = 'SpeechError';
}

interface EspeakEvent {
  type: string;
  text_position: number;
  audio_position: number;
}

interface EspeakWorker {
  set_voice(name: string): number;
  set_rate(v: number): number;
  set_pitch(v: number): number;
  set_range(v: number): number;
  synthesize(text: string, cb: (samples: Int16Array, events: EspeakEvent[]) => number | boolean): void;
}

interface EspeakModule {
  eSpeakNGWorker: new () => EspeakWorker;
  HEAPU8: Uint8Array;
}

/** One eSpeak instance (per worker thread). */
export class Speaker {
  private constructor(
    private readonly mod: EspeakModule,
    private readonly worker: EspeakWorker,
    private readonly snapshot: Uint8Array,
    readonly sourceRate: number,
    readonly voices: readonly string[],
  ) {}

  /** Starts eSpeak; `voices` restricts the voice list (each must be known to eSpeak). */
  static async create(voices: readonly string[] = VOICES): Promise<Speaker> {
    let init: (arg?: object) => Promise<EspeakModule>;
    try {
      const pkg = '@echogarden/espeak-ng-emscripten';
      init = ((await import(/* @vite-ignore */ pkg)) as { default: typeof init }).default;
    } catch (e) {
      throw new SpeechError(`speech synthesiser unavailable: cannot load @echogarden/espeak-ng-emscripten (${(e as Error).message}); it is a devDependency, run npm install`);
    }
    const realNow = Date.now;
    let mod: EspeakModule;
    let worker: EspeakWorker;
    try {
      Date.now = () => 0; // eSpeak seeds its noise generator from the clock at start-up
      mod = await init();
      worker = new mod.eSpeakNGWorker();
    } catch (e) {
      throw new SpeechError(`speech synthesiser failed to start: ${(e as Error).message}`);
    } finally {
      Date.now = realNow;
    }
    // The WebIDL glue copies string arguments into a heap buffer it allocates lazily and grows on
    // demand, remembering it on the JS side. Grow it once, beyond any text we will pass, BEFORE the
    // snapshot, so restoring the heap never frees it behind the glue's back. A first utterance also
    // settles one-time state.
    worker.set_voice('x'.repeat(MAX_TEXT * 2));
    worker.set_voice('en');
    worker.synthesize('Ready.', () => 0);
    const speaker = new Speaker(mod, worker, mod.HEAPU8.slice(), 22050, voices);
    for (const v of voices) speaker.checkVoice(v);
    // Self-check: the same utterance twice must give the same samples, or outputs would not be reproducible.
    const p: VoiceParams = { voice: voices[0], rate: 175, pitch: 50, range: 50 };
    const a = speaker.raw('one two three', p).pcm;
    const b = speaker.raw('one two three', p).pcm;
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      throw new SpeechError('speech synthesiser is not deterministic (unexpected eSpeak build); cannot generate reproducible audio');
    }
    return speaker;
  }

  private checkVoice(v: string): void {
    if (v.length > 64) throw new SpeechError(`voice name too long: ${v.slice(0, 64)}...`);
    this.restore();
    if (this.worker.set_voice(v) !== 0) throw new SpeechError(`speech synthesiser refused voice "${v}" (known: ${VOICES.join(', ')})`);
  }

  /** Draws voice, variant, rate and pitch. */
  pickVoice(rng: Rng): VoiceParams {
    const variant = rng.pick(VARIANTS);
    return {
      voice: `${rng.pick(this.voices)}${variant ? `+${variant}` : ''}`,
      rate: rng.int(150, 200),
      pitch: rng.int(30, 70),
      range: rng.int(30, 80),
    };
  }

  /** Puts eSpeak back in its snapshot state; memory it grew since is zeroed, as it was when fresh. */
  private restore(): void {
    const heap = this.mod.HEAPU8; // re-read: a grown heap is a new view
    heap.set(this.snapshot);
    if (heap.length > this.snapshot.length) heap.fill(0, this.snapshot.length);
  }

  private raw(text: string, p: VoiceParams): { pcm: Int16Array; events: EspeakEvent[] } {
    this.restore();
    if (this.worker.set_voice(p.voice) !== 0) throw new SpeechError(`speech synthesiser refused voice "${p.voice}"`);
    this.worker.set_rate(p.rate);
    this.worker.set_pitch(p.pitch);
    this.worker.set_range(p.range);
    const chunks: Int16Array[] = [];
    const events: EspeakEvent[] = [];
    let total = 0;
    try {
      this.worker.synthesize(text, (samples, evs) => {
        if (samples && samples.length > 0) {
          chunks.push(samples.slice());
          total += samples.length;
        }
        for (const e of evs) events.push({ type: e.type, text_position: e.text_position, audio_position: e.audio_position });
        return 0;
      });
    } catch (e) {
      throw new SpeechError(`speech synthesiser failed on "${text.slice(0, 60)}": ${(e as Error).message}`);
    }
    const pcm = new Int16Array(total);
    let o = 0;
    for (const c of chunks) {
      pcm.set(c, o);
      o += c.length;
    }
    return { pcm, events };
  }

  /** Speaks ASCII text: 16 kHz WAV plus the time span of every whitespace-separated word. */
  speak(text: string, p: VoiceParams): Utterance {
    if (text.length > MAX_TEXT) throw new SpeechError(`speech text is ${text.length} characters, over ${MAX_TEXT}`);
    if (!/^[\x20-\x7e]+$/.test(text)) throw new SpeechError(`speech text must be printable ASCII: ${JSON.stringify(text.slice(0, 60))}`);
    const { pcm, events } = this.raw(text, p);
    if (pcm.length < this.sourceRate * 0.1) throw new SpeechError(`speech synthesiser produced no audio for "${text.slice(0, 60)}" (voice ${p.voice})`);
    const x = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) x[i] = pcm[i] / 32768;
    const y = resample(x, this.sourceRate, SPEECH_RATE);
    const audio = { sampleRate: SPEECH_RATE, channels: [y] };
    const durationS = durationOf(audio);
    return { wav: writeWav(audio, 'pcm16'), durationS, words: wordTimings(text, events, durationS) };
  }
}

/**
 * Word spans from eSpeak's word events (text position -> audio position). eSpeak folds some short
 * words into their neighbour ("on the left" gives events for "on" and "left"): those share the
 * interval of the nearest timed words, split by character count.
 */
export function wordTimings(text: string, events: EspeakEvent[], durationS: number): WordTiming[] {
  const tokens = [...text.matchAll(/\S+/g)].map((m) => ({ word: m[0], start: m.index as number, end: (m.index as number) + m[0].length }));
  const startAt = new Map<number, number>();
  for (const e of events) if (e.type === 'word') startAt.set(e.text_position - 1, e.audio_position / 1000);
  const clauseEnds = events.filter((e) => e.type === 'end').map((e) => e.audio_position / 1000);
  const starts: (number | undefined)[] = tokens.map((t) => startAt.get(t.start));
  if (starts[0] === undefined) starts[0] = 0;
  // Fill untimed words by character-count interpolation between timed neighbours.
  for (let i = 1; i < tokens.length; i++) {
    if (starts[i] !== undefined) continue;
    let j = i;
    while (j < tokens.length && starts[j] === undefined) j++;
    const t0 = starts[i - 1] as number;
    const t1 = j < tokens.length ? (starts[j] as number) : Math.max(t0, clauseEnds.length ? clauseEnds[clauseEnds.length - 1] : durationS);
    const c0 = tokens[i - 1].start;
    const c1 = j < tokens.length ? tokens[j].start : tokens[tokens.length - 1].end;
    for (let k = i; k < j; k++) starts[k] = t0 + ((t1 - t0) * (tokens[k].start - c0)) / Math.max(1, c1 - c0);
    i = j - 1;
  }
  const ms = (v: number) => Math.round(v * 1000) / 1000;
  return tokens.map((t, i) => {
    const s = starts[i] as number;
    let e = i + 1 < tokens.length ? (starts[i + 1] as number) : durationS;
    const pause = clauseEnds.find((c) => c > s && c < e);
    if (pause !== undefined) e = pause;
    return { word: t.word, start: t.start, end: t.end, startTime: ms(Math.min(s, durationS)), endTime: ms(Math.min(Math.max(e, s), durationS)) };
  });
}
