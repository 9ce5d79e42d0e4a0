/**
 * The area of a requirement: its ID's first word (SPEC's sections: ENV, HDR, KA, …; every RFC-only ID starts with
 * RFC). Reports group by it (JUnit class names, the HTML and Markdown tables), in the order areas first appear in the
 * catalogue, so a new area needs no change here beyond, at most, a title.
 */
const AREA_TITLES: Readonly<Record<string, string>> = {
  ENV: 'the environ',
  HDR: 'request headers',
  KA: 'keep-alive and framing',
  URI: 'request-line length',
  TLS: 'TLS on the plain-HTTP port',
  RL: 'the request line',
  EXP: 'Expect',
  ERR: 'error responses',
  LOG: 'logging',
  RFC: 'what RFC 9110/9112 ask of any origin server',
  RUN: 'the run itself',
};

export function areaOf(id: string): string {
  const dash = id.indexOf('-');
  return dash === -1 ? id : id.slice(0, dash);
}

/** `ENV: the environ`, or the bare area for one without a title. */
export function areaLabel(area: string): string {
  const title = AREA_TITLES[area];
  return title ? `${area}: ${title}` : area;
}

/** Items grouped by the area of their ID, areas in order of first appearance, items in their given order. */
export function groupByArea<T>(items: readonly T[], idOf: (item: T) => string): Array<{ area: string; items: T[] }> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const area = areaOf(idOf(item));
    const group = groups.get(area);
    if (group) group.push(item);
    else groups.set(area, [item]);
  }
  return [...groups].map(([area, grouped]) => ({ area, items: grouped }));
}
