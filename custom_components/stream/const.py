"""Constants of the stream integration: the built-in's public names and values, plus our own defaults."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "stream"

ATTR_ENDPOINTS: Final = "endpoints"
ATTR_SETTINGS: Final = "settings"
ATTR_STREAMS: Final = "streams"

HLS_PROVIDER: Final = "hls"
RECORDER_PROVIDER: Final = "recorder"
WEBRTC_PROVIDER: Final = "webrtc"  # holds the stream while live (WebRTC) viewers watch
DATA_WEBRTC: Final = "webrtc_provider"  # hass.data[DOMAIN]: the WebRTC provider, when WebRTC is on
SIGNAL_LIVE_SOURCE: Final = "stream_live_source"  # dispatcher: (Stream, SourceInfo) when a stream's codecs are known
OUTPUT_FORMATS: Final = [HLS_PROVIDER]
FORMAT_CONTENT_TYPE: Final = {HLS_PROVIDER: "application/vnd.apple.mpegurl"}

SEGMENT_CONTAINER_FORMAT: Final = "mp4"
RECORDER_CONTAINER_FORMAT: Final = "mp4"
AUDIO_CODECS: Final = {"aac", "mp3"}

OUTPUT_STARTUP_TIMEOUT: Final = 60  # seconds an output may wait for its first request
OUTPUT_IDLE_TIMEOUT: Final = 30  # seconds without segment/part requests before an output stops

NUM_PLAYLIST_SEGMENTS: Final = 3  # complete segments listed in a media playlist
MAX_SEGMENTS: Final = 5  # segments held in memory per stream (bounds memory)

TARGET_SEGMENT_DURATION_NON_LL_HLS: Final = 2.0
SEGMENT_DURATION_ADJUSTER: Final = 0.1
EXT_X_START_NON_LL_HLS: Final = 1.5
EXT_X_START_LL_HLS: Final = 2

PACKETS_TO_WAIT_FOR_AUDIO: Final = 20
MAX_TIMESTAMP_GAP: Final = 30  # seconds; a larger jump is a discontinuity
MAX_MISSING_DTS: Final = 6

SOURCE_TIMEOUT: Final = 30  # seconds to open a source
STREAM_RESTART_INCREMENT: Final = 10
STREAM_RESTART_RESET_TIME: Final = 300

CONF_LL_HLS: Final = "ll_hls"
CONF_PART_DURATION: Final = "part_duration"
CONF_SEGMENT_DURATION: Final = "segment_duration"
CONF_WEBRTC: Final = "webrtc"  # our own: offer WebRTC (aiortc) for stream cameras
CONF_WEBRTC_MAX_SESSIONS: Final = "webrtc_max_sessions"  # our own: concurrent WebRTC sessions per camera
CONF_WEBRTC_H265: Final = "webrtc_h265"  # our own: offer WebRTC for H.265 cameras too (ARCHITECTURE.md)

ATTR_PREFER_TCP: Final = "prefer_tcp"
CONF_RTSP_TRANSPORT: Final = "rtsp_transport"
# The first transport is the UI default.
RTSP_TRANSPORTS: Final = {
    "tcp": "TCP",
    "udp": "UDP",
    "udp_multicast": "UDP Multicast",
    "http": "HTTP",
}
CONF_USE_WALLCLOCK_AS_TIMESTAMPS: Final = "use_wallclock_as_timestamps"
CONF_EXTRA_PART_WAIT_TIME: Final = "extra_part_wait_time"
CONF_VERIFY_SSL: Final = "verify_ssl"

# Our defaults and bounds (the ranges are the built-in's; the part default is ours, chosen by measurement).
DEFAULT_LL_HLS: Final = True
DEFAULT_SEGMENT_DURATION: Final = 6.0
# A third of a second, rounded up so that ten frames at 30 fps (eight at 25) fill a part exactly.
DEFAULT_PART_DURATION: Final = 0.34
MIN_PART_DURATION: Final = 0.2
MAX_PART_DURATION: Final = 1.5
MIN_SEGMENT_DURATION: Final = 2.0
MAX_SEGMENT_DURATION: Final = 10.0
DEFAULT_WEBRTC: Final = True
DEFAULT_WEBRTC_MAX_SESSIONS: Final = 10
DEFAULT_WEBRTC_H265: Final = False
MAX_WEBRTC_MAX_SESSIONS: Final = 100

# Worker restart back-off (source/backoff.py explains the schedule): 0.5 s after a run that delivered media, then
# attempts 1 s apart for the first minute of an outage, then 10 s apart (at most 6 a minute for a dead camera).
RETRY_FIRST_DELAY: Final = 0.5
RETRY_FAST_SPACING: Final = 1.0
RETRY_FAST_PERIOD: Final = 60.0
RETRY_SLOW_SPACING: Final = 10.0
