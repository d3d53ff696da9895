/**
 * Keeps the code readable: no file in src/ over 400 lines, no function over 80 (STYLE.md). Prints each
 * offender and `N passed, M failed`; exits 1 when any.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const MAX_FILE = 400;
const MAX_FUNCTION = 80;
const root = path.resolve(__dirname, '..');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

const problems: string[] = [];
const all = files(path.join(root, 'src'));
for (const file of all) {
  const text = fs.readFileSync(file, 'utf8');
  const rel = path.relative(root, file);
  const lines = text.split('\n').length;
  if (lines > MAX_FILE) problems.push(`${rel}: ${lines} lines (at most ${MAX_FILE})`);
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const n = end - start + 1;
      const name = (node as ts.FunctionLikeDeclaration).name?.getText(sf) ?? '(anonymous)';
      if (n > MAX_FUNCTION) problems.push(`${rel}:${start + 1}: function ${name} has ${n} lines (at most ${MAX_FUNCTION})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
for (const p of problems) console.log(p);
console.log(`${problems.length ? 0 : 1} passed, ${problems.length ? 1 : 0} failed (${all.length} files checked${problems.length ? `, ${problems.length} too long` : ''})`);
process.exit(problems.length ? 1 : 0);
