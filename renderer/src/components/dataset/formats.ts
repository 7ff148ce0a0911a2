// What each import/export format is, in the user's words, and what its path points at.
import type { DatasetFormat } from '../../../../electron/common';

export interface FormatInfo {
  id: DatasetFormat;
  label: string;
  hint: string;
  /** What the import path names: a folder, or a file inside the uploaded folder. */
  importPath: 'folder' | 'file';
  /** Extensions of that file. */
  extensions?: string[];
}

export const FORMATS: FormatInfo[] = [
  { id: 'folder', label: 'Image folder', hint: 'A folder of images (png, jpeg, webp, gif), searched recursively.', importPath: 'folder' },
  { id: 'coco', label: 'COCO captions', hint: 'A captions_*.json file (or a folder holding them); images are found beside it, in images/ or train2017/.', importPath: 'file', extensions: ['json'] },
  { id: 'localized-narratives', label: 'Localized Narratives', hint: 'A .jsonl file of narratives (or its folder), with the .ogg voice recordings and images under the same folder.', importPath: 'file', extensions: ['jsonl'] },
  { id: 'imagefolder', label: 'Hugging Face imagefolder', hint: 'A folder with images and a metadata.jsonl (file_name, text).', importPath: 'folder' },
];

export function formatInfo(id: DatasetFormat): FormatInfo {
  return FORMATS.find((f) => f.id === id) ?? FORMATS[0];
}
