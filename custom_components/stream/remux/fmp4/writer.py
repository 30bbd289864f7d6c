"""The fragmented-MP4 muxer the worker drives: one init segment per orientation, one moof+mdat per part."""

from __future__ import annotations

from collections.abc import Buffer, Sequence

from ..media import Sample, SampleData
from .aac import strip_adts
from .moof import build_fragment
from .moov import build_init_segment
from .nal import (
    LONG_START_CODE,
    annexb_to_length_prefixed,
    is_annexb,
    join_length_prefixed,
    length_prefix_in_place,
    split_length_prefixed,
)
from .tracks import AudioTrack, VideoTrack, make_audio_track, make_video_track

__all__ = ["Fmp4Writer", "make_audio_track", "make_video_track"]


class Fmp4Writer:
    """Muxes one video track (id 1) and an optional audio track (id 2) into CMAF-style fragments."""

    def __init__(self, video: VideoTrack, audio: AudioTrack | None = None) -> None:
        self._video = video
        self._audio = audio
        self._inits: dict[int, bytes] = {}
        self._codecs = ",".join(track.codec_string for track in (video, audio) if track is not None)
        self._strip_adts = audio is not None and audio.codec == "aac"  # looked up per audio packet

    @property
    def video(self) -> VideoTrack:
        return self._video

    @property
    def audio(self) -> AudioTrack | None:
        return self._audio

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    @property
    def codecs(self) -> str:
        """The CODECS attribute for the master playlist, e.g. "avc1.640028,mp4a.40.2"."""
        return self._codecs

    def init_segment(self, orientation: int = 1) -> bytes:
        """ftyp + moov, with the video tkhd matrix for the EXIF `orientation` (1-8)."""
        init = self._inits.get(orientation)
        if init is None:
            init = self._inits[orientation] = build_init_segment(self._video, self._audio, orientation)
        return init

    def fragment(self, sequence_number: int, video: Sequence[Sample], audio: Sequence[Sample] = ()) -> bytes:
        """One moof + mdat: a complete part that plays after the init segment. Sample data must come from
        `video_sample_data` / `audio_sample_data`; timestamps are in each track's timescale and not negative."""
        if audio and self._audio is None:
            raise ValueError("Audio samples given to a writer without an audio track")
        return build_fragment(sequence_number, video, audio)

    def video_sample_data(self, packet_data: Buffer) -> SampleData:
        """A demuxed video packet (bytes, or the PyAV packet itself) as 4-byte length-prefixed NAL units."""
        # The packet's one copy; the common Annex-B access unit (4-byte start codes) is rewritten in it in place.
        data = bytearray(packet_data)
        annexb = data.startswith(LONG_START_CODE)
        if annexb and length_prefix_in_place(data):
            return data
        length_size = self._video.packet_nal_length_size
        if length_size == 4 and not annexb:
            return data  # already AVCC/HVCC: untouched
        raw = packet_data if isinstance(packet_data, bytes) else bytes(packet_data)
        if length_size == 0:
            # Streams without avcC/hvcC extradata (TS, RTSP) deliver start codes; anything else is taken as AVCC.
            return annexb_to_length_prefixed(raw) if is_annexb(raw) else raw
        if raw.startswith(LONG_START_CODE):
            # A 4-byte length of 1 would be a NAL unit without payload, so this is Annex-B despite the extradata.
            return annexb_to_length_prefixed(raw)
        return join_length_prefixed(split_length_prefixed(raw, length_size))

    def audio_sample_data(self, packet_data: bytes) -> bytes:
        """A demuxed audio packet as a raw frame (the ADTS header removed when there is one)."""
        return strip_adts(packet_data) if self._strip_adts else packet_data
