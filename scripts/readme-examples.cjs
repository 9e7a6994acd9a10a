#!/usr/bin/env node
// `npm run readme`: copies each example file (or its `#region readme`) into the README block that names it in an
// `<!-- example: … -->` line. Edit the file, run this, commit both; test/readme.test.ts fails while they differ.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const readmePath = join(root, 'README.md');
const shown = (path) => {
  const [file, name = 'readme'] = path.split('#');
  const text = readFileSync(join(root, file), 'utf8');
  const region = new RegExp(`#region ${name}\\b[^\\n]*\\n([\\s\\S]*?)\\n[^\\n]*#endregion`).exec(text);
  return region ? region[1] : text.replace(/\n$/, '');
};
let changed = 0;
const readme = readFileSync(readmePath, 'utf8').replace(
  /(<!-- example: (.+?) -->\n```\w*\n)([\s\S]*?)(\n```)/g,
  (all, head, path, body, tail) => {
    if (path === 'src layout') return all;
    const next = shown(path);
    if (next !== body) changed++;
    return `${head}${next}${tail}`;
  },
);
writeFileSync(readmePath, readme);
process.stdout.write(`README.md: ${changed} block(s) updated from their example files.\n`);
