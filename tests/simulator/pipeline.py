"""The gst-launch description of one mount's media: appsrc test pattern → encoder → payloader (+ live test audio)."""

from __future__ import annotations

from dataclasses import dataclass

from .spec import AudioCodec, CameraSpec

VIDEO_SOURCE_NAME = "video_source"
AUDIO_SOURCE_NAME = "audio_source"  # the sync marker's audio, pushed by the feeder
VIDEO_PAYLOAD_TYPE = 96
AUDIO_PAYLOAD_TYPE = 97
# Preferred first; whichever the GStreamer install has is used.
AAC_ENCODERS = ("avenc_aac", "voaacenc")


# x264 writes the lowest profile its coding tools need, and ultrafast turns the Main/High ones off: switch them back on.
_H264_PROFILE_TOOLS = {"constrained-baseline": "cabac=false", "main": "cabac=true", "high": "cabac=true dct8x8=true"}


@dataclass(frozen=True)
class _AudioChain:
    rate: int
    encoder: str
    payloader: str
    payload_type: int


def _audio_chain(codec: AudioCodec, aac_encoder: str) -> _AudioChain:
    match codec:
        case "aac":
            return _AudioChain(48000, aac_encoder, "rtpmp4gpay", AUDIO_PAYLOAD_TYPE)
        case "opus":
            return _AudioChain(48000, "opusenc", "rtpopuspay", AUDIO_PAYLOAD_TYPE)
        case "pcmu":
            return _AudioChain(8000, "mulawenc", "rtppcmupay", 0)  # static payload types of RFC 3551
        case "pcma":
            return _AudioChain(8000, "alawenc", "rtppcmapay", 8)


def audio_rate(codec: AudioCodec) -> int:
    """The sample rate a mount with this audio codec streams."""
    return _audio_chain(codec, AAC_ENCODERS[0]).rate


def encoder_delay(codec: AudioCodec) -> int:
    """Samples the codec's encoder puts before the first input sample (AAC's priming frame) that an RTP stream cannot
    signal, so a decoder plays everything that much late; the sync marker's bursts start that much early to make up
    for it, as the decoded audio is what must be in sync."""
    return 1024 if codec == "aac" else 0


def audio_caps(rate: int) -> str:
    """Caps of the raw sync-marker audio pushed into the audio appsrc: S16 mono."""
    return f"audio/x-raw,format=S16LE,layout=interleaved,rate={rate},channels=1"


def video_caps(spec: CameraSpec) -> str:
    """Caps of the raw frames pushed into the appsrc."""
    return (
        f"video/x-raw,format=I420,width={spec.width},height={spec.height},framerate={spec.fps}/1,pixel-aspect-ratio=1/1"
    )


def _encoder(spec: CameraSpec) -> str:
    common = f"speed-preset=ultrafast key-int-max={spec.keyframe_interval_frames} bitrate={spec.bitrate}"
    if spec.video == "h265":
        if spec.bframes:
            return f'x265enc {common} tune=0 option-string="bframes={spec.bframes}:b-adapt=0"'
        return f"x265enc {common} tune=zerolatency ! video/x-h265,profile=main"
    # zerolatency forbids B-frames, so with B-frames no tune is set (and b-adapt off so every GOP has them).
    tune = f"bframes={spec.bframes} b-adapt=false" if spec.bframes else "tune=zerolatency"
    return f"x264enc {common} {tune} {_H264_PROFILE_TOOLS[spec.profile]} ! video/x-h264,profile={spec.profile}"


def launch_description(mount: str, spec: CameraSpec, *, aac_encoder: str = AAC_ENCODERS[0]) -> str:
    """The media factory's launch line for `mount`; the payloaders are pay0 (video) and pay1 (audio)."""
    payloader = "rtph265pay" if spec.video == "h265" else "rtph264pay"
    # Timestamps are set by the feeder from the pipeline clock; the appsrc keeps at most the newest frames.
    video = (
        f"appsrc name={VIDEO_SOURCE_NAME} is-live=true format=time do-timestamp=false block=false "
        f'max-buffers=2 leaky-type=downstream caps="{video_caps(spec)}" '
        f'! timeoverlay text="{mount}" valignment=bottom halignment=left shaded-background=true '
        f"! {_encoder(spec)} "
        f"! {payloader} name=pay0 pt={VIDEO_PAYLOAD_TYPE} config-interval=-1"
    )
    if spec.audio is None:
        return f"( {video} )"
    chain = _audio_chain(spec.audio, aac_encoder)
    if spec.sync:
        # Tone bursts pushed by the feeder with the frames, timestamped on the same running time.
        source = (
            f"appsrc name={AUDIO_SOURCE_NAME} is-live=true format=time do-timestamp=false block=false "
            f'caps="{audio_caps(chain.rate)}" ! audioconvert'
        )
    else:
        source = (
            f"audiotestsrc is-live=true wave=ticks volume=0.3 samplesperbuffer={chain.rate // 50} "
            f"! audioconvert ! audioresample ! audio/x-raw,rate={chain.rate},channels=1"
        )
    audio = f"{source} ! {chain.encoder} ! {chain.payloader} name=pay1 pt={chain.payload_type}"
    return f"( {video} {audio} )"
