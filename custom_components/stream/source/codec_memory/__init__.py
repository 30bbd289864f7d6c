"""What each camera source carries, known before anyone opens it: remembered across restarts, learned in the
background for sources never seen.

Takes in: the codecs a worker run reports (the live feed's `SourceInfo`) and short probes of unknown sources.
Hands on: a `SourceInfo` per source for decisions that cannot wait for a stream to start (whether to offer WebRTC,
how to answer an offer at once), and a call to its listeners when what is known about a source changes.
"""

from .learner import CodecLearner
from .store import CodecMemory

__all__ = ["CodecLearner", "CodecMemory"]
