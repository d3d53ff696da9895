import * as assert from 'node:assert/strict';
import { exactPattern, patternToRegexes, quoteIdent, quoteLiteral, settingAssignment, splitGucList, tableMatchesPatterns } from '../../src/core/postgres/sql';
import { dbConninfo, psqlArgv } from '../../src/core/postgres/client';

describe('SQL quoting', () => {
  it('quotes identifiers with quotes, semicolons and Unicode', () => {
    assert.equal(quoteIdent('we"ird; DROP TABLE x'), '"we""ird; DROP TABLE x"');
    assert.equal(quoteIdent('tåble'), '"tåble"');
    assert.throws(() => quoteIdent(''));
    assert.throws(() => quoteIdent('a\0b'));
  });

  it('quotes literals, switching to E-strings for backslashes', () => {
    assert.equal(quoteLiteral("it's"), "'it''s'");
    assert.equal(quoteLiteral('a\\b'), "E'a\\\\b'");
  });

  it('builds exact pg_dump patterns', () => {
    assert.equal(exactPattern('My Schema', 'we"ird.t'), '"My Schema"."we""ird.t"');
    const [s, t] = patternToRegexes(exactPattern('My Schema', 'we"ird.t*'));
    assert.ok(s.test('My Schema'));
    assert.ok(t.test('we"ird.t*'));
    assert.ok(!t.test('we"ird.tx'));
  });

  it('matches tables like pg_dump -t/-n do', () => {
    assert.ok(tableMatchesPatterns('public', 'album', ['album'], []));
    assert.ok(tableMatchesPatterns('public', 'album', ['ALBUM'], [])); // unquoted folds to lower case
    assert.ok(!tableMatchesPatterns('public', 'Album', ['Album'], []));
    assert.ok(tableMatchesPatterns('public', 'Album', ['"Album"'], []));
    assert.ok(tableMatchesPatterns('sales', 'invoice_line', ['sales.invoice*'], []));
    assert.ok(!tableMatchesPatterns('public', 'invoice_line', ['sales.invoice*'], []));
    assert.ok(tableMatchesPatterns('sales', 'x', [], ['sales']));
    assert.ok(!tableMatchesPatterns('public', 'x', [], ['sales']));
    assert.ok(tableMatchesPatterns('public', 'x', [], []));
  });

  it('splits stored list settings and re-quotes them element by element', () => {
    assert.deepEqual(splitGucList('"$user", public'), ['$user', 'public']);
    assert.deepEqual(splitGucList('"a ""b"""'), ['a "b"']);
    assert.equal(settingAssignment('search_path="$user", public'), `"search_path" = '$user', 'public'`);
    assert.equal(settingAssignment('work_mem=64MB'), `"work_mem" = '64MB'`);
    assert.equal(settingAssignment("app.note=it's; x"), `"app.note" = 'it''s; x'`);
  });

  it('passes database names to client programs as a connection string, never as a bare -d value', () => {
    assert.equal(dbConninfo("a=b'c\\d"), "dbname='a=b\\'c\\\\d'");
    const argv = psqlArgv({ container: 'c', containerName: 'c', user: 'u', password: 'secret' }, 'postgresql://evil', 'SELECT 1');
    assert.deepEqual(argv.slice(argv.indexOf('-d'), argv.indexOf('-d') + 2), ['-d', "dbname='postgresql://evil'"]);
    assert.ok(!argv.join(' ').includes('secret'), 'the password never travels in argv');
    assert.ok(argv.includes('ON_ERROR_STOP=1'));
  });
});
