"""The outputs: what viewers, the recorder and snapshots take from a stream.

Take in: the `remux.media` model (HLS, recorder), demuxed frames through the live feed (WebRTC), keyframes
(snapshots). Hand on: HTTP responses, MP4 files, JPEG images, RTP. Outputs depend on the source and remux stages;
those never import an output.
"""
