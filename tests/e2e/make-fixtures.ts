// Generates the e2e inputs: one folder per import format (plus bad files the import must skip),
// a folder to upload from the browser, and the fake microphone's WAV (a 440 Hz tone of known length).
// Usage: npx tsx tests/e2e/make-fixtures.ts <outDir>
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { encodeOggVorbis, writeWav } from '../../native-models/data/audio';

const out = path.resolve(process.argv[2] ?? 'tmp/e2e-fixtures');
const W = 320;
const H = 240;

/** A small flat-colour scene (sky, ground, a few shapes) so thumbnails are distinguishable. */
async function scene(file: string, seed: number, format: 'png' | 'jpeg' | 'webp' = 'png') {
  const hue = (seed * 47) % 360;
  const shapes = [0, 1, 2].map((k) => {
    const x = 40 + ((seed * 71 + k * 97) % 240);
    const y = 60 + ((seed * 37 + k * 53) % 140);
    const c = `hsl(${(hue + 120 * (k + 1)) % 360},70%,55%)`;
    return k % 2 ? `<rect x="${x - 25}" y="${y - 25}" width="50" height="50" rx="6" fill="${c}"/>` : `<circle cx="${x}" cy="${y}" r="28" fill="${c}"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H * 0.6}" fill="hsl(${hue},55%,78%)"/><rect y="${H * 0.6}" width="${W}" height="${H * 0.4}" fill="hsl(${(hue + 60) % 360},35%,45%)"/>${shapes}</svg>`;
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(svg))[format]().toFile(file);
}

function tone(seconds: number, rate: number, freq: number, amp = 0.5): Float32Array {
  return new Float32Array(Math.round(seconds * rate)).map((_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

// folder: nested, three formats, and three files the import must skip with a reason.
await scene(path.join(out, 'folder/beach.png'), 1);
await scene(path.join(out, 'folder/park.jpg'), 2, 'jpeg');
await scene(path.join(out, 'folder/nested/city.webp'), 3, 'webp');
await scene(path.join(out, 'folder/nested/deeper/forest.png'), 4);
writeFileSync(path.join(out, 'folder/broken.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'));
writeFileSync(path.join(out, 'folder/empty.jpg'), Buffer.alloc(0));

// COCO captions.
await scene(path.join(out, 'coco/images/000000000011.jpg'), 11, 'jpeg');
await scene(path.join(out, 'coco/images/000000000012.jpg'), 12, 'jpeg');
writeFileSync(path.join(out, 'coco/captions_val2017.json'), JSON.stringify({
  images: [
    { id: 11, file_name: '000000000011.jpg', width: W, height: H },
    { id: 12, file_name: '000000000012.jpg', width: W, height: H },
  ],
  annotations: [
    { id: 1, image_id: 11, caption: 'A zebra standing near a red ball.' },
    { id: 2, image_id: 11, caption: 'A striped animal beside a ball.' },
    { id: 3, image_id: 12, caption: 'Two shapes on a green field.' },
  ],
}));

// Hugging Face imagefolder.
await scene(path.join(out, 'imagefolder/train/hf1.png'), 21);
await scene(path.join(out, 'imagefolder/train/hf2.png'), 22);
writeFileSync(path.join(out, 'imagefolder/train/metadata.jsonl'), [
  JSON.stringify({ file_name: 'hf1.png', text: 'A blue circle above the horizon.' }),
  JSON.stringify({ file_name: 'hf2.png', text: 'An orange square on grass.' }),
].join('\n') + '\n');

// Localized Narratives: JSONL + Ogg voice + the image found by image_id.
await scene(path.join(out, 'ln/images/ln_img_1.png'), 31);
const voice = await encodeOggVorbis({ sampleRate: 16000, channels: [tone(1.5, 16000, 330, 0.3)] });
mkdirSync(path.join(out, 'ln/voice'), { recursive: true });
writeFileSync(path.join(out, 'ln/voice/ln_1.ogg'), voice);
writeFileSync(path.join(out, 'ln/narratives.jsonl'), JSON.stringify({
  dataset_id: 'e2e', image_id: 'ln_img_1', annotator_id: 7, caption: 'In this picture I can see a circle and a square.',
  timed_caption: [{ utterance: 'In this picture', start_time: 0, end_time: 0.7 }, { utterance: 'a circle', start_time: 0.7, end_time: 1.4 }],
  traces: [[{ x: 0.2, y: 0.3, t: 0.1 }, { x: 0.5, y: 0.5, t: 0.8 }, { x: 0.7, y: 0.4, t: 1.3 }]],
  voice_recording: 'voice/ln_1.ogg',
}) + '\n');

// Browser upload: a folder picked in the file chooser.
await scene(path.join(out, 'upload/pick/upload-a.png'), 41);
await scene(path.join(out, 'upload/pick/upload-b.png'), 42);

// Many images, for cancelling an import half-way.
for (let i = 0; i < 120; i++) await scene(path.join(out, `many/m${String(i).padStart(3, '0')}.png`), 100 + i);

// Fake microphone: 3 s of 440 Hz at 48 kHz (Chromium loops it while recording).
writeFileSync(path.join(out, 'mic.wav'), writeWav({ sampleRate: 48000, channels: [tone(3, 48000, 440)] }));
console.log(out);
