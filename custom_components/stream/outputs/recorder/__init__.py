"""`camera.record`: a stream's buffered and upcoming parts written to an MP4 file.

Takes in: parts from the stream's `MediaBuffer`, from up to `lookback` seconds back. Hands on: an MP4 file on disk
(`file.RecordingFile` turns fMP4 fragments into a plain MP4 as they come).
"""
