// The live dashboard's script: no build step, no dependencies. It reads GET /v1/dashboard/stream with
// fetch (so it can send an API key, which EventSource cannot), keeps per-location counts from the
// ticks (all locations in the first, then only those that changed) and draws the heatmap on a canvas:
// one cell per location, coloured by its worst status, so 10,000 locations are one image, not 10,000
// elements. The SKU search uses the ordinary API (availability, stock, history).

const colours = {
  inStock: '#2e9e5b',
  lowStock: '#d6a526',
  outOfStock: '#5b6672',
  oversold: '#e0533d',
  negative: '#b03ab8',
};
const historyPerLocation = 5;
const locationsSearchedMax = 50;
const chartPoints = 60;

const $ = (id) => document.getElementById(id);
const state = { names: [], counts: [], statuses: [], throughput: [], latency: [] };
let key = localStorage.getItem('stockledger-key') ?? '';
let controller = null;

function headers() {
  return key === '' ? {} : { authorization: `Bearer ${key}` };
}

function text(value) {
  return value === null || value === undefined ? '–' : String(value);
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = text(cell);
    tr.append(td);
  }
  return tr;
}

function setConnection(label, kind) {
  const element = $('connection');
  element.textContent = label;
  element.className = `connection ${kind}`;
}

async function connect() {
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  state.names = [];
  state.counts = [];
  try {
    const response = await fetch('/v1/dashboard/stream', { headers: headers(), signal });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      setConnection(`${response.status} ${body.error?.code ?? ''}: ${body.error?.message ?? ''}`, 'error');
      if (response.status !== 401 && response.status !== 403) setTimeout(connect, 5_000);
      return;
    }
    setConnection('live', 'live');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data !== '') onTick(JSON.parse(data));
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    setConnection(`disconnected: ${error.message}`, 'error');
  }
  if (!signal.aborted) setTimeout(connect, 1_000);
}

function onTick(tick) {
  state.statuses = tick.statuses;
  for (const name of tick.newLocations) {
    state.names.push(name);
    state.counts.push(new Array(tick.statuses.length).fill(0));
  }
  for (const [index, ...counts] of tick.changedLocations) state.counts[index] = counts;
  $('throughput').textContent = tick.throughput.toLocaleString('en');
  $('commit-p50').textContent = tick.commitMsP50 === null ? '–' : tick.commitMsP50.toFixed(1);
  $('commit-p99').textContent = tick.commitMsP99 === null ? '–' : tick.commitMsP99.toFixed(1);
  $('commands-total').textContent = tick.commandsTotal.toLocaleString('en');
  $('mailbox-depth').textContent = tick.mailboxDepth.toLocaleString('en');
  $('holds-expiring').textContent = tick.holdsExpiring.toLocaleString('en');
  push(state.throughput, tick.throughput);
  push(state.latency, tick.commitMsP99 ?? 0);
  spark($('throughput-chart'), state.throughput, '#6cb6ff');
  spark($('latency-chart'), state.latency, '#d6a526');
  drawHeatmap(tick);
  $('lag-rows').replaceChildren(
    ...tick.worstLag.map((lag) => row([lag.source, lag.store, seconds(lag.lagSeconds)])),
  );
  $('dead-letter-rows').replaceChildren(
    ...tick.deadLetters.map((letter) => {
      const link = document.createElement('a');
      link.href = `/v1/dead-letters?status=open&adapter=${encodeURIComponent(letter.adapter)}&reason=${encodeURIComponent(letter.reason)}`;
      link.textContent = letter.reason;
      return row([letter.adapter, link, letter.count]);
    }),
  );
  const nowMs = Date.parse(tick.at);
  $('hold-rows').replaceChildren(
    ...tick.holdsSoonest.map((hold) =>
      row([
        hold.reservationId,
        hold.location,
        hold.sku,
        seconds(Math.max(0, (Date.parse(hold.expiresAt) - nowMs) / 1_000)),
      ]),
    ),
  );
}

function seconds(value) {
  if (value < 120) return `${value.toFixed(1)} s`;
  if (value < 7_200) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3_600).toFixed(1)} h`;
}

function push(series, value) {
  series.push(value);
  if (series.length > chartPoints) series.shift();
}

function spark(canvas, series, colour) {
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const top = Math.max(1, ...series);
  context.strokeStyle = colour;
  context.beginPath();
  series.forEach((value, at) => {
    const x = (at / (chartPoints - 1)) * width;
    const y = height - 2 - (value / top) * (height - 4);
    if (at === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  });
  context.stroke();
}

/** The status a location is drawn in: the worst one any of its SKU-locations is in. */
function worstOf(counts) {
  for (let status = counts.length - 1; status >= 0; status--) if (counts[status] > 0) return status;
  return -1;
}

let layout = { columns: 1, cell: 8 };
function drawHeatmap(tick) {
  const canvas = $('heatmap');
  const count = state.names.length;
  const width = canvas.width;
  const cell = count <= 400 ? 24 : count <= 2_500 ? 12 : count <= 10_000 ? 6 : 3;
  const columns = Math.max(1, Math.floor(width / cell));
  const rows = Math.max(1, Math.ceil(count / columns));
  if (canvas.height !== rows * cell) canvas.height = rows * cell;
  layout = { columns, cell };
  const context = canvas.getContext('2d');
  context.fillStyle = '#0b1015';
  context.fillRect(0, 0, canvas.width, canvas.height);
  for (let index = 0; index < count; index++) {
    const worst = worstOf(state.counts[index]);
    context.fillStyle = worst < 0 ? '#0b1015' : colours[state.statuses[worst]];
    context.fillRect((index % columns) * cell, Math.floor(index / columns) * cell, cell - 1, cell - 1);
  }
  $('heatmap-caption').textContent =
    `${count.toLocaleString('en')} locations${tick.statusReady ? '' : ' (still counting)'}`;
  $('legend').replaceChildren(
    ...tick.statuses.map((status, at) => {
      const span = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = colours[status];
      span.append(swatch, `${status} ${tick.totals[at].toLocaleString('en')}`);
      return span;
    }),
  );
}

$('heatmap').addEventListener('mousemove', (event) => {
  const canvas = event.currentTarget;
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  const x = Math.floor((event.offsetX * scale) / layout.cell);
  const y = Math.floor((event.offsetY * scale) / layout.cell);
  const index = y * layout.columns + x;
  const name = state.names[index];
  if (name === undefined || x >= layout.columns) return;
  const counts = state.counts[index];
  $('heatmap-hover').textContent =
    `${name}: ${state.statuses.map((status, at) => `${status} ${counts[at]}`).join(', ')}`;
});

async function api(path) {
  const response = await fetch(path, { headers: headers() });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status} ${body.error?.code}: ${body.error?.message}`);
  return body;
}

async function searchSku(sku) {
  $('sku-message').textContent = 'searching…';
  try {
    const availability = await api(`/v1/availability/${encodeURIComponent(sku)}`);
    const locations = availability.locations.slice(0, locationsSearchedMax).map((entry) => entry.location);
    const positions = await Promise.all(
      locations.map((location) =>
        api(`/v1/stock/${encodeURIComponent(location)}/${encodeURIComponent(sku)}`),
      ),
    );
    $('sku-rows').replaceChildren(
      ...positions.map((p) => {
        const tr = row([
          p.location,
          p.onHand,
          p.reserved,
          p.availableToSell,
          p.inTransit,
          p.quarantine,
          p.status,
          p.integrity,
        ]);
        tr.dataset.location = p.location;
        tr.children[1].className = 'on-hand';
        if (p.integrity !== 'consistent') tr.children[7].className = 'bad';
        return tr;
      }),
    );
    $('sku-table').hidden = positions.length === 0;
    $('sku-message').textContent =
      positions.length === 0
        ? `${sku}: no position anywhere`
        : `${sku}: ${availability.locations.length} locations, ${availability.total} available in total`;
    const histories = await Promise.all(
      locations
        .slice(0, 10)
        .map((location) =>
          api(
            `/v1/stock/${encodeURIComponent(location)}/${encodeURIComponent(sku)}/history?limit=${historyPerLocation}`,
          ).then((page) => page.entries.map((entry) => ({ ...entry, location }))),
        ),
    );
    const entries = histories
      .flat()
      .sort((a, b) => b.at.localeCompare(a.at))
      .slice(0, 20);
    $('history-rows').replaceChildren(
      ...entries.map((entry) =>
        row([
          entry.at.slice(11, 23),
          entry.location,
          entry.type,
          entry.deltas?.onHand ?? 0,
          entry.deltas?.reserved ?? 0,
          entry.commandId,
          entry.source,
        ]),
      ),
    );
    $('history-title').hidden = entries.length === 0;
    $('history-table').hidden = entries.length === 0;
  } catch (error) {
    $('sku-message').textContent = error.message;
  }
}

$('sku-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void searchSku($('sku-input').value.trim());
});
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  key = $('key-input').value.trim();
  localStorage.setItem('stockledger-key', key);
  void connect();
});
$('key-input').value = key;
void connect();
