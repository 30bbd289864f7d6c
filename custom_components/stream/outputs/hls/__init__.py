"""HLS and LL-HLS delivery: playlists rendered from the media buffer, and the aiohttp views that serve them."""

from .protocol import HlsOutput, HlsStream, OrientationSettings
from .views import async_register_hls_views

__all__ = ["HlsOutput", "HlsStream", "OrientationSettings", "async_register_hls_views"]
