"""Snapshots from the stream: the latest keyframe, decoded on demand and encoded as a JPEG.

Takes in: every keyframe the worker sees (codec, extradata, packet). Hands on: JPEG bytes, turned by the camera's
orientation, to `Stream.async_get_image`.
"""
