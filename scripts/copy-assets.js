#!/usr/bin/env node
// Copies the data files that live beside the code in src/ (playbooks, policy fragments, demo samples,
// knowledge articles: anything but TypeScript) into dist/, so a built Warden finds them next to its modules.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

function copy(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    if (entry.isDirectory()) copy(from);
    else if (!/\.tsx?$/.test(entry.name)) {
      const to = path.join(dist, path.relative(src, from));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}
copy(src);
