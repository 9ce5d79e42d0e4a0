import type { Level, Profile, Verdict } from '../catalogue/types.ts';
import { VERDICTS, type RunReport } from '../runner.ts';
import { areaLabel, groupByArea } from './areas.ts';
import { toJsonReport, type JsonResult } from './json.ts';
import { markupText } from './markup.ts';

/**
 * One self-contained HTML page (inline CSS and JS, nothing fetched) for one run (`h1spec run --html`) or for many
 * servers side by side (the matrix): requirements as rows grouped by area, one verdict column per server, every
 * verdict that has bytes behind it linking to its evidence below the table. The table is plain HTML, readable with
 * scripts off; the script only adds filtering by area and verdict.
 */

export interface HtmlColumn {
  /** The server, as the column's heading. */
  name: string;
  /** A line under the name: version, mode, profiles. */
  caption: string;
  /** Null when the server did not run; `problem` says why. */
  report: RunReport | null;
  problem: string | null;
}

export interface HtmlRequirement {
  id: string;
  title: string;
  level: Level;
  profiles: readonly Profile[];
}

export interface HtmlPage {
  title: string;
  /** Paragraphs of plain text above the table. */
  intro: readonly string[];
  requirements: readonly HtmlRequirement[];
  columns: readonly HtmlColumn[];
}

const html = markupText;

/** Enough bytes per direction to read a head and the start of a body; the JSON report keeps them all. */
const HTML_EVIDENCE_MAX_CHARS = 2048;
/** The page's cells for requirements a column's run did not cover (another profile, or a server that did not run). */
const NOT_RUN = 'n/a';

export function renderHtml(report: RunReport): string {
  return renderHtmlPage({
    title: `${report.tool.name}: ${report.target}`,
    intro: [
      `${report.tool.name} ${report.tool.version}; profiles ${report.profiles.join(', ')}; mode ${report.mode}; strict ${report.strict}` +
        (report.manifest ? `; manifest ${report.manifest}` : '') +
        `; started ${report.started}, ${(report.wallMs / 1000).toFixed(1)} s.`,
      ...(report.death ? [`The target died after ${report.death.after}: ${report.death.detail}`] : []),
    ],
    requirements: report.results,
    columns: [{ name: report.target, caption: '', report, problem: null }],
  });
}

interface Cell {
  verdict: Verdict | typeof NOT_RUN;
  result: JsonResult | null;
  anchor: string | null;
}

export function renderHtmlPage(page: HtmlPage): string {
  const columns = page.columns.map((column) => ({
    column,
    results: new Map((column.report ? toJsonReport(column.report).results : []).map((result) => [result.id, result])),
  }));
  const cellOf = (columnIndex: number, id: string): Cell => {
    const result = columns[columnIndex]!.results.get(id) ?? null;
    if (!result) return { verdict: NOT_RUN, result: null, anchor: null };
    return { verdict: result.verdict, result, anchor: hasEvidence(result) ? anchorOf(columnIndex, id) : null };
  };
  const groups = groupByArea(page.requirements, (requirement) => requirement.id);
  const totals = Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>;
  for (const { results } of columns) for (const result of results.values()) totals[result.verdict]++;

  const body: string[] = [];
  body.push(`<header><h1>${html(page.title)}</h1>${page.intro.map((text) => `<p>${html(text)}</p>`).join('')}</header>`);
  body.push(
    `<section id="totals" aria-label="verdict counts">${VERDICTS.map(
      (verdict) => `<span class="badge v-${verdict}" data-verdict="${verdict}"><b class="count">${totals[verdict]}</b> ${verdict}</span>`,
    ).join(' ')}</section>`,
  );
  body.push(filters(groups.map(({ area, items }) => [area, items.length] as const)));
  body.push(`<p id="shown-line"><span id="shown">${page.requirements.length}</span> of ${page.requirements.length} requirements shown</p>`);
  body.push('<table id="results">');
  body.push(tableHead(columns.map(({ column }) => column)));
  for (const { area, items } of groups) {
    body.push(`<tbody data-area="${html(area)}"><tr class="area"><th colspan="${3 + columns.length}">${html(areaLabel(area))}</th></tr>`);
    for (const requirement of items) {
      const cells = columns.map((_, index) => cellOf(index, requirement.id));
      const verdicts = [...new Set(cells.map((cell) => cell.verdict).filter((verdict) => verdict !== NOT_RUN))];
      body.push(
        `<tr data-area="${html(area)}" data-verdicts="${verdicts.join(' ')}"><td class="id">${html(requirement.id)}</td><td>${requirement.level}</td>` +
          `<td>${html(requirement.title)}</td>${cells.map(cellHtml).join('')}</tr>`,
      );
    }
    body.push('</tbody>');
  }
  body.push('</table>');
  body.push('<section id="evidence"><h2>Evidence</h2>');
  columns.forEach(({ column, results }, index) => {
    for (const result of results.values()) if (hasEvidence(result)) body.push(evidenceArticle(column, result, anchorOf(index, result.id)));
  });
  body.push('</section>');

  return [
    '<!doctype html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${html(page.title)}</title><style>${STYLE}</style></head>`,
    `<body>${body.join('\n')}<script>${SCRIPT}</script></body>`,
    '</html>',
  ].join('\n') + '\n';
}

function filters(areas: ReadonlyArray<readonly [string, number]>): string {
  const box = (name: string, value: string, label: string): string =>
    `<label><input type="checkbox" name="${name}" value="${html(value)}" checked> ${html(label)}</label>`;
  return (
    '<form id="filters">' +
    `<fieldset><legend>Area</legend>${areas.map(([area, count]) => box('area', area, `${area} (${count})`)).join(' ')}</fieldset>` +
    `<fieldset><legend>Verdict</legend>${VERDICTS.map((verdict) => box('verdict', verdict, verdict)).join(' ')}</fieldset>` +
    '</form>'
  );
}

function tableHead(columns: readonly HtmlColumn[]): string {
  const heading = (column: HtmlColumn): string => {
    const counts = column.report
      ? VERDICTS.filter((verdict) => column.report!.counts[verdict] > 0)
          .map((verdict) => `<span class="v-${verdict}">${column.report!.counts[verdict]}&nbsp;${verdict}</span>`)
          .join(' ')
      : `<span class="v-error">${html(column.problem ?? 'did not run')}</span>`;
    return `<th class="server" scope="col">${html(column.name)}${column.caption ? `<small>${html(column.caption)}</small>` : ''}<small class="counts">${counts}</small></th>`;
  };
  return `<thead><tr><th scope="col">ID</th><th scope="col">Level</th><th scope="col">Requirement</th>${columns.map(heading).join('')}</tr></thead>`;
}

function cellHtml(cell: Cell): string {
  if (!cell.result) return `<td class="verdict v-na">${NOT_RUN}</td>`;
  const why = cell.result.expectation ? `manifest: ${cell.result.expectation.reason}` : (cell.result.reason ?? '');
  const label = cell.anchor ? `<a href="#${cell.anchor}">${cell.verdict}</a>` : cell.verdict;
  return `<td class="verdict v-${cell.verdict}"${why ? ` title="${html(why)}"` : ''}>${label}</td>`;
}

/** Failures and errors always link to their evidence, even with no bytes: their expected and actual text is evidence too. */
function hasEvidence(result: JsonResult): boolean {
  return result.evidence.length > 0 || (result.verdict !== 'pass' && result.verdict !== 'skip');
}

function anchorOf(columnIndex: number, id: string): string {
  return `ev-${columnIndex}-${id}`;
}

function evidenceArticle(column: HtmlColumn, result: JsonResult, anchor: string): string {
  const facts: Array<[string, string | undefined]> = [
    ['expected', result.expected],
    ['actual', result.actual],
    ['reason', result.reason],
    ['manifest', result.expectation && `expected ${result.expectation.verdict}: ${result.expectation.reason}`],
    ['source', result.source],
    ['rerun', result.rerun],
  ];
  const connections = result.evidence.map(
    (evidence) =>
      `<details open><summary>${html(evidence.label)} <small>(connection ${html(evidence.close)})</small></summary>` +
      `<h4>sent</h4><pre>${html(capped(evidence.sent))}</pre><h4>received</h4><pre>${html(capped(evidence.received))}</pre></details>`,
  );
  return (
    `<article id="${anchor}"><h3 class="v-${result.verdict}">${html(column.name)} · ${html(result.id)} · ${result.verdict}</h3>` +
    `<dl>${facts
      .filter(([, value]) => value)
      .map(([name, value]) => `<dt>${name}</dt><dd>${name === 'rerun' ? `<code>${html(value!)}</code>` : html(value!)}</dd>`)
      .join('')}</dl>${connections.join('')}<p><a href="#results">back to the table</a></p></article>`
  );
}

function capped(escaped: string): string {
  return escaped.length > HTML_EVIDENCE_MAX_CHARS ? `${escaped.slice(0, HTML_EVIDENCE_MAX_CHARS)}…[cut; the JSON report has every byte]` : escaped;
}


const STYLE = `
:root { --pass: #1a7f37; --fail: #cf222e; --error: #8250df; --skip: #6e7781; --xfail: #9a6700; --xpass: #0969da; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
header p { margin: .2rem 0; color: #57606a; }
.badge { display: inline-block; padding: .15rem .5rem; border-radius: 1rem; border: 1px solid currentColor; margin: .5rem .3rem .5rem 0; }
fieldset { display: inline-block; border: 1px solid #d0d7de; margin: 0 .5rem .5rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .2rem .4rem; vertical-align: top; text-align: left; }
thead th { position: sticky; top: 0; background: #f6f8fa; }
th.server { font-size: .85rem; min-width: 4.5rem; }
th.server small { display: block; font-weight: normal; color: #57606a; }
tr.area th { background: #eaeef2; }
td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
td.verdict { font-weight: 600; white-space: nowrap; text-align: center; font-size: .85rem; }
.v-pass { color: var(--pass); } .v-fail { color: var(--fail); } .v-error { color: var(--error); }
.v-skip, .v-na { color: var(--skip); font-weight: normal; } .v-xfail { color: var(--xfail); } .v-xpass { color: var(--xpass); }
td.v-fail { background: #ffebe9; } td.v-error { background: #fbefff; } td.v-xfail { background: #fff8c5; } td.v-xpass { background: #ddf4ff; }
article { border-top: 1px solid #d0d7de; padding: .5rem 0; }
article h3 { margin: .3rem 0; font-size: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: .3rem 0; }
dt { font-weight: 600; } dd { margin: 0; white-space: pre-wrap; }
pre { background: #f6f8fa; padding: .4rem; white-space: pre-wrap; word-break: break-all; margin: .2rem 0; }
h4 { margin: .3rem 0 0; font-size: .85rem; }
`;

const SCRIPT = `
(() => {
  const form = document.getElementById('filters');
  const checked = (name) => new Set([...form.querySelectorAll('input[name="' + name + '"]:checked')].map((box) => box.value));
  const apply = () => {
    const areas = checked('area');
    const verdicts = checked('verdict');
    let shown = 0;
    for (const group of document.querySelectorAll('#results tbody')) {
      let inGroup = 0;
      for (const row of group.querySelectorAll('tr[data-verdicts]')) {
        const visible = areas.has(row.dataset.area) && row.dataset.verdicts.split(' ').some((verdict) => verdicts.has(verdict));
        row.hidden = !visible;
        if (visible) inGroup++;
      }
      group.hidden = inGroup === 0;
      shown += inGroup;
    }
    document.getElementById('shown').textContent = String(shown);
  };
  form.addEventListener('change', apply);
  apply();
})();
`;
