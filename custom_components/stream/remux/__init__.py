"""The remux stage: cut packets into fragmented MP4 (moof + mdat parts, segments on keyframes), never decoding.

Takes in: packets from the source stage, with their decode/presentation times in the track's timescale.
Hands on: `media.Part`s with their `SegmentHeader` (the init segment) into a stream's `media.MediaBuffer`, the model
that the HLS and recorder outputs read. `fmp4/` writes and reads the boxes, `segmenter` decides where parts and
segments end, `fragments` reads finished parts back (for recordings).
"""
