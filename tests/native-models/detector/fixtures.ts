// Tiny EmojiScenes examples made in memory (the demo generator is a pure function of seed and index),
// with a vocabulary of just the labels that occur, for fast detector tests.
import { loadCatalog } from '../../../native-models/data/demo/catalog';
import { generateItem, makePlan, Workshop } from '../../../native-models/data/demo/generate';
import { defaultSplitSizes } from '../../../native-models/data/demo/splits';
import type { DetectionExample } from '../../../native-models/detector/data';

export interface Fixture {
  examples: DetectionExample[];
  vocabulary: string[];
  /** PNG bytes of each example. */
  pngs: Uint8Array[];
}

export async function emojiExamples(n: number, seed = 7): Promise<Fixture> {
  const catalog = loadCatalog();
  const plan = makePlan({ seed, size: n, splitSizes: defaultSplitSizes(n), classes: catalog.map((c) => c.index), speech: false });
  const ws = new Workshop();
  const items = [];
  for (let i = 0; i < n; i++) items.push(await generateItem(plan, i, ws));
  const vocabulary = [...new Set(items.flatMap((it) => it.regions.map((r) => r.label)))].sort();
  const index = new Map(vocabulary.map((l, i) => [l, i]));
  return {
    vocabulary,
    pngs: items.map((it) => it.png),
    examples: items.map((it) => ({
      id: it.fileName, read: async () => it.png, boxes: it.regions.map((r) => r.box), classes: it.regions.map((r) => index.get(r.label)!),
    })),
  };
}
