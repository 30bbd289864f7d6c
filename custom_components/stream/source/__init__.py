"""The source stage: open a camera with PyAV, demux it, repair its timestamps, retry it with back-off.

Takes in: a source URL and the options of the stream (`options`).
Hands on: every packet, with a validated decode time, to the remux stage (`remux.segmenter`) and to the live sink
(WebRTC viewers), every keyframe to snapshots, measured rates to diagnostics (`rates`), and what the source carries
(`description.SourceInfo`) to decisions that cannot wait for a stream to run (`codec_memory`).
Imports nothing from `outputs`: the consumers it feeds are handed to it as callables and protocols.
"""
