"""Progress lines on stderr while the exporter works (stdout stays free for the bundle path)."""
import sys
import time


def human_bytes(n):
    """``1536`` -> ``1.5 KiB``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


class Progress:
    """Writes ``[  12.3s] stage: message`` lines; ``quiet`` silences everything but warnings."""

    def __init__(self, stream=None, quiet=False):
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.t0 = time.monotonic()
        self.current = None

    def _line(self, text):
        print(f"[{time.monotonic() - self.t0:7.1f}s] {text}", file=self.stream, flush=True)

    def stage(self, name, detail=""):
        """Starts a stage (``dit``, ``vae-decoder`` ...)."""
        self.current = name
        if not self.quiet:
            self._line(f"{name}: {detail}" if detail else f"{name}")

    def info(self, message):
        if not self.quiet:
            self._line(f"{self.current}: {message}" if self.current else message)

    def tensors(self, done, total, nbytes=None):
        """Tensor-count progress (e.g. weights loaded, initializers written)."""
        if not self.quiet:
            extra = f", {human_bytes(nbytes)}" if nbytes is not None else ""
            self.info(f"{done}/{total} tensors{extra}")

    def file(self, path, nbytes):
        if not self.quiet:
            self.info(f"wrote {path} ({human_bytes(nbytes)})")

    def warn(self, message):
        self._line(f"warning: {message}")


NULL = Progress(quiet=True)
