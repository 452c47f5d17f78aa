/**
 * Markdown templates from `journal-templates/`, read at run time (not strings in code). Tokens
 * are `{{name}}`; an unknown token is a template error rather than text left in a report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';

export function readTemplate(name: string): string {
  return fs.readFileSync(path.join(packageRoot(), 'journal-templates', name), 'utf8');
}

export class TemplateError extends Error {}

export function fillTemplate(name: string, text: string, values: Record<string, string>): string {
  const unknown = new Set<string>();
  const filled = text.replace(/\{\{(\w+)\}\}/g, (_all, key: string) => {
    if (!(key in values)) {
      unknown.add(key);
      return '';
    }
    return values[key];
  });
  if (unknown.size > 0) throw new TemplateError(`journal-templates/${name} uses unknown token(s): ${[...unknown].join(', ')}.`);
  // The header comment documents the tokens for whoever edits the template; it is not output.
  return filled.replace(/^<!--[\s\S]*?-->\n*/, '').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

/** Escapes a value for a Markdown table cell. */
export function cell(value: unknown): string {
  const text = value === undefined || value === null || value === '' ? '–' : String(value);
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function table(headers: string[], rows: unknown[][]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
