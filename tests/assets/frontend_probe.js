"use strict";
// Watches the camera player of Home Assistant's own frontend from outside, on window.frontendProbe (needs
// timecode.js). Installed as an init script before the frontend loads: `frontendProbe.watch(hostTag)` follows the
// first <ha-camera-stream> inside an element `hostTag` (a card, the more-info dialog), through the shadow DOM.
//
// ha-camera-stream renders ha-web-rtc-player, ha-hls-player (the one not shown has class "hidden") or an MJPEG <img>.
// For each frame the shown player presents, the probe reads the simulator's timecode from the frame (video frames:
// requestVideoFrameCallback; the <img>: drawn into a canvas every 40 ms) and records one sample; it also records
// every ha-alert visible in the stream's players.
(() => {
  const PLAYERS = { "HA-WEB-RTC-PLAYER": "webrtc", "HA-HLS-PLAYER": "hls", IMG: "mjpeg" };
  const IMG_INTERVAL_MS = 40;
  const TICK_MS = 20;
  // A timecode this far from the page's clock is not a timecode (a poster, a frame without the band).
  const PLAUSIBLE_MS = [-2000, 120000];

  const state = {
    host: null,
    stream: null,
    shown: null, // "webrtc" | "hls" | "mjpeg" | null
    transitions: [], // {at, player}
    samples: [], // {at, wall, timecode, latency, player}
    rejects: 0,
    alerts: [], // {at, player, text}
  };
  const readers = new WeakMap();
  const watchedVideos = new WeakSet();
  let lastImgRead = 0;

  function* deepElements(root) {
    for (const element of root.querySelectorAll("*")) {
      yield element;
      if (element.shadowRoot) {
        yield* deepElements(element.shadowRoot);
      }
    }
  }

  function hasAncestor(element, tagName) {
    let node = element;
    while (node) {
      if (node.tagName === tagName) {
        return true;
      }
      node = node.parentNode || node.host;
    }
    return false;
  }

  function findStream() {
    if (state.stream && state.stream.isConnected) {
      return state.stream;
    }
    for (const element of deepElements(document)) {
      if (element.tagName === "HA-CAMERA-STREAM" && hasAncestor(element, state.host)) {
        state.stream = element;
        return element;
      }
    }
    state.stream = null;
    return null;
  }

  function shownPlayer(stream) {
    if (!stream.shadowRoot) {
      return null;
    }
    for (const element of stream.shadowRoot.children) {
      if (element.tagName in PLAYERS && !element.classList.contains("hidden")) {
        return element;
      }
    }
    return null;
  }

  function imgReader(img) {
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const timecode = window.streamTimecode;
    return () => {
      const width = img.naturalWidth;
      const height = img.naturalHeight;
      if (!img.complete || width === 0 || height === 0) {
        return null;
      }
      const band = timecode.bandHeight(height);
      canvas.width = width;
      canvas.height = band;
      context.imageSmoothingEnabled = false;
      context.drawImage(img, 0, 0, width, band, 0, 0, width, band);
      return timecode.decodeRow(context.getImageData(0, Math.floor(band / 2), width, 1).data, width);
    };
  }

  function record(player, value) {
    if (value === null) {
      return;
    }
    const wall = Date.now();
    const latency = window.streamTimecode.latencyMs(wall, value);
    if (latency < PLAUSIBLE_MS[0] || latency > PLAUSIBLE_MS[1]) {
      state.rejects += 1;
      return;
    }
    const last = state.samples[state.samples.length - 1];
    if (last && last.player === player && last.timecode === value) {
      return; // the same frame again
    }
    state.samples.push({ at: performance.now(), wall, timecode: value, latency, player });
  }

  function watchVideo(video, player) {
    if (watchedVideos.has(video)) {
      return;
    }
    watchedVideos.add(video);
    readers.set(video, window.streamTimecode.bandReader(video));
    const onFrame = () => {
      if (!video.isConnected) {
        return;
      }
      if (state.shown === player && currentMedia() === video) {
        record(player, readers.get(video)());
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  function currentMedia() {
    const stream = state.stream;
    const element = stream && shownPlayer(stream);
    if (!element) {
      return null;
    }
    if (element.tagName === "IMG") {
      return element;
    }
    return element.shadowRoot ? element.shadowRoot.querySelector("video") : null;
  }

  function visibleAlerts(stream) {
    const texts = [];
    for (const element of stream.shadowRoot ? stream.shadowRoot.children : []) {
      if (element.classList.contains("hidden") || !element.shadowRoot) {
        continue;
      }
      for (const alert of deepElements(element.shadowRoot)) {
        if (alert.tagName === "HA-ALERT") {
          texts.push(`${PLAYERS[element.tagName] || element.tagName}: ${alert.textContent.trim()}`);
        }
      }
    }
    return texts;
  }

  function tick() {
    const stream = findStream();
    if (!stream) {
      return;
    }
    const element = shownPlayer(stream);
    const player = element ? PLAYERS[element.tagName] : null;
    if (player !== state.shown) {
      state.shown = player;
      state.transitions.push({ at: performance.now(), player });
    }
    for (const text of visibleAlerts(stream)) {
      const last = state.alerts[state.alerts.length - 1];
      if (!last || last.text !== text) {
        state.alerts.push({ at: performance.now(), text });
      }
    }
    const media = currentMedia();
    if (!media) {
      return;
    }
    if (media.tagName === "VIDEO") {
      watchVideo(media, player);
    } else if (performance.now() - lastImgRead >= IMG_INTERVAL_MS) {
      lastImgRead = performance.now();
      if (!readers.has(media)) {
        readers.set(media, imgReader(media));
      }
      record(player, readers.get(media)());
    }
  }

  function samplesOf(player) {
    return state.samples.filter((sample) => sample.player === player);
  }

  // Wrap-aware signed difference of two timecodes in ms (negative: `later` is before `earlier`).
  function timecodeDiff(later, earlier) {
    const modulus = 2 ** window.streamTimecode.BITS;
    const diff = (((later - earlier) % modulus) + modulus) % modulus;
    return diff >= modulus / 2 ? diff - modulus : diff;
  }

  // Camera time covered by `player`'s samples: how far past its first frame's timecode its frames went (ms).
  function spanOf(player) {
    const samples = samplesOf(player);
    let span = 0;
    for (const sample of samples) {
      span = Math.max(span, timecodeDiff(sample.timecode, samples[0].timecode));
    }
    return span;
  }

  function summary() {
    const latencies = (player) => samplesOf(player).map((sample) => sample.latency);
    const percentile = window.streamTimecode.percentile;
    const byPlayer = {};
    for (const player of new Set(state.samples.map((sample) => sample.player))) {
      const samples = samplesOf(player);
      byPlayer[player] = {
        frames: samples.length,
        firstFrameAt: samples[0].at,
        spanMs: spanOf(player),
        latencyMedianMs: percentile(latencies(player), 0.5),
        latencyP95Ms: percentile(latencies(player), 0.95),
        backwards: samples.filter((sample, i) => i > 0 && timecodeDiff(sample.timecode, samples[i - 1].timecode) < 0)
          .length,
      };
    }
    return {
      found: state.stream !== null,
      shown: state.shown,
      transitions: state.transitions,
      firstFrameAt: state.samples.length ? state.samples[0].at : null,
      byPlayer,
      rejects: state.rejects,
      alerts: state.alerts,
    };
  }

  window.frontendProbe = {
    watch(hostTag) {
      state.host = hostTag.toUpperCase();
      setInterval(tick, TICK_MS);
    },
    spanOf,
    summary,
  };
})();
