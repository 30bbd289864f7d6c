"""A WebRTC receiver nobody on the project wrote: GStreamer's webrtcbin (libnice ICE, its own DTLS/SRTP, RTP jitter
buffer with NACK/RTX), depayloading H.265 with rtph265depay and decoding it with avdec_h265.

Runs as its own process (`python -m tests.webrtcbin_client ADDRESS [audio]`; with `audio` it also receives Opus,
decoded with opusdec), driven with JSON lines:
- it prints `{"offer": sdp}` once ICE gathering is complete (its candidates in the SDP, on ADDRESS only);
- it reads `{"answer": sdp}` and adds the answer's candidates itself (webrtcbin does not take them from the SDP);
- it prints `{"stats": {...}}` for every decoded frame and for each `{"stats": true}` it reads: decoded frames,
  their size, first and last arrival, warnings and errors from any element, RTP packets received;
- it exits on `{"stop": true}` or end of input.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

AUDIO_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"
VIDEO_CAPS = (
    "application/x-rtp,media=video,encoding-name=H265,payload=96,clock-rate=90000,"
    "rtcp-fb-nack=(boolean)true,rtcp-fb-nack-pli=(boolean)true"
)


_OUTPUT_LOCK = threading.Lock()  # GStreamer's streaming thread and the main loop both write
# The messages go out on the original stdout; anything libraries print there (GLib's debug log) goes to stderr.
_OUTPUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)


def _emit(message: dict[str, Any]) -> None:
    with _OUTPUT_LOCK:
        _OUTPUT.write(json.dumps(message) + "\n")
        _OUTPUT.flush()


class Receiver:
    def __init__(self, address: str, audio: bool) -> None:
        self.address = address
        self.audio = audio
        self.pipeline = Gst.Pipeline.new("receiver")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipeline.add(self.webrtc)
        self.stats: dict[str, Any] = {
            "frames": 0,
            "width": 0,
            "height": 0,
            "first_at": None,
            "last_at": None,
            "problems": [],
            "rtp_packets": 0,
            "audio_frames": 0,
        }
        self.candidates: list[tuple[int, str]] = []
        self._promises: list[Gst.Promise] = []  # replies stay referenced while their SDP is in use
        self._offer: Any = None
        self._reply: Any = None
        self._answer: Any = None
        self.webrtc.connect("on-ice-candidate", self._on_candidate)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("pad-added", self._on_pad)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message)

    def start(self) -> None:
        caps = Gst.Caps.from_string(VIDEO_CAPS)
        transceiver = self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, caps)
        transceiver.set_property("do-nack", True)
        if self.audio:
            self.webrtc.emit(
                "add-transceiver",
                GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                Gst.Caps.from_string(AUDIO_CAPS),
            )
        self.pipeline.set_state(Gst.State.PLAYING)
        promise = Gst.Promise.new_with_change_func(self._on_offer_created)
        self._promises.append(promise)
        self.webrtc.emit("create-offer", None, promise)

    def _on_offer_created(self, promise: Gst.Promise) -> None:
        self._reply = promise.get_reply()  # the offer lives in it
        self._offer = self._reply.get_value("offer")
        done = Gst.Promise.new()
        self._promises.append(done)
        self.webrtc.emit("set-local-description", self._offer, done)

    def _on_candidate(self, _element: Any, mline: int, candidate: str) -> None:
        if " UDP " in candidate and f" {self.address} " in candidate:
            self.candidates.append((mline, candidate))

    def _on_gathering(self, *_args: Any) -> None:
        state = self.webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(self._send_offer)

    def _send_offer(self) -> bool:
        sdp = self._offer.sdp.as_text()
        lines = sdp.replace("\r\n", "\n").rstrip("\n").split("\n")
        out: list[str] = []
        mline = -1
        for line in lines:
            if line.startswith("m="):
                mline += 1
            out.append(line)
            if line.startswith("a=mid:"):
                out += [f"a={candidate}" for index, candidate in self.candidates if index == mline]
        _emit({"offer": "\r\n".join(out) + "\r\n"})
        return False

    def set_answer(self, sdp_text: str) -> None:
        _result, message = GstSdp.SDPMessage.new_from_text(sdp_text)
        self._answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        done = Gst.Promise.new()
        self._promises.append(done)
        self.webrtc.emit("set-remote-description", self._answer, done)
        mline = -1
        for line in sdp_text.splitlines():
            if line.startswith("m="):
                mline += 1
            elif line.startswith("a=candidate:"):
                self.webrtc.emit("add-ice-candidate", max(mline, 0), line.removeprefix("a="))

    def _on_pad(self, _element: Any, pad: Gst.Pad) -> None:
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        if pad.get_current_caps().get_structure(0).get_value("media") == "audio":
            self._add_audio(pad)
            return
        chain = Gst.parse_bin_from_description(
            "rtph265depay name=depay ! h265parse ! avdec_h265 name=decoder ! videoconvert ! "
            "fakesink name=sink signal-handoffs=true sync=false",
            True,
        )
        self.pipeline.add(chain)
        chain.sync_state_with_parent()
        pad.link(chain.get_static_pad("sink"))
        pad.add_probe(Gst.PadProbeType.BUFFER, self._count_rtp)
        chain.get_by_name("sink").connect("handoff", self._on_frame)

    def _add_audio(self, pad: Gst.Pad) -> None:
        chain = Gst.parse_bin_from_description(
            "rtpopusdepay ! opusdec ! fakesink name=sink signal-handoffs=true sync=false", True
        )
        self.pipeline.add(chain)
        chain.sync_state_with_parent()
        pad.link(chain.get_static_pad("sink"))
        chain.get_by_name("sink").connect("handoff", self._on_audio)

    def _on_audio(self, *_args: Any) -> None:
        self.stats["audio_frames"] += 1

    def _count_rtp(self, _pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        self.stats["rtp_packets"] += 1
        return Gst.PadProbeReturn.OK

    def _on_frame(self, _sink: Any, _buffer: Gst.Buffer, pad: Gst.Pad) -> None:
        now = time.monotonic()
        stats = self.stats
        stats["frames"] += 1
        stats["first_at"] = stats["first_at"] or now
        stats["last_at"] = now
        structure = pad.get_current_caps().get_structure(0)
        stats["width"] = structure.get_value("width")
        stats["height"] = structure.get_value("height")
        _emit({"stats": stats})

    def _on_message(self, _bus: Gst.Bus, message: Gst.Message) -> None:
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            self.stats["problems"].append(f"error from {message.src.get_name()}: {error.message} {debug}")
        elif message.type == Gst.MessageType.WARNING:
            warning, debug = message.parse_warning()
            self.stats["problems"].append(f"warning from {message.src.get_name()}: {warning.message} {debug}")

    def stop(self) -> None:
        self.pipeline.set_state(Gst.State.NULL)


def _once(action: Callable[[], None]) -> Callable[[], bool]:
    """`action` as a GLib idle callback that runs once."""

    def run() -> bool:
        action()
        return False

    return run


def _read_commands(receiver: Receiver, loop: GLib.MainLoop) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        if "answer" in command:
            GLib.idle_add(_once(functools.partial(receiver.set_answer, command["answer"])))
        elif "stats" in command:
            GLib.idle_add(_once(lambda: _emit({"stats": receiver.stats})))
        elif "stop" in command:
            break
    GLib.idle_add(loop.quit)


def main() -> None:
    Gst.init(None)
    receiver = Receiver(sys.argv[1], audio="audio" in sys.argv[2:])
    loop = GLib.MainLoop()
    threading.Thread(target=_read_commands, args=(receiver, loop), daemon=True).start()
    receiver.start()
    loop.run()
    receiver.stop()


if __name__ == "__main__":
    main()
