/**
 * Tables of text: aligned plain text (a terminal), Markdown (a README) and HTML (a notebook), all
 * from one list of columns and rows, so that the three never disagree.
 */
import { displayBundle, escapeHtml, MimeBundle } from './display';

/** A table: a header per column and rows of cells (null shows as '–'). */
export interface TableOptions {
  columns: string[];
  rows: (string | number | null)[][];
  /** Per column: 'right' for numbers. Default 'left' for every column. */
  align?: ('left' | 'right')[];
  /** A line above the table (HTML caption, first text line). Default none. */
  caption?: string;
}

function cells(options: TableOptions): { columns: string[]; rows: string[][]; align: ('left' | 'right')[] } {
  const { columns, rows } = options ?? ({} as TableOptions);
  if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string'))
    throw new Error(`columns must be a non-empty array of strings (got ${JSON.stringify(columns)})`);
  if (!Array.isArray(rows)) throw new Error(`rows must be an array of rows (got ${typeof rows})`);
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== columns.length)
      throw new Error(
        `rows[${i}] must hold ${columns.length} cells, one per column (got ${Array.isArray(r) ? r.length : typeof r})`,
      );
  });
  const align = options.align ?? columns.map(() => 'left' as const);
  if (!Array.isArray(align) || align.length !== columns.length || !align.every((a) => a === 'left' || a === 'right'))
    throw new Error(`align must hold 'left' or 'right' for each of the ${columns.length} columns`);
  return { columns, rows: rows.map((r) => r.map((c) => (c === null ? '–' : String(c)))), align };
}

/**
 * The table as aligned plain text: a header, a rule, one line per row, columns two spaces apart.
 * @see notebooks/06-compare.ipynb
 */
export function textTable(options: TableOptions): string {
  const { columns, rows, align } = cells(options);
  const widths = columns.map((c, j) => Math.max(c.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r
      .map((c, j) => (align[j] === 'right' ? c.padStart(widths[j]) : c.padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  return [
    ...(options.caption ? [options.caption] : []),
    line(columns),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/**
 * The table in Markdown (GitHub's pipe tables; '|' in cells escaped).
 * @see notebooks/06-compare.ipynb
 */
export function markdownTable(options: TableOptions): string {
  const { columns, rows, align } = cells(options);
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(columns), `|${align.map((a) => (a === 'right' ? '---:' : '---')).join('|')}|`, ...rows.map(line)].join(
    '\n',
  );
}

/**
 * The bundle `showTable` displays: an HTML table and the aligned text.
 * @see notebooks/06-compare.ipynb
 */
export function tableBundle(options: TableOptions): MimeBundle {
  const { columns, rows, align } = cells(options);
  const style = (j: number) => `text-align:${align[j]};padding:2px 8px;vertical-align:top`;
  const head = columns.map((c, j) => `<th style="${style(j)}">${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, j) => `<td style="${style(j)}">${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  const caption = options.caption
    ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>`
    : '';
  return {
    'text/html': `<table class="seqmnist-table" style="border-collapse:collapse;font-size:13px">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`,
    'text/plain': textTable(options),
  };
}

/**
 * Shows a table: HTML in a notebook, aligned text in a terminal.
 * @see notebooks/06-compare.ipynb
 */
export function showTable(options: TableOptions): void {
  displayBundle(tableBundle(options));
}
