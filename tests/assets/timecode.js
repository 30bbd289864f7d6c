"use strict";
// Helpers for the simulator's frame timecode (see tests/browser_harness.py: paint_timecode) and for sample
// statistics, on window.streamTimecode. All pure (tests call them directly) but bandReader, which reads a <video>.
(() => {
  const BITS = 32;
  const MODULUS = 2 ** 32;
  const HALF = 2 ** 31;

  // Rows of the band at the top of the frame that carries the 32 cells.
  function bandHeight(frameHeight) {
    return Math.max(16, Math.floor(frameHeight / 24));
  }

  // x of the centre pixel of each cell; cell i spans [floor(i*W/32), floor((i+1)*W/32)).
  function cellCentres(frameWidth) {
    const centres = [];
    for (let i = 0; i < BITS; i++) {
      const start = Math.floor((i * frameWidth) / BITS);
      const end = Math.floor(((i + 1) * frameWidth) / BITS);
      centres.push(start + Math.floor((end - start) / 2));
    }
    return centres;
  }

  // Decodes one RGBA row (ImageData.data of the band's middle row): bright cell = 1, MSB first.
  function decodeRow(rgba, frameWidth) {
    let value = 0;
    for (const x of cellCentres(frameWidth)) {
      const green = rgba[x * 4 + 1];
      // Multiplication, not <<: bitwise operators are signed 32-bit in JS.
      value = value * 2 + (green >= 128 ? 1 : 0);
    }
    return value;
  }

  // Wrap-aware difference now - timecode in ms, signed (negative: the timecode is ahead of this clock).
  function latencyMs(nowMs, timecode) {
    const now32 = ((Math.floor(nowMs) % MODULUS) + MODULUS) % MODULUS;
    const diff = (((now32 - timecode) % MODULUS) + MODULUS) % MODULUS;
    return diff >= HALF ? diff - MODULUS : diff;
  }

  // Linear-interpolated percentile, fraction in [0, 1] (same rule as browser_harness.percentile).
  function percentile(values, fraction) {
    if (values.length === 0) {
      return null;
    }
    const sorted = [...values].sort((a, b) => a - b);
    const position = fraction * (sorted.length - 1);
    const low = Math.floor(position);
    const high = Math.min(low + 1, sorted.length - 1);
    return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
  }

  // A function that reads the timecode of the frame `video` shows now (null before it has a size), from the band's
  // middle row at the frame's intrinsic size.
  function bandReader(video) {
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return () => {
      const width = video.videoWidth;
      const height = video.videoHeight;
      if (width === 0 || height === 0) {
        return null;
      }
      const band = bandHeight(height);
      if (canvas.width !== width || canvas.height !== band) {
        canvas.width = width;
        canvas.height = band;
        context.imageSmoothingEnabled = false;
      }
      context.drawImage(video, 0, 0, width, band, 0, 0, width, band);
      return decodeRow(context.getImageData(0, Math.floor(band / 2), width, 1).data, width);
    };
  }

  window.streamTimecode = { BITS, bandHeight, bandReader, cellCentres, decodeRow, latencyMs, percentile };
})();
