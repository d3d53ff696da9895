import { readFileSync } from 'node:fs';
import { parseArchiveToc } from '../src/core/restore/toc';
const t = parseArchiveToc(readFileSync(process.argv[2]))!;
for (const e of t.entries) console.log(e.id, e.desc, e.namespace, e.tag, e.owner, e.deps.join(','), JSON.stringify(e.defn.slice(0, 90)));
