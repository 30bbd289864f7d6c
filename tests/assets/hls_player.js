"use strict";
// Plays ?src= with hls.js and keeps everything the Python driver reads on window.player (PlayerState.from_js
// in tests/browser_harness.py maps snapshot() field by field).
(() => {
  const tc = window.streamTimecode;
  const params = new URLSearchParams(location.search);
  const src = params.get("src") ?? "";
  const llParam = params.get("ll");
  const hlsVersion = params.get("hls");
  const hlsScript = hlsVersion ? `vendor/hls-${hlsVersion}.min.js` : "vendor/hls.min.js";
  // What the frontend's ha-hls-player passes to hls.js (home-assistant-frontend 2026.10, read from its bundle);
  // lowLatencyMode is its _isLLHLSSupported(), true while at most two streams play.
  const frontendConfig = {
    backBufferLength: 60,
    fragLoadingTimeOut: 30000,
    manifestLoadingTimeOut: 30000,
    levelLoadingTimeOut: 30000,
    maxLiveSyncPlaybackRate: 2,
    lowLatencyMode: true,
  };
  const baseConfig = params.get("config") === "hlsjs" ? {} : frontendConfig;
  const decodeTimecode = params.get("tc") !== "0";
  const maxSamples = Math.max(1, Number(params.get("samples") ?? 600));
  const maxErrors = 200;
  // A decoded value this far from the clock is a frame without a timecode band, not a latency.
  const maxPlausibleLatencyMs = 10 * 60 * 1000;

  const video = document.getElementById("video");
  const readTimecode = tc.bandReader(video);

  function pushBounded(list, value, limit) {
    list.push(value);
    if (list.length > limit) {
      list.splice(0, list.length - limit);
    }
  }

  function finiteOrNull(value) {
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  const player = {
    src,
    hls: null,
    startedAt: performance.now(),
    startedAtWall: Date.now(),
    firstFrameAt: null,
    firstFrameAtWall: null,
    playbackStarted: false,
    waitingEvents: 0,
    bufferStalledErrors: 0,
    errors: [],
    errorCount: 0,
    fatal: false,
    framesPresented: 0,
    timecodes: [],
    latencySamples: [],
    timecodeRejects: 0,
    timecodeError: null,
    // Every media URL hls.js loaded (init, parts, segments), in order, and how many media requests did not load.
    mediaRequests: [],
    mediaRequestsDropped: 0,

    get currentTime() {
      return video.currentTime;
    },
    get ended() {
      return video.ended;
    },
    get duration() {
      return finiteOrNull(video.duration);
    },
    get stalls() {
      return this.waitingEvents + this.bufferStalledErrors;
    },
    get latency() {
      return this.hls ? finiteOrNull(this.hls.latency) : null;
    },
    get bufferAhead() {
      const ranges = video.buffered;
      for (let i = 0; i < ranges.length; i++) {
        if (ranges.start(i) <= video.currentTime && video.currentTime <= ranges.end(i)) {
          return ranges.end(i) - video.currentTime;
        }
      }
      return 0;
    },
    get framesDecoded() {
      return video.getVideoPlaybackQuality().totalVideoFrames;
    },
    get droppedFrames() {
      return video.getVideoPlaybackQuality().droppedVideoFrames;
    },
    // Loads of media the player already had: a URL fetched again, or a whole segment after one of its parts.
    repeatedMediaLoads() {
      const seen = new Set();
      const segmentsWithParts = new Set();
      let repeats = 0;
      for (const url of this.mediaRequests) {
        const match = /segment\/(\d+)(?:\.(\d+))?\.m4s/.exec(url);
        if (seen.has(url) || (match && match[2] === undefined && segmentsWithParts.has(match[1]))) {
          repeats += 1;
        }
        seen.add(url);
        if (match && match[2] !== undefined) {
          segmentsWithParts.add(match[1]);
        }
      }
      return repeats;
    },
    latencyMedian() {
      return tc.percentile(this.latencySamples, 0.5);
    },
    latencyP95() {
      return tc.percentile(this.latencySamples, 0.95);
    },
    clearSamples() {
      this.timecodes = [];
      this.latencySamples = [];
      this.timecodeRejects = 0;
    },
    recordError(type, details, fatal) {
      this.errorCount += 1;
      pushBounded(this.errors, { type: String(type), details: String(details), fatal: Boolean(fatal) }, maxErrors);
      if (fatal) {
        this.fatal = true;
      }
    },
    snapshot() {
      return {
        src: this.src,
        hlsVersion: typeof Hls === "undefined" ? "" : Hls.version,
        lowLatency: this.hls ? this.hls.config.lowLatencyMode : null,
        currentTime: this.currentTime,
        duration: this.duration,
        ended: this.ended,
        startedAt: this.startedAt,
        startedAtWall: this.startedAtWall,
        firstFrameAt: this.firstFrameAt,
        firstFrameAtWall: this.firstFrameAtWall,
        stalls: this.stalls,
        waitingEvents: this.waitingEvents,
        bufferStalledErrors: this.bufferStalledErrors,
        errors: this.errors,
        errorCount: this.errorCount,
        fatal: this.fatal,
        latency: this.latency,
        bufferAhead: this.bufferAhead,
        framesDecoded: this.framesDecoded,
        droppedFrames: this.droppedFrames,
        framesPresented: this.framesPresented,
        timecodes: this.timecodes,
        latencySamples: this.latencySamples,
        timecodeRejects: this.timecodeRejects,
        timecodeError: this.timecodeError,
        latencyMedian: this.latencyMedian(),
        latencyP95: this.latencyP95(),
        mediaRequests: this.mediaRequests.length,
        mediaRequestsDropped: this.mediaRequestsDropped,
        repeatedMediaLoads: this.repeatedMediaLoads(),
      };
    },
  };
  window.player = player;

  // Records the timecode of the frame shown now and its latency.
  function sampleTimecode(nowWall) {
    const timecode = readTimecode();
    if (timecode === null) {
      return;
    }
    pushBounded(player.timecodes, timecode, maxSamples);
    const latency = tc.latencyMs(nowWall, timecode);
    if (latency >= 0 && latency <= maxPlausibleLatencyMs) {
      pushBounded(player.latencySamples, latency, maxSamples);
    } else {
      player.timecodeRejects += 1;
    }
  }

  function onVideoFrame() {
    // Both clocks read at the callback, i.e. when the frame is handed to the compositor.
    const nowWall = Date.now();
    if (player.firstFrameAt === null) {
      player.firstFrameAt = performance.now();
      player.firstFrameAtWall = nowWall;
    }
    player.framesPresented += 1;
    if (decodeTimecode) {
      try {
        sampleTimecode(nowWall);
      } catch (error) {
        player.timecodeError = String(error);
      }
    }
    video.requestVideoFrameCallback(onVideoFrame);

  // Every media response hls.js received (its loader is XMLHttpRequest), in order, and the requests it gave up
  // (aborted or failed); only the part of the URL after the token, which is the same for every request of a run.
  // One listener per request object (a loader may reuse one), reading what that object was last opened for.
  const openRequest = XMLHttpRequest.prototype.open;
  const watched = new WeakSet();
  const onLoadEnd = (event) => {
    const request = event.target;
    const name = request.streamMediaName;
    request.streamMediaName = null;
    if (!name) {
      return;
    }
    if (request.status >= 200 && request.status < 300) {
      pushBounded(player.mediaRequests, name, 100000);
    } else {
      player.mediaRequestsDropped += 1;
    }
  };
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    const text = String(url);
    const media = /\/(segment\/|init\.mp4)/.test(text);
    this.streamMediaName = media ? text.replace(/^.*\/api\/hls\/[0-9a-f]+\//, "") : null;
    if (media && !watched.has(this)) {
      watched.add(this);
      this.addEventListener("loadend", onLoadEnd);
    }
    return openRequest.call(this, method, url, ...rest);
  };
  }
  video.requestVideoFrameCallback(onVideoFrame);

  video.addEventListener("playing", () => {
    player.playbackStarted = true;
  });
  video.addEventListener("waiting", () => {
    // Waiting for a seek to complete (hls.js seeks to its start position and jumps gaps) is not a stall.
    if (player.playbackStarted && !video.seeking) {
      player.waitingEvents += 1;
    }
  });
  video.addEventListener("error", () => {
    const error = video.error;
    player.recordError("mediaError", error ? `code ${error.code}: ${error.message}` : "unknown", true);
  });

  function start() {
    if (typeof Hls === "undefined") {
      player.recordError("setup", `hls.js did not load (tests/assets/${hlsScript} missing?)`, true);
      return;
    }
    if (!Hls.isSupported()) {
      player.recordError("setup", "hls.js reports MediaSource unsupported", true);
      return;
    }
    const config = { ...baseConfig };
    if (llParam !== null) {
      config.lowLatencyMode = llParam === "1";
    }
    if (typeof window.hlsDebugSink === "function") {
      // A harness that wants hls.js's own log (why it loads what it loads) installs this sink before the page loads.
      const sink = window.hlsDebugSink;
      config.debug = { log: sink, info: sink, warn: sink, error: sink, debug: () => {} };
    }
    const hls = new Hls(config);
    player.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) {
        player.bufferStalledErrors += 1;
      }
      player.recordError(data.type, data.details, data.fatal);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      // Only a refused autoplay is fatal; an interrupted play() (AbortError) is retried by the autoplay attribute.
      video.play().catch((error) => player.recordError("play", String(error), error.name === "NotAllowedError"));
    });
    hls.attachMedia(video);
    hls.loadSource(src);
  }

  const script = document.createElement("script");
  script.src = hlsScript;
  script.onload = start;
  script.onerror = start; // start() reports the missing hls.js
  document.head.appendChild(script);
})();
