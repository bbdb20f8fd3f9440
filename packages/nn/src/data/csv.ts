// CSV text (RFC 4180 as spreadsheets write it): a header row of column names, then one
// record per line; fields separated by commas; a field may be quoted ("a, b"), with a
// doubled quote ("") standing for one quote and line breaks allowed inside quotes; CRLF
// or LF line ends; a UTF-8 byte-order mark and blank lines are skipped. Parsing is pure
// (a string in) and keeps where every field started, so table.ts can refuse a cell as
// file:line:column. Ragged records and malformed quoting are refused here.

import { DataError } from '@alphadrop/core';

export interface CsvField {
  text: string;
  /** 1-based line and character column where the field starts. */
  line: number;
  column: number;
}

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  fields: CsvField[];
}

export interface CsvFile {
  file: string;
  /** Column names, in order, trimmed. */
  header: string[];
  records: CsvRecord[];
}

/** Splits `text` into records of fields with their positions; no field counts checked. */
function tokenize(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1, lineStart = 0, i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (i === 1) lineStart = 1;
  let fields: CsvField[] = [];
  let recordLine = 1;
  let quoted = false;
  const n = text.length;
  while (i <= n) {
    // one field starts at i
    const start: CsvField = { text: '', line, column: i - lineStart + 1 };
    quoted = text[i] === '"';
    if (quoted) {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= n) throw new DataError(`${file}:${start.line}:${start.column}`, 'a closing quote for the field opened here', 'the end of the file');
        const c = text[j]!;
        if (c === '"') {
          if (text[j + 1] === '"') {
            value += '"';
            j += 2;
            continue;
          }
          j++;
          break;
        }
        if (c === '\n') {
          line++;
          lineStart = j + 1;
        }
        value += c;
        j++;
      }
      const after = text[j];
      if (after !== undefined && after !== ',' && after !== '\n' && !(after === '\r' && text[j + 1] === '\n'))
        throw new DataError(`${file}:${line}:${j - lineStart + 1}`, 'a comma or the end of the line after a closing quote', JSON.stringify(after), 'a quote inside a quoted field is written twice ("")');
      start.text = value;
      i = j;
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n') j++;
      let end = j;
      if (text[j] === '\n' && text[j - 1] === '\r') end = j - 1;
      start.text = text.slice(i, end);
      i = j;
    }
    fields.push(start);
    if (text[i] === '\r') i++;
    if (i >= n || text[i] === '\n') {
      // blank lines (one empty unquoted field) are not records
      if (!(fields.length === 1 && !quoted && fields[0]!.text.trim() === '')) records.push({ line: recordLine, fields });
      fields = [];
      if (i >= n) break;
      i++;
      line++;
      lineStart = i;
      recordLine = line;
      if (i >= n) break;
    } else i++; // the comma
  }
  return records;
}

/** Parses CSV text with a header row; every record must have the header's number of fields. */
export function parseCsv(text: string, file = 'data.csv'): CsvFile {
  const all = tokenize(text, file);
  if (all.length === 0) throw new DataError(file, 'a header row of column names', text.length === 0 ? 'an empty file' : 'only blank lines');
  const [head, ...records] = all as [CsvRecord, ...CsvRecord[]];
  const header = head.fields.map((f) => f.text.trim());
  header.forEach((name, k) => {
    const at = `${file}:${head.line}:${head.fields[k]!.column}`;
    if (name === '') throw new DataError(at, 'a column name in the header', 'an empty name', `column ${k + 1}`);
    const first = header.indexOf(name);
    if (first !== k) throw new DataError(at, 'distinct column names', `${JSON.stringify(name)} again`, `also column ${first + 1}`);
  });
  for (const r of records) {
    if (r.fields.length === header.length) continue;
    const last = r.fields[Math.min(r.fields.length, header.length) - 1]!;
    throw new DataError(`${file}:${r.line}:${last.column}`, `${header.length} fields (as the header on line ${head.line})`, `${r.fields.length} fields`, 'a ragged row');
  }
  return { file, header, records };
}
