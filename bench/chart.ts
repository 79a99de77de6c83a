// bench/results/latest.svg: throughput and p99 latency per system and workload, as two panels of
// horizontal bars on log scales (figures span from a few hundred to millions per second), one row per
// record, grouped by workload. Hand-written SVG: no browser, no dependency. A missing peer shows its
// row with "missing"; a result that failed its correctness check is drawn red and labelled WRONG.

export interface ChartRecord {
  readonly workload: string;
  readonly system: string;
  readonly throughput_per_s: number | null;
  readonly p99_ms: number | null;
  readonly durable: boolean;
  readonly correct: boolean | null;
  readonly missing: boolean;
}

const rowHeightPx = 16;
const headingHeightPx = 20;
const labelWidthPx = 260;
const panelWidthPx = 330;
const panelGapPx = 70;
const topPx = 56;
/** Each peer keeps its colour across workloads; anything else (the ceilings, other suites) is grey. */
const colours: Readonly<Record<string, string>> = {
  stockledger: '#2f6db3',
  postgresql: '#8e5cb8',
  'redis-lua:always': '#c0392b',
  'redis-lua:everysec': '#e59866',
  'map+lmdb': '#3a9c5b',
};
const otherColour = '#8a8a8a';
const wrongColour = '#ff0000';

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** A log10 scale from [low, high] (rounded out to powers of ten) onto [0, width]. */
function logScale(values: readonly number[], width: number): { at(value: number): number; ticks: number[] } {
  const positive = values.filter((value) => value > 0);
  const low = positive.length === 0 ? 1 : 10 ** Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.max(low * 10, 10 ** Math.ceil(Math.log10(Math.max(...positive, 1))));
  const span = Math.log10(high) - Math.log10(low);
  const ticks: number[] = [];
  for (let tick = low; tick <= high; tick *= 10) ticks.push(tick);
  return {
    at: (value) => (value <= 0 ? 0 : ((Math.log10(value) - Math.log10(low)) / span) * width),
    ticks,
  };
}

function shortNumber(value: number): string {
  if (value >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (value >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return value >= 10 ? String(Math.round(value)) : String(Number(value.toPrecision(2)));
}

export function chartSvg(records: readonly ChartRecord[], title: string): string {
  const shown = records.filter((record) => record.throughput_per_s !== null || record.missing);
  const colourOf = (system: string) =>
    colours[system] ?? (system.startsWith('stockledger') ? colours.stockledger! : otherColour);
  const throughput = logScale(
    shown.map((record) => record.throughput_per_s ?? 0),
    panelWidthPx,
  );
  const latency = logScale(
    shown.map((record) => record.p99_ms ?? 0),
    panelWidthPx,
  );
  const throughputLeft = labelWidthPx;
  const latencyLeft = labelWidthPx + panelWidthPx + panelGapPx;
  const parts: string[] = [];
  let y = topPx;
  let workload: string | null = null;
  for (const record of shown) {
    if (record.workload !== workload) {
      workload = record.workload;
      y += 6;
      parts.push(`<text x="8" y="${y + 13}" font-weight="bold">${escapeXml(record.workload)}</text>`);
      y += headingHeightPx;
    }
    const wrong = record.correct === false;
    const colour = wrong ? wrongColour : colourOf(record.system);
    const label = `${record.system}${record.durable ? '' : ' (not durable)'}`;
    parts.push(`<text x="20" y="${y + 12}">${escapeXml(label)}</text>`);
    if (record.missing) {
      parts.push(
        `<text x="${throughputLeft + 4}" y="${y + 12}" fill="#888" font-style="italic">missing (see notes)</text>`,
      );
    } else {
      const suffix = wrong ? ' WRONG' : '';
      if (record.throughput_per_s !== null) {
        const width = Math.max(1, throughput.at(record.throughput_per_s));
        parts.push(
          `<rect x="${throughputLeft}" y="${y + 2}" width="${width.toFixed(1)}" height="${rowHeightPx - 4}" fill="${colour}"/>`,
          `<text x="${(throughputLeft + width + 4).toFixed(1)}" y="${y + 12}" fill="${wrong ? wrongColour : '#222'}">${shortNumber(record.throughput_per_s)}${suffix}</text>`,
        );
      }
      if (record.p99_ms !== null) {
        const width = Math.max(1, latency.at(record.p99_ms));
        parts.push(
          `<rect x="${latencyLeft}" y="${y + 2}" width="${width.toFixed(1)}" height="${rowHeightPx - 4}" fill="${colour}" fill-opacity="0.6"/>`,
          `<text x="${(latencyLeft + width + 4).toFixed(1)}" y="${y + 12}">${shortNumber(record.p99_ms)} ms</text>`,
        );
      }
    }
    y += rowHeightPx;
  }
  const bottom = y + 8;
  const axis = (left: number, scale: { at(value: number): number; ticks: number[] }, unit: string) =>
    scale.ticks
      .map((tick) => {
        const x = (left + scale.at(tick)).toFixed(1);
        return (
          `<line x1="${x}" y1="${topPx - 4}" x2="${x}" y2="${bottom}" stroke="#ddd"/>` +
          `<text x="${x}" y="${topPx - 8}" text-anchor="middle" fill="#666">${shortNumber(tick)}${unit}</text>`
        );
      })
      .join('');
  const width = latencyLeft + panelWidthPx + 60;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${bottom + 10}" viewBox="0 0 ${width} ${bottom + 10}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${throughputLeft}" y="34" font-weight="bold">throughput per second (log scale)</text>`,
    `<text x="${latencyLeft}" y="34" font-weight="bold">p99 latency, ms (log scale)</text>`,
    axis(throughputLeft, throughput, ''),
    axis(latencyLeft, latency, ''),
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
