// Seeds a dataset of N items (default 50,000) straight through the store, for the grid-scale e2e:
// 64 shared generated images, 1-2 captions each, a rare word on 1% of items.
// Usage: npx tsx tests/e2e/seed-large.ts <home> [N]
import path from 'node:path';
import sharp from 'sharp';
import { Library, type PreparedItem } from '../../native-models/data/store';

const home = path.resolve(process.argv[2]);
const N = Number(process.argv[3] ?? 50_000);
const library = new Library(path.join(home, 'datasets'));
const d = library.create('Large');
const store = library.get(d.id);
const images = [];
for (let i = 0; i < 64; i++) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="72"><rect width="96" height="72" fill="hsl(${i * 37 % 360},60%,70%)"/><circle cx="${20 + i % 50}" cy="36" r="16" fill="hsl(${(i * 37 + 180) % 360},70%,45%)"/></svg>`;
  images.push(await store.prepareImage(await sharp(Buffer.from(svg)).png().toBuffer(), `gen${i}.png`));
}
const WORDS = 'a the dog cat horse car street tree red blue green small large sitting near field beach sky building'.split(' ');
for (let done = 0; done < N; done += 5000) {
  const batch: PreparedItem[] = [];
  for (let i = done; i < Math.min(N, done + 5000); i++) {
    const words = Array.from({ length: 6 }, (_, k) => WORDS[(i * 7 + k * 13) % WORDS.length]).join(' ');
    batch.push({
      image: images[i % 64], fileName: `img${i}.png`, split: i % 10 === 0 ? 'val' : 'train',
      captions: [{ text: `#${i} ${words}${i % 100 === 7 ? ' zebra' : ''}` }],
    });
  }
  store.insertItems(batch);
}
library.closeAll();
console.log(d.id);
