// Named colours: what backgrounds are painted with and how captions name a colour.

export interface NamedColour {
  name: string;
  rgb: [number, number, number];
}

/** Background palette; every name here can appear in a caption. */
export const PALETTE: readonly NamedColour[] = [
  { name: 'white', rgb: [248, 248, 246] },
  { name: 'light grey', rgb: [200, 200, 200] },
  { name: 'grey', rgb: [128, 128, 128] },
  { name: 'dark grey', rgb: [64, 64, 66] },
  { name: 'black', rgb: [18, 18, 20] },
  { name: 'red', rgb: [210, 40, 40] },
  { name: 'dark red', rgb: [120, 20, 24] },
  { name: 'pink', rgb: [240, 150, 180] },
  { name: 'orange', rgb: [240, 140, 30] },
  { name: 'yellow', rgb: [245, 220, 50] },
  { name: 'cream', rgb: [245, 235, 200] },
  { name: 'beige', rgb: [215, 195, 160] },
  { name: 'brown', rgb: [120, 75, 40] },
  { name: 'light green', rgb: [160, 225, 140] },
  { name: 'green', rgb: [50, 160, 60] },
  { name: 'dark green', rgb: [20, 80, 35] },
  { name: 'olive', rgb: [128, 128, 40] },
  { name: 'teal', rgb: [30, 140, 140] },
  { name: 'turquoise', rgb: [70, 210, 200] },
  { name: 'light blue', rgb: [160, 205, 240] },
  { name: 'blue', rgb: [40, 90, 210] },
  { name: 'navy blue', rgb: [20, 30, 90] },
  { name: 'purple', rgb: [120, 50, 160] },
  { name: 'lavender', rgb: [200, 180, 235] },
];

/** Colours an object is called by (a coarser set: "a red apple", "a yellow banana"). */
const OBJECT_COLOURS: readonly NamedColour[] = [
  { name: 'white', rgb: [240, 240, 240] },
  { name: 'grey', rgb: [140, 140, 140] },
  { name: 'black', rgb: [30, 30, 30] },
  { name: 'red', rgb: [220, 40, 40] },
  { name: 'pink', rgb: [240, 140, 170] },
  { name: 'orange', rgb: [245, 145, 30] },
  { name: 'yellow', rgb: [250, 210, 40] },
  { name: 'brown', rgb: [140, 90, 50] },
  { name: 'green', rgb: [70, 170, 60] },
  { name: 'blue', rgb: [50, 120, 220] },
  { name: 'purple', rgb: [140, 70, 180] },
];

const COLOUR_WORDS = new Set([...PALETTE, ...OBJECT_COLOURS].flatMap((c) => c.name.split(' ')).concat(['gold', 'golden', 'silver']));

/** Squared distance weighted roughly like human sensitivity ("redmean"). */
function dist(a: readonly number[], b: readonly number[]): number {
  const rm = (a[0] + b[0]) / 2;
  const dr = a[0] - b[0];
  const dg = a[1] - b[1];
  const db = a[2] - b[2];
  return (2 + rm / 256) * dr * dr + 4 * dg * dg + (2 + (255 - rm) / 256) * db * db;
}

function nearest(rgb: readonly number[], set: readonly NamedColour[]): NamedColour {
  let best = set[0];
  let bd = Infinity;
  for (const c of set) {
    const d = dist(rgb, c.rgb);
    if (d < bd) {
      bd = d;
      best = c;
    }
  }
  return best;
}

/** The caption word for an object's mean colour. */
export function objectColourName(rgb: readonly number[]): string {
  return nearest(rgb, OBJECT_COLOURS).name;
}

/** True when a phrase already starts with a colour ("red apple", "black cat"): no second colour word. */
export function startsWithColour(phrase: string): boolean {
  return COLOUR_WORDS.has(phrase.split(' ')[0]);
}
