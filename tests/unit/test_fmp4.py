"""The fMP4 writer against real encoders and decoders: tiny streams made by ffmpeg, demuxed by PyAV, remuxed by us,
then read back by ffprobe, PyAV and the ffmpeg decoders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from custom_components.stream.remux.fmp4 import orientation_matrix, transform_init
from custom_components.stream.remux.fmp4.boxes import children, find_child
from custom_components.stream.remux.media import Sample

from .test_fmp4_support import SIZE, Demuxed, Muxed, decode_errors, decoded_frame_counts, demux, encode, ffprobe, mux

_X264 = ("-c:v", "libx264", "-g", "5", "-threads", "1")
# Closed GOPs so a fragment starting at a keyframe decodes alone; pools=none keeps x265 off the CPU affinity API.
_X265 = ("-c:v", "libx265", "-x265-params", "keyint=5:min-keyint=5:bframes=2:open-gop=0:pools=none:log-level=error")
_HEVC_SIZE = "176x100"  # 100 is not a multiple of the 8-pixel CU: the SPS carries a conformance window


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    video: tuple[str, ...]
    audio: tuple[str, ...] | None
    profile: str  # as ffprobe names it
    audio_codec: str | None = None
    b_frames: bool = False
    drop_extradata: bool = False  # parameter sets only in band, as from many RTSP cameras
    size: str = SIZE

    @property
    def video_codec(self) -> str:
        return "hevc" if "libx265" in self.video else "h264"


CASES = [
    # MPEG-TS: Annex-B video, ADTS audio without extradata.
    Case(
        "h264-baseline-ts-aac-adts",
        "in.ts",
        (*_X264, "-profile:v", "baseline"),
        ("-c:a", "aac"),
        "Constrained Baseline",
        "aac",
    ),
    # MP4: AVCC video (avcC extradata), raw AAC with an AudioSpecificConfig.
    Case(
        "h264-main-bframes-mp4-aac",
        "in.mp4",
        (*_X264, "-profile:v", "main", "-bf", "2"),
        ("-c:a", "aac"),
        "Main",
        "aac",
        b_frames=True,
    ),
    Case(
        "h264-high-bframes-ts-mp3",
        "in.ts",
        (*_X264, "-profile:v", "high", "-bf", "3"),
        ("-c:a", "libmp3lame"),
        "High",
        "mp3",
        b_frames=True,
    ),
    Case("h264-high-mp4-mp3", "in.mp4", (*_X264, "-profile:v", "high"), ("-c:a", "libmp3lame"), "High", "mp3"),
    Case("hevc-mp4", "in.mp4", (*_X265, "-tag:v", "hvc1"), None, "Main", b_frames=True, size=_HEVC_SIZE),
    Case(
        "hevc-ts-in-band",
        "in.ts",
        _X265,
        ("-c:a", "aac"),
        "Main",
        "aac",
        b_frames=True,
        drop_extradata=True,
        size=_HEVC_SIZE,
    ),
]


@dataclass
class Encoded:
    case: Case
    source: Demuxed
    directory: Path


@pytest.fixture(scope="module", params=CASES, ids=[case.name for case in CASES])
def encoded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    case: Case = request.param
    directory = tmp_path_factory.mktemp(case.name)
    path = encode(
        directory / case.filename, list(case.video), None if case.audio is None else list(case.audio), size=case.size
    )
    return Encoded(case, demux(path), directory)


def _write(path: Path, *parts: bytes) -> Path:
    path.write_bytes(b"".join(parts))
    return path


def _timestamps(packets: list[dict[str, object]], index: int) -> list[tuple[object, object]]:
    return [(p["dts"], p["pts"]) for p in packets if p["stream_index"] == index]


def _expected(samples: list[Sample]) -> list[tuple[object, object]]:
    return [(s.dts, s.pts) for s in samples]


def test_remux_plays_like_the_source(encoded: Encoded) -> None:
    case = encoded.case
    muxed = mux(encoded.source, drop_extradata=case.drop_extradata)
    assert len(muxed.fragments) == 5  # 15 frames cut every 3: most fragments start mid-GOP
    if case.b_frames:
        assert any(s.pts != s.dts for s in muxed.video), "the encoder made no B-frames: the case tests nothing"
    out = _write(encoded.directory / "out.mp4", muxed.init, *muxed.fragments)

    probe = ffprobe(out, "-show_streams", "-show_packets")
    video_stream = probe["streams"][0]
    width, height = (int(n) for n in case.size.split("x"))
    assert (video_stream["codec_name"], video_stream["profile"]) == (case.video_codec, case.profile)
    assert (video_stream["width"], video_stream["height"]) == (width, height)
    assert video_stream["time_base"] == f"1/{encoded.source.video.timescale}"
    # Every frame with the same decode and presentation time: durations and composition offsets are right.
    assert _timestamps(probe["packets"], 0) == _expected(muxed.video)
    keyframes = [p["flags"].startswith("K") for p in probe["packets"] if p["stream_index"] == 0]
    assert keyframes == [s.keyframe for s in muxed.video]
    if case.audio_codec is None:
        assert len(probe["streams"]) == 1
    else:
        audio_stream = probe["streams"][1]
        assert audio_stream["codec_name"] == case.audio_codec
        assert (int(audio_stream["sample_rate"]), audio_stream["channels"]) == (48000, 2)
        assert _timestamps(probe["packets"], 1) == _expected(muxed.audio)

    assert decode_errors(out) == ""
    assert decoded_frame_counts(out) == (len(muxed.video), len(muxed.audio))


def _check_alone(muxed: Muxed, directory: Path, decode: bool) -> None:
    for number, (fragment, group) in enumerate(zip(muxed.fragments, muxed.video_groups, strict=True)):
        out = _write(directory / f"alone-{number}.mp4", muxed.init, fragment)
        with av.open(str(out)) as container:
            dts = [p.dts for p in container.demux(video=0) if p.size]
        assert dts == [s.dts for s in group]
        if decode:
            assert decode_errors(out) == "", f"fragment {number}"
            assert decoded_frame_counts(out)[0] == len(group)


def test_each_fragment_is_complete_on_its_own(encoded: Encoded) -> None:
    case = encoded.case
    # Cut at keyframes, as the segmenter's first part of each segment: each part then decodes after the init alone.
    by_gop = mux(encoded.source, cut="keyframe", drop_extradata=case.drop_extradata)
    assert len(by_gop.fragments) >= 3
    _check_alone(by_gop, encoded.directory, decode=True)
    # Mid-GOP parts still parse alone with the right samples and timestamps.
    _check_alone(mux(encoded.source, drop_extradata=case.drop_extradata), encoded.directory, decode=False)


def test_codec_strings_agree_with_ffprobe(encoded: Encoded) -> None:
    case = encoded.case
    muxed = mux(encoded.source, drop_extradata=case.drop_extradata)
    stream = ffprobe(_write(encoded.directory / "codecs.mp4", muxed.init, muxed.fragments[0]), "-show_streams")
    video = stream["streams"][0]
    codecs = muxed.writer.codecs.split(",")
    if case.video_codec == "h264":
        profile_idc = {"Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}[case.profile]
        assert codecs[0].startswith(f"avc1.{profile_idc:02x}")
        assert codecs[0].endswith(f"{video['level']:02x}")
    else:
        assert codecs[0].startswith(f"hvc1.1.6.L{video['level']}")  # Main profile, Main compatible, Main tier
    expected_audio = {None: [], "aac": ["mp4a.40.2"], "mp3": ["mp4a.40.34"]}[case.audio_codec]
    assert codecs[1:] == expected_audio


def test_codec_strings_agree_with_the_builtin(encoded: Encoded) -> None:
    """Home Assistant's built-in reads the CODECS attribute back from an init segment: it must find ours."""
    from homeassistant.components.stream.fmp4utils import get_codec_string

    muxed = mux(encoded.source, drop_extradata=encoded.case.drop_extradata)
    ours = muxed.writer.codecs.lower().split(",")
    builtin = get_codec_string(muxed.init).split(",")
    if encoded.case.video_codec == "hevc":
        assert builtin[0].lower() == ours[0]  # the built-in writes its hex digits lower case
    else:  # the built-in drops the leading zero of levels below 1.6 ("avc1.42c0a"): compare the numbers
        assert builtin[0][:9] == ours[0][:9]  # "avc1.PPCC"
        assert int(builtin[0][9:], 16) == int(ours[0][9:], 16)
    if encoded.case.audio_codec == "aac":
        assert builtin[1] == ours[1]
    elif encoded.case.audio_codec == "mp3":
        assert builtin[1] == "mp4a.6b"  # MPEG-1 audio objectTypeIndication in our esds


# -- orientation ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def h264_muxed(tmp_path_factory: pytest.TempPathFactory) -> Muxed:
    directory = tmp_path_factory.mktemp("orientation")
    return mux(demux(encode(directory / "in.ts", [*_X264], None, frames=5)))


def _display_matrix(path: Path) -> tuple[list[int], float] | None:
    side_data = ffprobe(path, "-show_streams")["streams"][0].get("side_data_list")
    if not side_data:
        return None
    (matrix,) = (d for d in side_data if d["side_data_type"] == "Display Matrix")
    values = [int(v) for line in matrix["displaymatrix"].strip().splitlines() for v in line.split(":")[1].split()]
    return values, float(matrix["rotation"])


@pytest.mark.parametrize(
    ("orientation", "rotation"),
    [(3, 180), (6, 90), (8, -90)],  # ffprobe's rotation: degrees counterclockwise
)
def test_orientation_is_the_display_rotation(
    h264_muxed: Muxed, tmp_path: Path, orientation: int, rotation: int
) -> None:
    init = h264_muxed.writer.init_segment(orientation)
    found = _display_matrix(_write(tmp_path / "rotated.mp4", init, *h264_muxed.fragments))
    assert found is not None
    assert found[1] in ((180, -180) if rotation == 180 else (rotation,))
    assert decode_errors(tmp_path / "rotated.mp4") == ""


def test_orientation_matrices_match_the_builtins_but_for_its_swapped_5_and_7(h264_muxed: Muxed, tmp_path: Path) -> None:
    from homeassistant.components.stream.core import Orientation
    from homeassistant.components.stream.fmp4utils import transform_init as builtin_transform_init

    writer = h264_muxed.writer
    unrotated = writer.init_segment()
    assert _display_matrix(_write(tmp_path / "plain.mp4", unrotated, h264_muxed.fragments[0])) is None
    # The built-in's 5 and 7 are swapped (tests/test_hlsjs_e2e.py shows Chromium turning them against the snapshots).
    builtin_equivalent = {5: 7, 7: 5}
    for orientation in range(2, 9):
        init = writer.init_segment(orientation)
        builtin = Orientation(builtin_equivalent.get(orientation, orientation))
        assert init == builtin_transform_init(unrotated, builtin)
        assert init == transform_init(unrotated, orientation)
        assert transform_init(init, 1) == unrotated  # round trip
        found = _display_matrix(_write(tmp_path / f"o{orientation}.mp4", init, h264_muxed.fragments[0]))
        assert found is not None
        assert found[0][8] == 1 << 30
        assert found[0][2] == found[0][5] == 0
    assert writer.init_segment(6) is writer.init_segment(6)  # cached


def _track_matrices(init: bytes) -> list[bytes]:
    moov = find_child(init, None, b"moov")
    traks = [(start, end) for kind, start, end in children(init, moov or (0, 0)) if kind == b"trak"]
    tkhds = [find_child(init, trak, b"tkhd") for trak in traks]
    return [init[tkhd[1] - 44 : tkhd[1] - 8] for tkhd in tkhds if tkhd]


def test_transform_init_leaves_audio_tracks_alone(tmp_path: Path) -> None:
    source = demux(encode(tmp_path / "in.ts", [*_X264], ["-c:a", "aac"], frames=5))
    muxed = mux(source)
    rotated = transform_init(muxed.init, 6)
    assert rotated == muxed.writer.init_segment(6)
    assert _track_matrices(rotated) == [orientation_matrix(6), orientation_matrix(1)]
    assert _track_matrices(muxed.init) == [orientation_matrix(1)] * 2
    with pytest.raises(ValueError, match="1-8"):
        transform_init(muxed.init, 9)
