// avatar4j live demo page: streams speech (the microphone, or an audio file played at its own pace)
// to the server over a WebSocket as 16-bit mono PCM and shows the frames the server sends back.
//
// Protocol (see LiveSocket.java): to the server, text {"type":"start","sampleRate":N} before the
// PCM, binary PCM16 LE mono chunks, text {"type":"endOfSpeech"} and {"type":"interrupt"}; from the
// server, text {"type":"ready",...} / {"type":"error",...}, and per frame a binary message: a 4-byte
// big-endian header length, a JSON header {index,width,height,speech:[start,end]|null}, a JPEG.
//
// URL parameters: autostart=mic starts the microphone as soon as the session is ready (kiosks and
// tests; a browser may require a click first); probe=x,y,w,h (fractions of the frame) records, for
// each frame shown, the mean brightness change inside that rectangle since the previous frame shown.
//
// What the page did is kept in window.avatar4jLive (state, shown frames, sent audio), bounded.

const params = new URLSearchParams(location.search);
const canvas = document.getElementById('face');
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const ui = {
  mic: document.getElementById('mic'), file: document.getElementById('file'),
  eos: document.getElementById('eos'), interrupt: document.getElementById('interrupt'),
  meter: document.querySelector('#meter > div'), status: document.getElementById('status'),
  error: document.getElementById('error'),
};
const CHUNK_SECONDS = 0.02; // PCM is sent in 20 ms chunks
const KEEP = 20000;         // records kept (shown frames, sent chunks): several minutes

const probe = parseProbe(params.get('probe'));
const live = {
  state: {socket: 'connecting', ready: null, closeCode: null, closeReason: null, error: null,
    captureRate: 0, pushedSamples: 0, framesReceived: 0, framesShown: 0, framesSkipped: 0, source: null},
  shown: [], // per frame shown: {index, speech, level (dBFS of the speech it shows), motion, luma, lagMs}
  sent: [],  // per chunk sent: {start, end (samples at captureRate), sumSq, t (performance.now() when sent)}
  probe,
};
window.avatar4jLive = live;

let ws;
let audio = null;  // {ctx, node}
let mic = null;    // {stream, source}
let file = null;   // AudioBufferSourceNode playing
let endAfterFlush = false;
let decoding = false;
let pending = null;
let previousProbe = null;

function parseProbe(s) {
  if (!s) {
    return null;
  }
  const v = s.split(',').map(Number);
  return v.length === 4 && v.every(x => x >= 0 && x <= 1) ? {x: v[0], y: v[1], w: v[2], h: v[3]} : null;
}

function keep(list, item) {
  list.push(item);
  if (list.length > KEEP + 1000) {
    list.splice(0, 1000);
  }
}

function showError(message) {
  live.state.error = message;
  ui.error.textContent = message;
}

function connect() {
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { live.state.socket = 'open'; };
  ws.onclose = e => {
    live.state.socket = 'closed';
    live.state.closeCode = e.code;
    live.state.closeReason = e.reason;
    stopMic(false);
    setEnabled(false);
    ui.status.textContent = 'disconnected' + (e.reason ? ': ' + e.reason : ' (code ' + e.code + ')')
        + ' — reload the page to start again';
  };
  ws.onmessage = e => {
    if (typeof e.data === 'string') {
      const m = JSON.parse(e.data);
      if (m.type === 'ready') {
        live.state.ready = m;
        setEnabled(true);
        if (params.get('autostart') === 'mic') {
          startMic().catch(err => showError('microphone: ' + err.message));
        }
      } else if (m.type === 'error') {
        showError(m.message);
      }
      return;
    }
    live.state.framesReceived++;
    const buf = e.data;
    const n = new DataView(buf).getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    const jpeg = new Blob([new Uint8Array(buf, 4 + n)], {type: 'image/jpeg'});
    if (decoding) {
      if (pending) {
        live.state.framesSkipped++; // the page is slower than the frame rate: show the newest
      }
      pending = {header, jpeg};
    } else {
      show(header, jpeg);
    }
  };
}

async function show(header, jpeg) {
  decoding = true;
  try {
    const bitmap = await createImageBitmap(jpeg);
    if (canvas.width !== header.width || canvas.height !== header.height) {
      canvas.width = header.width;
      canvas.height = header.height;
      previousProbe = null;
    }
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    record(header);
  } catch (err) {
    showError('cannot show a frame: ' + err.message);
  } finally {
    decoding = false;
  }
  if (pending) {
    const next = pending;
    pending = null;
    show(next.header, next.jpeg);
  }
}

// What the frame just drawn shows: its speech's level, the change in the probe rectangle, the delay.
function record(header) {
  live.state.framesShown++;
  const r = {index: header.index, speech: header.speech, level: null, motion: null, luma: null, lagMs: null};
  const ready = live.state.ready;
  if (header.speech && ready && live.state.captureRate) {
    const scale = live.state.captureRate / ready.sampleRate;
    const from = header.speech[0] * scale;
    const to = header.speech[1] * scale;
    r.level = levelDb(from, to);
    const i = chunkIndex(to - 1);
    const last = i >= 0 ? live.sent[i] : null;
    if (last) { // when the last sample this frame shows was captured, to now
      r.lagMs = Math.round(performance.now() - (last.t - (last.end - (to - 1)) * 1000 / live.state.captureRate));
    }
  }
  if (probe) {
    const x = Math.floor(probe.x * canvas.width);
    const y = Math.floor(probe.y * canvas.height);
    const w = Math.max(1, Math.floor(probe.w * canvas.width));
    const h = Math.max(1, Math.floor(probe.h * canvas.height));
    const px = ctx.getImageData(x, y, w, h).data;
    const luma = new Float32Array(w * h);
    let sum = 0;
    for (let i = 0; i < luma.length; i++) {
      luma[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
      sum += luma[i];
    }
    r.luma = sum / luma.length;
    if (previousProbe && previousProbe.length === luma.length) {
      let d = 0;
      for (let i = 0; i < luma.length; i++) {
        d += Math.abs(luma[i] - previousProbe[i]);
      }
      r.motion = d / luma.length;
    }
    previousProbe = luma;
  }
  keep(live.shown, r);
  updateStatus(r);
}

// The index of the sent chunk holding sample position p (at the capture rate), -1 if none: binary search.
function chunkIndex(p) {
  const s = live.sent;
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid].end <= p) {
      lo = mid + 1;
    } else if (s[mid].start > p) {
      hi = mid - 1;
    } else {
      return mid;
    }
  }
  return -1;
}

// The level in dBFS of the speech sent over [from, to) (positions at the capture rate), chunk-wise.
function levelDb(from, to) {
  let sumSq = 0;
  let n = 0;
  for (let i = chunkIndex(from); i >= 0 && i < live.sent.length; i++) {
    const k = live.sent[i];
    if (k.start >= to) {
      break;
    }
    sumSq += k.sumSq;
    n += k.end - k.start;
  }
  return n === 0 ? null : (sumSq === 0 ? -120 : Math.max(-120, 10 * Math.log10(sumSq / n)));
}

function updateStatus(r) {
  const st = live.state;
  if (st.framesShown % 5 !== 0) {
    return;
  }
  const lags = live.shown.slice(-50).map(x => x.lagMs).filter(x => x !== null).sort((a, b) => a - b);
  ui.status.textContent = (st.ready ? st.ready.model + ' · ' + st.ready.fps + ' fps' : '') + ' · frame ' + r.index
      + (r.speech ? ' · speaking' : ' · idle')
      + (lags.length ? '\nspeech captured → shown: ' + lags[lags.length >> 1] + ' ms (median of the last frames)' : '')
      + '\nframes shown ' + st.framesShown + ', skipped by this page ' + st.framesSkipped
      + (st.source ? '\nsending: ' + st.source : '');
}

async function ensureAudio() {
  if (!audio) {
    const ac = new AudioContext();
    await ac.audioWorklet.addModule('pcm-capture.js');
    const node = new AudioWorkletNode(ac, 'pcm16-capture', {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
      channelCount: 1, channelCountMode: 'explicit', channelInterpretation: 'speakers',
      processorOptions: {chunk: Math.round(ac.sampleRate * CHUNK_SECONDS)},
    });
    const silent = ac.createGain(); // keeps the worklet pulled by the graph without playing it
    silent.gain.value = 0;
    node.connect(silent).connect(ac.destination);
    node.port.onmessage = e => sent(e.data);
    audio = {ctx: ac, node};
    live.state.captureRate = ac.sampleRate;
    ws.send(JSON.stringify({type: 'start', sampleRate: ac.sampleRate}));
  }
  if (audio.ctx.state !== 'running') {
    await audio.ctx.resume();
  }
  return audio;
}

function sent(m) {
  const n = m.pcm.byteLength / 2;
  if (n > 0 && ws.readyState === WebSocket.OPEN) {
    ws.send(m.pcm);
    const start = live.state.pushedSamples;
    live.state.pushedSamples += n;
    keep(live.sent, {start, end: start + n, sumSq: m.sumSq, t: performance.now()});
    const db = m.sumSq > 0 ? 10 * Math.log10(m.sumSq / n) : -120;
    ui.meter.style.width = Math.max(0, Math.min(100, (db + 60) * 100 / 60)) + '%';
  }
  if (m.flushed && endAfterFlush) {
    endAfterFlush = false;
    endOfSpeech();
  }
}

// The end of an utterance: the worklet's partial chunk first, then endOfSpeech.
function finishUtterance() {
  if (audio) {
    endAfterFlush = true;
    audio.node.port.postMessage({flush: true});
  } else {
    endOfSpeech();
  }
}

function endOfSpeech() {
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({type: 'endOfSpeech'}));
  }
}

async function startMic() {
  const a = await ensureAudio();
  stopFile();
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false},
  });
  const source = a.ctx.createMediaStreamSource(stream);
  source.connect(a.node);
  mic = {stream, source};
  live.state.source = 'microphone';
  ui.mic.classList.add('on');
  ui.mic.textContent = 'Stop talking';
}

function stopMic(finish = true) {
  if (!mic) {
    return;
  }
  mic.source.disconnect();
  mic.stream.getTracks().forEach(t => t.stop());
  mic = null;
  live.state.source = null;
  ui.mic.classList.remove('on');
  ui.mic.textContent = 'Talk (microphone)';
  if (finish) {
    finishUtterance();
  }
}

async function playFile(f) {
  const a = await ensureAudio();
  stopMic();
  stopFile();
  const buffer = await a.ctx.decodeAudioData(await f.arrayBuffer());
  const src = a.ctx.createBufferSource();
  src.buffer = buffer;
  src.connect(a.node); // to the server
  // and to the speakers, delayed by about the time the avatar takes to show it
  const lags = live.shown.slice(-50).map(x => x.lagMs).filter(x => x !== null).sort((x, y) => x - y);
  const delay = a.ctx.createDelay(2);
  delay.delayTime.value = Math.min(1.5, (lags.length ? lags[lags.length >> 1] : 120) / 1000);
  src.connect(delay).connect(a.ctx.destination);
  src.onended = () => {
    if (file === src) {
      file = null;
      live.state.source = null;
      finishUtterance();
    }
  };
  file = src;
  live.state.source = 'file ' + f.name;
  src.start();
}

function stopFile() {
  if (file) {
    const f = file;
    file = null;
    f.stop();
    f.disconnect();
    live.state.source = null;
  }
}

function setEnabled(on) {
  for (const b of [ui.mic, ui.file, ui.eos, ui.interrupt]) {
    b.disabled = !on;
  }
  document.getElementById('fileLabel').classList.toggle('disabled', !on);
}

ui.mic.onclick = () => {
  if (mic) {
    stopMic();
  } else {
    startMic().catch(err => showError('microphone: ' + err.message));
  }
};
ui.file.onchange = () => {
  if (ui.file.files.length) {
    playFile(ui.file.files[0]).catch(err => showError('cannot play ' + ui.file.files[0].name + ': ' + err.message));
    ui.file.value = '';
  }
};
ui.eos.onclick = () => finishUtterance();
ui.interrupt.onclick = () => {
  stopFile();
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({type: 'interrupt'}));
  }
};

connect();
