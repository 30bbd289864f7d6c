"use strict";
// A WebRTC viewer signalled through Home Assistant's websocket API, following its frontend's ha-web-rtc-player:
// camera/webrtc/get_client_config for the RTCPeerConnection's configuration, recvonly audio then video transceivers,
// camera/webrtc/offer (a subscription: result, then session / answer / candidate / error events), local candidates
// trickled with camera/webrtc/candidate (held back until the session id is known). Unlike the frontend, it also
// sends end-of-candidates ({candidate: ""}) when gathering completes.
//
// window.webrtcPlayer.start({wsUrl, accessToken, entityId}) runs it; snapshot() returns the signalling state, the
// glass-to-glass latency of the frames shown (from the simulator's timecode band) and stats() a digest of getStats()
// (inbound video/audio, codecs, the selected candidate pair).
(() => {
  const tc = window.streamTimecode;
  const video = document.getElementById("video");
  const readTimecode = tc.bandReader(video);
  const maxErrors = 50;
  const maxLatencySamples = 3000;
  const maxPlausibleLatencyMs = 60 * 1000; // further off: a frame without a timecode band

  const player = {
    started: false,
    authenticated: false,
    clientConfiguration: null,
    sessionId: null,
    offerSdp: null,
    answerSdp: null,
    offerSentAt: null,
    answerAt: null,
    errors: [],
    localCandidates: [],
    candidatesSent: 0,
    endOfCandidatesSent: false,
    remoteCandidates: 0,
    trackKinds: [],
    connectionStates: [],
    framesPresented: 0,
    firstFrameAt: null,
    latencySamples: [], // [ms since the first frame, glass-to-glass latency in ms], per frame shown
    timecodeError: null,
    pc: null,
    ws: null,
  };

  function addError(message) {
    if (player.errors.length < maxErrors) {
      player.errors.push(String(message));
    }
  }

  // --- websocket --------------------------------------------------------------------------------------------------

  let nextId = 1;
  const handlers = new Map(); // message id -> callback(message)

  function sendMessage(message) {
    const id = nextId++;
    player.ws.send(JSON.stringify({ id, ...message }));
    return id;
  }

  function callWS(message) {
    return new Promise((resolve, reject) => {
      const id = sendMessage(message);
      handlers.set(id, (reply) => {
        handlers.delete(id);
        if (reply.type === "result" && reply.success) {
          resolve(reply.result);
        } else {
          reject(new Error(`${message.type}: ${JSON.stringify(reply.error ?? reply)}`));
        }
      });
    });
  }

  function connect(wsUrl, accessToken) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      player.ws = ws;
      ws.onerror = () => reject(new Error(`websocket error on ${wsUrl}`));
      ws.onclose = (event) => {
        if (!player.authenticated) {
          reject(new Error(`websocket closed before auth (${event.code})`));
        }
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "auth_required") {
          ws.send(JSON.stringify({ type: "auth", access_token: accessToken }));
        } else if (message.type === "auth_ok") {
          player.authenticated = true;
          resolve();
        } else if (message.type === "auth_invalid") {
          reject(new Error(`auth_invalid: ${message.message}`));
        } else {
          handlers.get(message.id)?.(message);
        }
      };
    });
  }

  // --- WebRTC -----------------------------------------------------------------------------------------------------

  const heldCandidates = []; // local candidates gathered before the session id arrived (null: end-of-candidates)

  function sendCandidate(entityId, candidate) {
    const init = candidate === null ? { candidate: "", sdpMLineIndex: 0 } : candidate.toJSON();
    if (candidate === null) {
      player.endOfCandidatesSent = true;
    } else {
      player.candidatesSent += 1;
    }
    callWS({ type: "camera/webrtc/candidate", entity_id: entityId, session_id: player.sessionId, candidate: init }).catch(
      addError,
    );
  }

  async function onOfferEvent(entityId, event) {
    if (event.type === "session") {
      player.sessionId = event.session_id;
      for (const candidate of heldCandidates.splice(0)) {
        sendCandidate(entityId, candidate);
      }
    } else if (event.type === "answer") {
      player.answerAt = performance.now();
      player.answerSdp = event.answer;
      try {
        await player.pc.setRemoteDescription({ type: "answer", sdp: event.answer });
      } catch (err) {
        addError(`setRemoteDescription: ${err}`);
      }
    } else if (event.type === "candidate") {
      player.remoteCandidates += 1;
      try {
        const init = event.candidate.sdpMid || event.candidate.sdpMLineIndex != null ? event.candidate : { candidate: event.candidate.candidate, sdpMid: "0" };
        await player.pc.addIceCandidate(init);
      } catch (err) {
        addError(`addIceCandidate: ${err}`);
      }
    } else if (event.type === "error") {
      addError(`${event.code}: ${event.message}`);
    }
  }

  function countFrames() {
    const onFrame = () => {
      // Both clocks read at the callback, i.e. when the frame is handed to the compositor.
      const nowWall = Date.now();
      const now = performance.now();
      player.framesPresented += 1;
      if (player.firstFrameAt === null) {
        player.firstFrameAt = now;
      }
      try {
        const timecode = readTimecode();
        const latency = timecode === null ? null : tc.latencyMs(nowWall, timecode);
        if (latency !== null && latency >= 0 && latency <= maxPlausibleLatencyMs) {
          if (player.latencySamples.length < maxLatencySamples) {
            player.latencySamples.push([now - player.firstFrameAt, latency]);
          }
        }
      } catch (error) {
        player.timecodeError = String(error);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  async function start({ wsUrl, accessToken, entityId }) {
    player.started = true;
    await connect(wsUrl, accessToken);
    player.clientConfiguration = await callWS({ type: "camera/webrtc/get_client_config", entity_id: entityId });
    const pc = new RTCPeerConnection(player.clientConfiguration.configuration);
    player.pc = pc;
    const remoteStream = new MediaStream();
    pc.ontrack = (event) => {
      player.trackKinds.push(event.track.kind);
      remoteStream.addTrack(event.track);
      video.srcObject = remoteStream;
    };
    pc.onconnectionstatechange = () => player.connectionStates.push(pc.connectionState);
    pc.onicecandidate = (event) => {
      const candidate = event.candidate?.candidate ? event.candidate : null;
      if (candidate !== null) {
        player.localCandidates.push(candidate.candidate);
      } else if (event.candidate) {
        return; // an empty candidate string: Chromium's own end marker, the null event below ends gathering
      }
      if (player.sessionId === null) {
        heldCandidates.push(candidate);
      } else {
        sendCandidate(entityId, candidate);
      }
    };
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    countFrames();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    player.offerSdp = offer.sdp;
    player.offerSentAt = performance.now();
    const offerId = sendMessage({ type: "camera/webrtc/offer", entity_id: entityId, offer: offer.sdp });
    handlers.set(offerId, (message) => {
      if (message.type === "result") {
        if (!message.success) {
          addError(`camera/webrtc/offer: ${JSON.stringify(message.error)}`);
        }
      } else if (message.type === "event") {
        onOfferEvent(entityId, message.event).catch(addError);
      }
    });
  }

  function snapshot() {
    return {
      started: player.started,
      authenticated: player.authenticated,
      clientConfiguration: player.clientConfiguration,
      sessionId: player.sessionId,
      offerSdp: player.offerSdp,
      answerSdp: player.answerSdp,
      offerSentAt: player.offerSentAt,
      answerAt: player.answerAt,
      errors: player.errors,
      localCandidates: player.localCandidates,
      candidatesSent: player.candidatesSent,
      endOfCandidatesSent: player.endOfCandidatesSent,
      remoteCandidates: player.remoteCandidates,
      trackKinds: player.trackKinds,
      connectionState: player.pc?.connectionState ?? null,
      connectionStates: player.connectionStates,
      framesPresented: player.framesPresented,
      firstFrameAt: player.firstFrameAt,
      latencySamples: player.latencySamples,
      timecodeError: player.timecodeError,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
    };
  }

  function candidateDigest(candidate) {
    return candidate
      ? { type: candidate.candidateType, address: candidate.address, port: candidate.port, protocol: candidate.protocol }
      : null;
  }

  async function stats() {
    const result = { video: null, audio: null, pair: null, framesPresented: player.framesPresented };
    if (player.pc === null) {
      return result;
    }
    const report = await player.pc.getStats();
    const byId = new Map();
    report.forEach((entry) => byId.set(entry.id, entry));
    report.forEach((entry) => {
      if (entry.type === "inbound-rtp") {
        const codec = byId.get(entry.codecId);
        result[entry.kind] = {
          packetsReceived: entry.packetsReceived ?? 0,
          framesDecoded: entry.framesDecoded ?? 0,
          frameWidth: entry.frameWidth ?? 0,
          frameHeight: entry.frameHeight ?? 0,
          totalSamplesReceived: entry.totalSamplesReceived ?? 0,
          decoderImplementation: entry.decoderImplementation ?? null,
          mimeType: codec?.mimeType ?? null,
          sdpFmtpLine: codec?.sdpFmtpLine ?? null,
          payloadType: codec?.payloadType ?? null,
        };
      } else if (entry.type === "transport" && entry.selectedCandidatePairId) {
        const pair = byId.get(entry.selectedCandidatePairId);
        result.pair = {
          state: pair?.state ?? null,
          local: candidateDigest(byId.get(pair?.localCandidateId)),
          remote: candidateDigest(byId.get(pair?.remoteCandidateId)),
        };
      }
    });
    return result;
  }

  window.webrtcPlayer = { start, snapshot, stats };
})();
