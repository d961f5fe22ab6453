"""A guard against decompression bombs in uploaded PDFs: inflate their Flate streams as they stream by, count only.

Nothing is kept: each stream is inflated in bounded steps and its output thrown away; an upload is refused when its
compressed content would expand beyond what a document of evidence plausibly holds.
"""
from __future__ import annotations

import re
import zlib

from common.problems import Unprocessable

STREAM_START = re.compile(rb"stream\r?\n")
STEP = 1024 * 1024
MIN_SUSPICIOUS = 64 * 1024 * 1024  # below this, any expansion is harmless
MAX_RATIO = 100  # inflated bytes per byte received beyond that


class PdfInflationGuard:
    """Feed it the upload's chunks in order; it raises when the PDF inflates like a bomb."""

    def __init__(self) -> None:
        self.received = 0
        self.inflated = 0
        self._inflater = None
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        data = self._tail + chunk
        self._tail = b""
        while data:
            if self._inflater is None:
                match = STREAM_START.search(data)
                if match is None:
                    self._tail = data[-8:]  # a marker may straddle two chunks
                    return
                data = data[match.end():]
                self._inflater = zlib.decompressobj()
            data = self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        """Inflate what belongs to the current stream; the bytes after its end, for the next search."""
        try:
            while data:
                out = self._inflater.decompress(data, STEP)
                self.inflated += len(out)
                self._check()
                data = self._inflater.unconsumed_tail
                if self._inflater.eof:
                    rest = self._inflater.unused_data
                    self._inflater = None
                    return rest
                if not out and not data:
                    break
        except zlib.error:
            self._inflater = None  # not Flate data (an image, plain text): nothing to count
        return b""

    def _check(self) -> None:
        if self.inflated > MIN_SUSPICIOUS and self.inflated > MAX_RATIO * self.received:
            raise Unprocessable(f"The PDF's compressed content expands more than {MAX_RATIO} times "
                                f"({self.inflated} bytes from {self.received}): refused as a decompression bomb.",
                                errors=[{"field": "body", "message": "decompression bomb", "code": "pdf_bomb"}])
